import Dispatch

/// Writes a large CSV body with every worker: rows are formatted in pieces into memory on
/// worker threads and written in order. While the calling thread writes one piece, the
/// workers already format the next ones, so the kernel's copy into the page cache
/// overlaps the formatting instead of leaving a core idle. At most workers + 2 pieces are
/// in memory, each about `pieceBytes` of text (`pieces`), so what a write holds does not
/// grow with the file; the file is identical to a serial write.
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

    /// One piece of rows, formatted on a worker thread.
    private final class Piece: @unchecked Sendable {
        let group = DispatchGroup()
        let firstRow: Int
        let buffer: OutputBuffer
        var copies = SideCopies()
        var failure: (any Error)?

        init(firstRow: Int, capacity: Int) {
            self.firstRow = firstRow
            buffer = OutputBuffer(memoryCapacity: capacity)
        }
    }

    /// Text a piece is planned to hold, in bytes. Large enough that starting a piece costs
    /// nothing beside formatting it; small enough that workers + 2 of them are a few tens of
    /// megabytes, not a share of a file of any size.
    public static let pieceBytes = 8 << 20

    /// How many pieces `rows` rows of about `bytesPerRow` bytes are cut into: one for a small
    /// body; else at least 4 per worker (and 16), so a slow piece leaves little idle, and
    /// enough that none is planned above `pieceBytes`.
    public static func pieces(rows m: Int, bytesPerRow: Int, workers: Int) -> Int {
        guard m >= 4096 else { return 1 }
        let rowsPerPiece = max(1, pieceBytes / max(bytesPerRow, 1))
        return min(m, max(16, 4 * workers, (m + rowsPerPiece - 1) / rowsPerPiece))
    }

    /// The shared mechanism: pieces formatted on the workers, up to `ahead` at a time, and
    /// written in order on the calling thread; as each piece is written the next one is
    /// started. A worker that finishes a piece takes the next at once (rounds waited for
    /// whole leave a core idle while the slowest finishes). `format`
    /// only looks escaping: every piece is waited for before this returns, even on an error.
    private static func pipelined(rows m: Int, bytesPerRow: Int,
                                  format: @escaping @Sendable (Int, Int, OutputBuffer) throws -> SideCopies,
                                  write: (Int, OutputBuffer, SideCopies) throws -> Void) throws {
        let workers = Workers.count
        let pieces = Self.pieces(rows: m, bytesPerRow: bytesPerRow, workers: workers)
        let ahead = min(workers + 1, pieces)  // with the one being written, workers + 2 in memory
        func start(_ p: Int) -> Piece {
            let lo = m * p / pieces, hi = m * (p + 1) / pieces
            let piece = Piece(firstRow: lo, capacity: max(4096, (hi - lo) * bytesPerRow))
            DispatchQueue.global().async(group: piece.group) {
                do { piece.copies = try format(lo, hi, piece.buffer) } catch { piece.failure = error }
            }
            return piece
        }
        var queue: [Piece] = []
        // Never return while a piece still writes into its buffer.
        defer { for piece in queue { piece.group.wait() } }
        var next = 0
        while next < ahead { queue.append(start(next)); next += 1 }
        while !queue.isEmpty {
            let piece = queue.removeFirst()
            piece.group.wait()
            if let e = piece.failure { throw e }
            if next < pieces { queue.append(start(next)); next += 1 }
            try write(piece.firstRow, piece.buffer, piece.copies)
        }
    }
}
