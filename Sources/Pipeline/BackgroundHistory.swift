import CSupport
import Dispatch
import Foundation
import Ledger
import RetainIO
import Segmentation

/// The segment stage's retention history, computed on a thread of its own: it reads only
/// the ledger, so it can run beside other work. One thread reads each row once, where two
/// split by customer parity would each read them all.
///
/// `idle`: begun by `Runner` while the train and score stages of the same run work, the
/// thread is one the kernel schedules only when a core would otherwise be idle (Linux
/// `SCHED_IDLE`), so it takes little from those stages, which leave a core idle part of the
/// time (serial steps, waits on a writing thread); when the segment stage starts, it goes
/// back to normal priority for whatever is left. It is begun after the features stage, the
/// run's memory peak, so that the peak stays the same (begun before it, the peak would
/// rise for no further gain). Without `idle` (the segment stage run alone begins it), it
/// runs beside the stage's own work.
final class BackgroundHistory: @unchecked Sendable {
    private let finished = DispatchSemaphore(value: 0)
    private let lock = Mutex()
    private var outcome: Result<RetentionHistory, any Error>?
    private var stopping = false, hurrying = false, hurried = false

    init(view: LedgerView, settings: SegmentSettings, activeWindowDays: Int32, idle: Bool) {
        let ledger = UnsafeSendable(view)
        let thread = Thread { [self] in
            if idle { _ = retain_run_when_idle(1) }
            let result = Result {
                try RetentionHistory.compute(ledger.value, settings: settings, activeWindowDays: activeWindowDays) {
                    let (stop, hurry) = self.flags()
                    if hurry && idle { _ = retain_run_when_idle(0) }
                    return stop
                }
            }
            lock.lock(); outcome = result; lock.unlock()
            finished.signal()
        }
        thread.name = "retain.history"
        thread.start()
    }

    /// Whether to stop, and whether to go back to normal priority now (once).
    private func flags() -> (stop: Bool, hurry: Bool) {
        lock.lock(); defer { lock.unlock() }
        let hurry = hurrying && !hurried
        if hurry { hurried = true }
        return (stopping, hurry)
    }

    /// From now on the thread competes for the cores as any other (the segment stage,
    /// which needs the result, has begun).
    func hurry() { lock.lock(); hurrying = true; lock.unlock() }

    /// The history, once done (waiting for it if need be).
    func result() throws -> RetentionHistory {
        hurry()
        finished.wait(); finished.signal()
        lock.lock(); defer { lock.unlock() }
        guard let outcome else { throw SegmentationError.stopped }
        return try outcome.get()
    }

    /// Stops the computation at its next chunk, if it is still going, and waits until the
    /// thread no longer reads the ledger (a run that ends, or fails, before it is used).
    func stop() {
        lock.lock(); stopping = true; hurrying = true; lock.unlock()
        finished.wait(); finished.signal()
    }
}
