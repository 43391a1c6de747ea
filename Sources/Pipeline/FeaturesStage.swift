import Features
import Foundation
import Ledger
import RetainIO

/// The features stage: snapshots of the active customers as of three dates, from the
/// ledger. With data ending on day E and horizon H:
/// - training, as of E - H, labelled by (E - H, E]: `features.csv`;
/// - validation, as of E - 2H, labelled by (E - 2H, E - H]: the train stage fits on it and
///   judges the model on the training snapshot (the following period), out of time;
/// - scoring, as of E or `--as-of`: the customers the model will score.
struct FeaturesStage {
    let spec: PipelineSpec
    let folder: RunFolder
    let reporter: Reporter
    let asOf: Int32?

    static let trainingFile = "features.csv"
    static let validationFile = "snapshots/validation.csv"
    static let scoringFile = "snapshots/scoring.csv"

    func run() throws -> RunManifest.StageRecord {
        let clock = StageClock()
        let steps = StepTimer(.features, reporter: reporter)
        let view = try folder.ledgerView(for: .features)
        steps.done("open the ledger")
        guard let end = view.lastDay, let start = view.firstDay else {
            throw PipelineError.noCustomers(detail: "the ledger holds no transaction")
        }
        let s = spec.features
        let training = end - s.horizonDays, validation = end - 2 * s.horizonDays
        let scoring = asOf ?? end
        guard validation > start else {
            throw PipelineError.invalidOption("\(spec.file): features.horizon_days: the data spans \(end - start + 1) days (\(CivilDate.iso(start)) to \(CivilDate.iso(end))); "
                + "a horizon of \(s.horizonDays) days needs more than \(2 * s.horizonDays): shorten it")
        }
        if let a = asOf, a > end {
            reporter.warning("features: --as-of \(CivilDate.iso(a)) is after the data's last day \(CivilDate.iso(end)): "
                + "customers look inactive for want of data, not for want of purchases")
        }
        let (present, missing) = Feature.available(with: view.columns)
        if !missing.isEmpty {
            reporter.info("features: left out \(missing.map(\.rawValue).joined(separator: ", ")) (the log has no "
                + "\(Set(missing.map(\.needs.label)).sorted().joined(separator: ", ")) column)")
        }
        // One snapshot in memory at a time: taken from the sums, written, dropped.
        let sums = try SnapshotBuilder(settings: s).sums(view, asOf: [training, validation, scoring])
        steps.done("sums as of three dates")
        // The three snapshots have columns of about one size: the second and third reuse
        // the first's memory instead of faulting in fresh pages (see ProcessMemory).
        ProcessMemory.keepFreedMemory()
        var sizes: [(customers: Int, churned: Int)] = []
        for (index, file) in [Self.trainingFile, Self.validationFile, Self.scoringFile].enumerated() {
            let snap = sums.snapshot(index)
            try AtomicFile.write(try folder.stagedPath(file)) { out in
                try SnapshotWriter.write(snap, customerIDs: view.customerIDs, to: out)
            }
            sizes.append((snap.customers.count, snap.churned?.reduce(0) { $0 + Int($1) } ?? 0))
            steps.done("\(file)")
        }
        guard sizes[0].customers > 0 else {
            throw PipelineError.noCustomers(detail: "nobody bought in the \(s.activeWindowDays) days before \(CivilDate.iso(training)) (features.active_window_days)")
        }
        let trainN = sizes[0].customers, churned = sizes[0].churned
        reporter.info("features: \(MessageText.grouped(trainN)) active customers as of \(CivilDate.iso(training)), "
            + "\(MessageText.grouped(churned)) churned by \(CivilDate.iso(end)) (\(MessageText.percent(100 * Double(churned) / Double(trainN)))); "
            + "\(MessageText.grouped(sizes[2].customers)) to score as of \(CivilDate.iso(scoring))")
        return clock.record(
            counts: ["training_customers": trainN, "training_churned": churned,
                     "validation_customers": sizes[1].customers, "validation_churned": sizes[1].churned,
                     "scoring_customers": sizes[2].customers, "horizon_days": Int(s.horizonDays),
                     "active_window_days": Int(s.activeWindowDays), "trend_window_days": Int(s.trendWindowDays)],
            dates: ["data_start": CivilDate.iso(start), "data_end": CivilDate.iso(end), "training_as_of": CivilDate.iso(training),
                    "validation_as_of": CivilDate.iso(validation), "scoring_as_of": CivilDate.iso(scoring)],
            notes: ["features: " + present.map(\.rawValue).joined(separator: ", ")]
                + (missing.isEmpty ? [] : ["left out for lack of columns: " + missing.map(\.rawValue).joined(separator: ", ")]))
    }
}

extension LedgerFormat.Columns {
    /// The pipeline role name of a single optional column.
    var label: String {
        switch self {
        case .discount: return "discount"
        case .cost: return "cost"
        case .serviceCost: return "service_cost"
        case .order: return "order_id"
        case .quantity: return "quantity"
        case .channel: return "channel"
        default: return "optional"
        }
    }
}
