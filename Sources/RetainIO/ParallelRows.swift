import Dispatch

/// Writes a large CSV body on both cores: rows are formatted in pieces into memory, two
/// pieces at a time (one per core), and written in order. While the calling thread writes
/// one round's two pieces, the workers already format the next two, so the kernel's copy
/// into the page cache (a third of the time for a few hundred megabytes of text) overlaps
/// the formatting instead of leaving a core idle. At most four pieces of sixteen (a
/// quarter of the text) are in memory, and the file is identical to a serial write.
public enum ParallelRows {
    /// `format(lo, hi, buffer)` appends rows lo..<hi to `buffer`; `bytesPerRow` sizes the
    /// buffers (they grow if a piece needs more).
    public static func write(rows m: Int, bytesPerRow: Int, to out: OutputBuffer,
                             _ format: @Sendable (Int, Int, OutputBuffer) throws -> Void) throws {
        try withoutActuallyEscaping(format) { format in
            try pipelined(rows: m, bytesPerRow: bytesPerRow, format: { lo, hi, b in try format(lo, hi, b); return SideCopies() }) { _, b, _ in
                try out.append(b.contents)
            }
        }
    }

    /// As `write`, one row formatted at a time (`formatRow(i, buffer)`), each row also
    /// copied into the side file whose index `formatRow` returns (nil: none). The worker
    /// that formats a piece also splits it by side file, so the writing thread only
    /// appends whole pieces: copying row by row there had the workers waiting for it
    /// half the time (the segment stage's five customer files).
    public static func write(rows m: Int, bytesPerRow: Int, to out: OutputBuffer, alsoTo sides: [OutputBuffer],
                             formatRow: @Sendable (Int, OutputBuffer) throws -> Int?) throws {
        let sideCount = sides.count
        try withoutActuallyEscaping(formatRow) { formatRow in
            try pipelined(rows: m, bytesPerRow: bytesPerRow, format: { lo, hi, b in
                let copies = SideCopies(buffers: (0..<sideCount).map { _ in OutputBuffer(memoryCapacity: max(4096, (hi - lo) * bytesPerRow / max(sideCount, 1))) })
                for i in lo..<hi {
                    let start = b.contents.count
                    if let k = try formatRow(i, b), k >= 0, k < sideCount {
                        try copies.buffers[k].append(UnsafeRawBufferPointer(rebasing: b.contents[start...]))
                    }
                }
                return copies
            }) { _, b, copies in
                try out.append(b.contents)
                for (k, side) in copies.buffers.enumerated() { try sides[k].append(side.contents) }
            }
        }
    }

    /// A piece's rows copied out by side file (none without side files).
    struct SideCopies: Sendable {
        var buffers: [OutputBuffer] = []
    }

    /// One round: up to two pieces being formatted on worker threads.
    private final class Round: @unchecked Sendable {
        let group = DispatchGroup()
        let firstPiece: Int
        let buffers: [OutputBuffer]
        let firstRows: [Int]
        let results: Slots<SideCopies>
        let failures = FirstError()

        init(firstPiece: Int, buffers: [OutputBuffer], firstRows: [Int]) {
            self.firstPiece = firstPiece
            self.buffers = buffers
            self.firstRows = firstRows
            results = Slots(count: buffers.count)
        }
    }

    /// The shared mechanism: pieces formatted two at a time on the workers, each round
    /// started before the previous one is written on the calling thread. `format` only
    /// looks escaping: every round is waited for before this returns, even on an error.
    private static func pipelined(rows m: Int, bytesPerRow: Int,
                                  format: @escaping @Sendable (Int, Int, OutputBuffer) throws -> SideCopies,
                                  write: (Int, OutputBuffer, SideCopies) throws -> Void) throws {
        let pieces = m < 4096 ? 1 : 16
        let width = min(2, pieces)
        func start(_ first: Int) -> Round {
            let ps = Array(first..<min(first + width, pieces))
            let r = Round(firstPiece: first,
                          buffers: ps.map { _ in OutputBuffer(memoryCapacity: max(4096, m / pieces * bytesPerRow)) },
                          firstRows: ps.map { m * $0 / pieces })
            for (k, p) in ps.enumerated() {
                let lo = m * p / pieces, hi = m * (p + 1) / pieces
                DispatchQueue.global().async(group: r.group) {
                    do { r.results[k] = try format(lo, hi, r.buffers[k]) } catch { r.failures.record(error) }
                }
            }
            return r
        }
        var pending: Round? = start(0)
        // Never return while a round still writes into its buffers.
        defer { pending?.group.wait() }
        while let current = pending {
            current.group.wait()
            pending = nil
            if let e = current.failures.first { throw e }
            let next = current.firstPiece + width
            if next < pieces { pending = start(next) }
            for (k, b) in current.buffers.enumerated() {
                try write(current.firstRows[k], b, current.results[k] ?? SideCopies())
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
