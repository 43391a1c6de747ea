import Dispatch

/// Writes a large CSV body on both cores: rows are formatted in pieces into memory, two
/// pieces at a time (one per core), and written in order before the next two, so only
/// a quarter of the text is ever in memory and the file is identical to a serial write.
public enum ParallelRows {
    /// `format(lo, hi, buffer)` appends rows lo..<hi to `buffer`; `bytesPerRow` sizes the
    /// buffers (they grow if a piece needs more).
    public static func write(rows m: Int, bytesPerRow: Int, to out: OutputBuffer,
                             _ format: @Sendable (Int, Int, OutputBuffer) throws -> Void) throws {
        let pieces = m < 4096 ? 1 : 8
        let width = min(2, pieces)
        for round in stride(from: 0, to: pieces, by: width) {
            let buffers = (0..<width).map { _ in OutputBuffer(memoryCapacity: max(4096, m / pieces * bytesPerRow)) }
            let failures = FirstError()
            DispatchQueue.concurrentPerform(iterations: width) { k in
                let p = round + k
                do { try format(m * p / pieces, m * (p + 1) / pieces, buffers[k]) } catch { failures.record(error) }
            }
            if let e = failures.first { throw e }
            for b in buffers { try out.append(b.contents) }
        }
    }
}

extension ParallelRows {
    /// As `write`, with one row formatted at a time (`formatRow(i, buffer)`), and every
    /// row's bytes handed, in order, to `rowWritten(i, bytes)` once its piece is written:
    /// a second file made of some of the same rows copies them instead of formatting again.
    public static func write(rows m: Int, bytesPerRow: Int, to out: OutputBuffer,
                             formatRow: @Sendable (Int, OutputBuffer) throws -> Void,
                             rowWritten: (Int, UnsafeRawBufferPointer) throws -> Void) throws {
        let pieces = m < 4096 ? 1 : 8
        let width = min(2, pieces)
        for round in stride(from: 0, to: pieces, by: width) {
            let buffers = (0..<width).map { _ in OutputBuffer(memoryCapacity: max(4096, m / pieces * bytesPerRow)) }
            let ends = Slots<[Int]>(count: width)
            let failures = FirstError()
            DispatchQueue.concurrentPerform(iterations: width) { k in
                let p = round + k
                var rowEnds: [Int] = []
                do {
                    for i in (m * p / pieces)..<(m * (p + 1) / pieces) {
                        try formatRow(i, buffers[k])
                        rowEnds.append(buffers[k].contents.count)
                    }
                } catch { failures.record(error) }
                ends[k] = rowEnds
            }
            if let e = failures.first { throw e }
            for (k, b) in buffers.enumerated() {
                try out.append(b.contents)
                var start = 0
                let first = m * (round + k) / pieces
                for (r, end) in (ends[k] ?? []).enumerated() {
                    try rowWritten(first + r, UnsafeRawBufferPointer(rebasing: b.contents[start..<end]))
                    start = end
                }
            }
        }
    }
}

/// The first error raised by concurrent workers.
public final class FirstError: @unchecked Sendable {
    private var error: (any Error)?
    private let lock = Mutex()
    public init() {}
    public func record(_ e: any Error) { lock.lock(); if error == nil { error = e }; lock.unlock() }
    public var first: (any Error)? { lock.lock(); defer { lock.unlock() }; return error }
}
