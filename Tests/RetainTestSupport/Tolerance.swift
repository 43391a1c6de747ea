import Foundation

/// Relative-or-absolute closeness: |a - b| <= max(abs, rel * max(|a|, |b|)).
/// Every floating-point expectation in the tests goes through this with its tolerance
/// stated at the call site; no test compares doubles with `==`.
public func isClose(_ a: Double, _ b: Double, rel: Double = 1e-12, abs: Double = 1e-12) -> Bool {
    if a == b { return true }  // also covers equal infinities
    guard a.isFinite, b.isFinite else { return false }
    return Swift.abs(a - b) <= Swift.max(abs, rel * Swift.max(Swift.abs(a), Swift.abs(b)))
}

/// Element-wise `isClose` for equal-length arrays.
public func allClose(_ a: [Double], _ b: [Double], rel: Double = 1e-12, abs: Double = 1e-12) -> Bool {
    a.count == b.count && zip(a, b).allSatisfy { isClose($0, $1, rel: rel, abs: abs) }
}
