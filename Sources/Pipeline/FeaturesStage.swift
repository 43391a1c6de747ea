import Features
import Foundation
import Ledger
import Lifetime
import RetainIO
import SparkEngine

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
    /// The snapshots reuse each other's memory (`RunSpeedUps.reuseFreedMemory`).
    var reuseFreedMemory = true

    static let trainingFile = SnapshotDates.Snapshot.training.file
    static let validationFile = SnapshotDates.Snapshot.validation.file
    static let scoringFile = SnapshotDates.Snapshot.scoring.file
    static let summaryFile = SnapshotDates.Snapshot.summaryFile
    static let bgnbdFile = BGNBDFile.fileName

    /// Where the snapshots come from: the ledger's sums, or Spark's results (`engine`).
    /// `take` gives a snapshot, its customer-base summary and the ids its customer numbers
    /// index.
    struct Source {
        var start: Int32
        var end: Int32
        var present: [Feature]
        var missing: [Feature]
        var take: (SnapshotDates.Snapshot, SnapshotDates) throws -> (Snapshot, CustomerBase, [String])
    }

    /// The engine that read the rows (the record of the ingest stage that made them).
    var engine: RunManifest.EngineRecord? = nil

    func run() throws -> RunManifest.StageRecord {
        let clock = StageClock()
        let steps = StepTimer(.features, reporter: reporter)
        let s = spec.features
        let source = try engine?.kind == "spark" ? sparkSource() : ledgerSource(steps: steps)
        let start = source.start, end = source.end
        let dates = SnapshotDates(dataStart: start, dataEnd: end, horizonDays: s.horizonDays, asOf: asOf)
        guard dates.validation > start else {
            throw PipelineError.invalidOption("\(spec.file): features.horizon_days: the data spans \(end - start + 1) days (\(CivilDate.iso(start)) to \(CivilDate.iso(end))); "
                + "a horizon of \(s.horizonDays) days needs more than \(2 * s.horizonDays): shorten it")
        }
        if let a = asOf, a > end {
            reporter.warning("features: --as-of \(CivilDate.iso(a)) is after the data's last day \(CivilDate.iso(end)): "
                + "customers look inactive for want of data, not for want of purchases")
        }
        let (present, missing) = (source.present, source.missing)
        if !missing.isEmpty {
            reporter.info("features: left out \(missing.map(\.rawValue).joined(separator: ", ")) (the log has no "
                + "\(Set(missing.map(\.needs.label)).sorted().joined(separator: ", ")) column)")
        }
        // The three snapshots have columns of about one size: the second and third reuse
        // the first's memory instead of faulting in fresh pages (see ProcessMemory).
        if reuseFreedMemory { ProcessMemory.keepFreedMemory() }
        let btyd = BTYDColumns(stage: self, horizonDays: s.horizonDays)
        // One snapshot in memory at a time: taken, amended, written, dropped; in
        // `SnapshotDates.Snapshot` order (the BG/NBD fits start from the previous one's).
        var written: [SnapshotDates.Snapshot: SnapshotWriter.Written] = [:]
        for named in SnapshotDates.Snapshot.allCases {
            var (snap, base, ids) = try source.take(named, dates)
            try btyd.add(named, &snap, base: base, customerIDs: ids)
            try AtomicFile.write(try folder.stagedPath(named.file)) { out in try SnapshotWriter.write(snap, customerIDs: ids, to: out) }
            written[named] = SnapshotWriter.Written(customers: snap.customers.count, churned: snap.churned?.reduce(0) { $0 + Int($1) } ?? 0)
            steps.done(named.file)
        }
        try btyd.writeFits(dates: dates)
        let none = SnapshotWriter.Written(customers: 0, churned: 0)
        let counts = (training: written[.training] ?? none, validation: written[.validation] ?? none, scoring: written[.scoring] ?? none)
        let trainN = counts.training.customers, trainChurned = counts.training.churned
        guard trainN > 0 else {
            throw PipelineError.noCustomers(detail: "nobody bought in the \(s.activeWindowDays) days before \(CivilDate.iso(dates.training)) (features.active_window_days)")
        }
        let scoringN = counts.scoring.customers
        reporter.info("features: \(MessageText.grouped(trainN)) active customers as of \(CivilDate.iso(dates.training)), "
            + "\(MessageText.grouped(trainChurned)) churned by \(CivilDate.iso(end)) (\(MessageText.percent(100 * Double(trainChurned) / Double(trainN)))); "
            + "\(MessageText.grouped(scoringN)) to score as of \(CivilDate.iso(dates.scoring))")
        var measures: [String: Double] = [:]
        for (named, outcome) in btyd.outcomes {
            guard let fit = outcome.fit else { continue }
            for (name, v) in zip(BGNBD.names, fit.model.parameters) { measures["btyd_\(named.rawValue)_\(name)"] = v }
            measures["btyd_\(named.rawValue)_log_likelihood"] = fit.logLikelihood
            measures["btyd_\(named.rawValue)_fit_seconds"] = outcome.fitSeconds
        }
        return clock.record(
            counts: ["training_customers": trainN, "training_churned": trainChurned,
                     "validation_customers": counts.validation.customers, "validation_churned": counts.validation.churned,
                     "scoring_customers": scoringN, "horizon_days": Int(s.horizonDays),
                     "active_window_days": Int(s.activeWindowDays), "trend_window_days": Int(s.trendWindowDays)],
            dates: dates.recorded,
            notes: ["features: " + present.map(\.rawValue).joined(separator: ", ")]
                + (missing.isEmpty ? [] : ["left out for lack of columns: " + missing.map(\.rawValue).joined(separator: ", ")])
                + btyd.outcomes.keys.sorted { $0.rawValue < $1.rawValue }.compactMap { k in btyd.outcomes[k]?.skipped.map { "\(k.file): no BG/NBD columns: \($0)" } },
            measures: measures)
    }

    /// The snapshots from the ledger: one pass of running sums as of the three dates.
    private func ledgerSource(steps: StepTimer) throws -> Source {
        let view = try folder.ledgerView(for: .features)
        steps.done("open the ledger")
        guard let end = view.lastDay, let start = view.firstDay else {
            throw PipelineError.noCustomers(detail: "the ledger holds no transaction")
        }
        let (present, missing) = Feature.available(with: view.columns)
        let settings = spec.features
        var sums: SnapshotSums? = nil
        return Source(start: start, end: end, present: present, missing: missing) { named, dates in
            if sums == nil {
                sums = try SnapshotBuilder(settings: settings).sums(view, at: dates)
                steps.done("sums as of three dates")
            }
            guard let sums else { throw PipelineError.noCustomers(detail: "the ledger holds no transaction") }
            return (sums.snapshot(named), sums.customerBase(named), view.customerIDs)
        }
    }

    /// The snapshots Spark computed in the ingest stage, for the --as-of it ran with.
    private func sparkSource() throws -> Source {
        guard let engine, let root = engine.results else {
            throw PipelineError.upstreamMissing(stage: Stage.features.rawValue, needs: "ingest", detail: "run.json names no Spark results")
        }
        let wanted = asOf.map(CivilDate.iso)
        guard engine.asOf == wanted else {
            throw PipelineError.upstreamMissing(stage: Stage.features.rawValue, needs: "ingest",
                detail: "the Spark results are as of \(engine.asOf ?? "the data's last day"), this run asks for \(wanted ?? "the data's last day") "
                    + "(with the Spark engine, ingest computes the snapshots)")
        }
        let results = SparkResults(root: root)
        guard let span = try results.span() else { throw PipelineError.noCustomers(detail: "Spark accepted no transaction") }
        let (present, missing) = Feature.available(with: LedgerFormat.Columns(roles: spec.format.columns.keys))
        let horizon = spec.features.horizonDays
        return Source(start: span.first, end: span.last, present: present, missing: missing) { named, dates in
            let a = dates[named]
            let read = try results.snapshot(named, asOf: a, labelled: a <= dates.dataEnd - horizon, features: present)
            return (read.snapshot, read.base, read.customerIDs)
        }
    }

    /// The snapshot dates the features stage recorded in `record`, for a later stage;
    /// without them that stage cannot name its snapshots, and the features stage must run.
    static func dates(in record: RunManifest.StageRecord?, for stage: Stage) throws -> SnapshotDates {
        guard let record, let dates = SnapshotDates(recorded: record.dates) else {
            throw PipelineError.upstreamMissing(stage: stage.rawValue, needs: "features",
                                                detail: "run.json has no snapshot dates from the features stage")
        }
        return dates
    }
}

/// The BG/NBD columns each snapshot gains from a fit on its own customer base
/// (`SnapshotBTYD`), the scoring date's base written as `snapshots/summary.csv`, and the
/// fits kept in `snapshots/bgnbd.json`.
private final class BTYDColumns {
    let stage: FeaturesStage
    let horizonDays: Int32
    private(set) var outcomes: [SnapshotDates.Snapshot: SnapshotBTYD.Outcome] = [:]
    /// The fit of the snapshot amended just before (in the stage's fixed order), where the
    /// next search starts: the same start, so every digit, run after run.
    private var previousFit: BGNBD? = nil

    init(stage: FeaturesStage, horizonDays: Int32) {
        self.stage = stage; self.horizonDays = horizonDays
    }

    func add(_ named: SnapshotDates.Snapshot, _ snap: inout Snapshot, base: CustomerBase, customerIDs: [String]) throws {
        let folder = stage.folder, reporter = stage.reporter
        if named == .scoring {
            let path = try folder.stagedPath(FeaturesStage.summaryFile)
            try AtomicFile.write(path) { out in try SnapshotWriter.write(base, customerIDs: customerIDs, to: out) }
        }
        let outcome = SnapshotBTYD.add(to: &snap, base: base, horizonDays: horizonDays, start: previousFit)
        outcomes[named] = outcome
        if let f = outcome.fit?.model { previousFit = f }
        for w in outcome.fit?.warnings ?? [] { reporter.warning("features: \(named.file): \(w)") }
        if let why = outcome.skipped { reporter.warning("features: \(named.file) has no BG/NBD columns: \(why); the hybrid and BG/NBD models are left out") }
    }

    func writeFits(dates: SnapshotDates) throws {
        let fits = BGNBDFile(snapshots: Dictionary(uniqueKeysWithValues: outcomes.map { named, outcome in
            (named.rawValue, BGNBDFile.Entry(asOf: CivilDate.iso(dates[named]), fit: outcome.fit, warnings: outcome.fit?.warnings ?? [], skipped: outcome.skipped))
        }))
        try AtomicFile.write(try stage.folder.stagedPath(FeaturesStage.bgnbdFile), contents: String(decoding: try fits.encoded(), as: UTF8.self) + "\n")
    }
}
