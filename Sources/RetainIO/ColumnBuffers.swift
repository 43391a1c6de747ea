/// Several `[Double]` columns filled in place by concurrent workers.
///
/// An array's storage can only be written through a closure scoped to it, so filling many
/// columns on several cores used to mean a plain buffer per column, then a copy of each
/// into an array (hundreds of megabytes at 10 M rows). Here each column is created with
/// uninitialised capacity and its buffer handed on, nested, so `fill` gets all of them at
/// once and the arrays come out without a copy.
public enum ColumnBuffers {
    /// `count` arrays of up to `capacity` doubles: `fill` gets their buffers (uninitialised)
    /// and returns how many leading values it wrote in every one of them.
    public static func make(_ count: Int, capacity: Int,
                            _ fill: ([UnsafeMutablePointer<Double>]) throws -> Int) rethrows -> [[Double]] {
        var buffers: [UnsafeMutablePointer<Double>] = []
        buffers.reserveCapacity(count)
        var rows = 0
        func nest(_ c: Int) throws -> [[Double]] {
            guard c < count else {
                rows = try fill(buffers)
                precondition(rows >= 0 && rows <= capacity, "ColumnBuffers: filled \(rows) of \(capacity)")
                return []
            }
            var rest: [[Double]] = []
            let column = try [Double](unsafeUninitializedCapacity: max(capacity, 1)) { buffer, initialized in
                guard let start = buffer.baseAddress else { return }
                buffers.append(start)
                rest = try nest(c + 1)
                initialized = rows
            }
            return [column] + rest
        }
        return try nest(0)
    }

    /// Read-only pointers to the storage of every column in `columns` (in memory or mapped), valid inside `body`
    /// (nested scopes: an array's address is only guaranteed within its own closure), so a
    /// concurrent loop reads many columns without copying them or touching their
    /// reference counts. An empty column gets a pointer that must not be read.
    public static func reading<R>(_ columns: [DoubleColumn], _ body: ([UnsafePointer<Double>]) throws -> R) rethrows -> R {
        var pointers: [UnsafePointer<Double>] = []
        pointers.reserveCapacity(columns.count)
        func nest(_ c: Int) throws -> R {
            guard c < columns.count else { return try body(pointers) }
            return try columns[c].withUnsafeBufferPointer { b in
                pointers.append(b.baseAddress ?? UnsafePointer(emptyColumn))
                return try nest(c + 1)
            }
        }
        return try nest(0)
    }
}

/// What `ColumnBuffers.reading` hands out for an empty column (one double, never read).
nonisolated(unsafe) private let emptyColumn = UnsafeMutablePointer<Double>.allocate(capacity: 1)
