import RetainIO

/// The dates of a run's three snapshots (docs/DOMAIN.md), made once by the features stage
/// from the data's span, and carried as this value to the later stages, `model.json` and
/// `run.json`. Days are day numbers (`CivilDate`).
public struct SnapshotDates: Sendable, Equatable {
    /// The snapshots, in the order the features stage takes them.
    public enum Snapshot: String, CaseIterable, Sendable {
        /// As of E - H, labelled by (E - H, E]: the model that scores is fitted on it.
        case training
        /// As of E - 2H, labelled by (E - 2H, E - H]: the out-of-time model's.
        case validation
        /// As of E or `--as-of`: the customers scored.
        case scoring
    }

    public let dataStart: Int32
    public let dataEnd: Int32
    public let training: Int32
    public let validation: Int32
    public let scoring: Int32

    /// For data spanning [`dataStart`, `dataEnd`] and horizon H, with E = the earlier of
    /// `asOf` and `dataEnd`: training as of E - H, validation as of E - 2H, scoring as of
    /// `asOf` or `dataEnd`. A run as of a past date learns only from what was known then
    /// (labels up to E), so a backfilled plan is the plan that date would have had, and
    /// its evaluation is not flattered by the future it is judged on.
    public init(dataStart: Int32, dataEnd: Int32, horizonDays h: Int32, asOf: Int32?) {
        self.dataStart = dataStart
        self.dataEnd = dataEnd
        let known = min(asOf ?? dataEnd, dataEnd)
        training = known - h
        validation = known - 2 * h
        scoring = asOf ?? dataEnd
    }

    /// The as-of date of `snapshot`.
    public subscript(_ snapshot: Snapshot) -> Int32 {
        switch snapshot {
        case .training: return training
        case .validation: return validation
        case .scoring: return scoring
        }
    }

    /// The dates as the features stage's record in `run.json` keeps them (YYYY-MM-DD).
    public var recorded: [String: String] {
        ["data_start": CivilDate.iso(dataStart), "data_end": CivilDate.iso(dataEnd),
         "training_as_of": CivilDate.iso(training), "validation_as_of": CivilDate.iso(validation),
         "scoring_as_of": CivilDate.iso(scoring)]
    }

    /// Read back from the features stage's record; nil when any date is missing or is not
    /// a date (a record from before the stage ran, or edited by hand).
    public init?(recorded r: [String: String]) {
        func day(_ key: String) -> Int32? { r[key].flatMap(CivilDate.parseISO) }
        guard let start = day("data_start"), let end = day("data_end"), let training = day("training_as_of"),
              let validation = day("validation_as_of"), let scoring = day("scoring_as_of") else { return nil }
        dataStart = start; dataEnd = end
        self.training = training; self.validation = validation; self.scoring = scoring
    }
}
