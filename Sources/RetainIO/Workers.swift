import CSupport
import Dispatch
import Foundation

/// How many threads the data-parallel loops of every stage use, and the loops themselves.
///
/// The count is the processors this process may run on (its affinity mask, so `taskset`
/// and container CPU sets are honoured), unless `--workers` or `RETAIN_WORKERS` sets it at
/// startup (`use`). Outputs never depend on it: a loop either writes each element once
/// (`forEachRange`, split by the count), or reduces over `chunks`, a cut that depends on the
/// data's size only, combining the partial results in chunk order.
public enum Workers {
    /// The most workers accepted: far above any machine's cores, low enough that per-worker
    /// buffers stay small.
    public static let maximum = 1024

    /// The processors this process may run on: `sched_getaffinity` on Linux, else the
    /// active processor count.
    public static func available() -> Int {
        let allowed = Int(retain_processors_allowed())
        return max(1, min(maximum, allowed > 0 ? allowed : ProcessInfo.processInfo.activeProcessorCount))
    }

    private static let lock = Mutex()
    nonisolated(unsafe) private static var chosen: Int? = nil

    /// The worker count in effect: as set by `use`, else `available()`.
    public static var count: Int {
        lock.lock(); defer { lock.unlock() }
        if let chosen { return chosen }
        let n = available()
        chosen = n
        return n
    }

    /// Sets the worker count for the rest of the process (clamped to 1...`maximum`).
    public static func use(_ n: Int) {
        lock.lock(); chosen = max(1, min(maximum, n)); lock.unlock()
    }

    /// Parses a worker count as `--workers` and `RETAIN_WORKERS` give it: a whole number
    /// from 1 to `maximum`; nil for anything else.
    public static func parse(_ text: String) -> Int? {
        guard let n = Int(text.trimmingCharacters(in: .whitespaces)), n >= 1, n <= maximum else { return nil }
        return n
    }

    /// Runs `body(task)` for every task in `0..<tasks`, at most `count` at once; a worker
    /// that finishes takes the next task (tasks need not cost the same). One task, or one
    /// worker, runs on the calling thread. Returns when every task has run.
    public static func run(_ tasks: Int, _ body: (Int) -> Void) {
        guard tasks > 0 else { return }
        let threads = min(tasks, count)
        if threads == 1 {
            for t in 0..<tasks { body(t) }
            return
        }
        let next = TaskCounter()
        withoutActuallyEscaping(body) { body in
            let shared = UnsafeSendable(body)
            DispatchQueue.concurrentPerform(iterations: threads) { _ in
                while let t = next.take(below: tasks) { shared.value(t) }
            }
        }
    }

    /// `0..<n` cut into `min(count, n / grain)` contiguous ranges (at least one), in order:
    /// for loops that write each element once, so the cut cannot change a result.
    public static func split(_ n: Int, grain: Int) -> [Range<Int>] {
        let pieces = max(1, min(count, n / max(grain, 1)))
        return (0..<pieces).map { k in (n * k / pieces)..<(n * (k + 1) / pieces) }
    }

    /// Runs `body` on each range of `split(n, grain:)`, one worker each.
    public static func forEachRange(_ n: Int, grain: Int, _ body: (Range<Int>) -> Void) {
        let ranges = split(n, grain: grain)
        run(ranges.count) { body(ranges[$0]) }
    }

    /// `f` of every value of `source`, in order, over the workers (each value written once,
    /// so the array is the same for any worker count).
    public static func map(_ source: UnsafeBufferPointer<Double>, _ f: @Sendable (Double) -> Double) -> [Double] {
        let n = source.count
        return [Double](unsafeUninitializedCapacity: n) { out, initialized in
            guard let o = out.baseAddress, let s = source.baseAddress else { initialized = 0; return }
            let op = UnsafeSendable(o), sp = UnsafeSendable(s)
            forEachRange(n, grain: 32_768) { rows in
                let o = op.value, s = sp.value
                for i in rows { o[i] = f(s[i]) }
            }
            initialized = n
        }
    }

    /// `0..<n` cut into equal ranges for a reduction, whose partial results are combined in
    /// range order: one range below `grain` elements, else `max(2, n / grain)`. The cut
    /// depends on `n` only, so the result is the same for any worker count.
    public static func chunks(_ n: Int, grain: Int) -> [Range<Int>] {
        let pieces = n < max(grain, 1) ? 1 : max(2, n / max(grain, 1))
        return (0..<pieces).map { k in (n * k / pieces)..<(n * (k + 1) / pieces) }
    }

    /// Hands out task numbers to the workers of `run`.
    private final class TaskCounter: @unchecked Sendable {
        private var value = 0
        private let lock = Mutex()
        func take(below limit: Int) -> Int? {
            lock.lock(); defer { lock.unlock() }
            guard value < limit else { return nil }
            value += 1
            return value - 1
        }
    }
}
