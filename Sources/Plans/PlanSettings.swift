import RetainIO
import Segmentation

/// Settings of the plans (pipeline file, `[plan]`).
public struct PlanSettings: Sendable, Equatable {
    /// The share of each group's customers held out of its retention action (the control
    /// arm). 0 keeps no control, so no effect can be measured.
    public var controlShare: Double = 0.10
    /// false: a customer keeps their arm from plan to plan (the draw's key is `key` alone);
    /// true: each plan draws afresh (the key includes the plan's as-of date).
    public var reshuffle = false
    /// How many plans the archive keeps (the newest by as-of date).
    public var keep = 24
    /// The draw's key: change it to start a new series of arms.
    public var key = "retain"
    /// How often a plan enters the archive: nil, every run's plan; a period, only the first
    /// plan of each calendar period (a programme acts on one plan a month, while cron runs
    /// nightly: with a plan a night, `keep` would drop each before its horizon passed).
    public var every: HistoryPeriod? = nil

    public init() {}
}

/// Which arm of its group a customer is in.
public enum Arm: String, Sendable, CaseIterable, Codable {
    /// Gets the group's retention action.
    case target
    /// Held out: no action, the baseline the action is judged against.
    case control
}

/// The draw of arms: a keyed hash of the customer id, so that the same customer gets the
/// same arm in every run of a plan (and, without `reshuffle`, in every later plan), whatever
/// group it is in and whoever else is scored.
///
/// u = (XXH64(id's UTF-8 bytes, seed = XXH64(drawKey's UTF-8 bytes)) >> 11) / 2^53, a
/// uniform number in [0, 1); the customer is `control` when u < controlShare. Any tool with
/// XXH64 draws the same arms from `drawKey` (recorded in each plan's plan.json).
public struct ArmDraw: Sendable, Equatable {
    public let controlShare: Double
    public let drawKey: String
    private let seed: UInt64

    /// With `reshuffle`, the key takes the plan's date: the as-of, or with `every` the first
    /// day of its period, so that every run of a period (nightly runs between monthly
    /// plans) draws the arms of the period's archived plan.
    public init(settings: PlanSettings, asOf: Int32) {
        let day = settings.every.map { RetentionHistory.periodStart($0, of: asOf) } ?? asOf
        self.init(controlShare: settings.controlShare, drawKey: settings.reshuffle ? "\(settings.key)@\(CivilDate.iso(day))" : settings.key)
    }

    public init(controlShare: Double, drawKey: String) {
        self.controlShare = controlShare
        self.drawKey = drawKey
        seed = XXH64.hash(drawKey)
    }

    /// The uniform number u of the id whose UTF-8 bytes are `id`.
    public func uniform(_ id: UnsafeRawBufferPointer) -> Double {
        Double(XXH64.hash(id, seed: seed) >> 11) * 0x1p-53
    }

    public func arm(_ id: UnsafeRawBufferPointer) -> Arm { uniform(id) < controlShare ? .control : .target }

    public func arm(_ id: String) -> Arm {
        var id = id
        return id.withUTF8 { arm(UnsafeRawBufferPointer($0)) }
    }
}
