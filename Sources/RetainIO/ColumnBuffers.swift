/// Several `[Double]` columns filled in place by concurrent workers.
///
/// An array's storage can only be written through a closure scoped to it, so filling many
/// columns on several cores used to mean a plain buffer per column, then a copy of each
/// into an array (hundreds of megabytes at 10 M rows). Here each column is created with
/// uninitialised capacity and its buffer handed on, nested, so `fill` gets all of them at
/// once and the arrays come out without a copy.
enum ColumnBuffers {
    /// `count` arrays of up to `capacity` doubles: `fill` gets their buffers (uninitialised)
    /// and returns how many leading values it wrote in every one of them.
    static func make(_ count: Int, capacity: Int,
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
}
