/// One numeric column of a snapshot, wherever its values live: an array in memory (a
/// `CSVTable`'s) or a read-only file mapping (`MappedColumns`'), which keeps a snapshot
/// larger than memory out of the process's own heap.
///
/// A value type that keeps its storage alive: the array, or the mapping's owner (which
/// unmaps only when the last column of it is gone). Read-only, so `Sendable`.
public struct DoubleColumn: RandomAccessCollection, @unchecked Sendable {
    enum Storage {
        case array([Double])
        /// Valid while `owner` lives; nothing writes through it after the mapping is made.
        case mapped(UnsafeBufferPointer<Double>, owner: AnyObject)
    }
    let storage: Storage

    public init(_ values: [Double]) { storage = .array(values) }

    /// Values at `buffer`, kept valid by `owner` (which frees them when it goes).
    public init(mapped buffer: UnsafeBufferPointer<Double>, owner: AnyObject) { storage = .mapped(buffer, owner: owner) }

    public var startIndex: Int { 0 }
    public var endIndex: Int {
        switch storage {
        case .array(let a): a.count
        case .mapped(let b, _): b.count
        }
    }

    @inline(__always) public subscript(i: Int) -> Double {
        switch storage {
        case .array(let a): a[i]
        case .mapped(let b, _): b[i]
        }
    }

    /// The values as contiguous storage, valid inside `body` only.
    public func withUnsafeBufferPointer<R>(_ body: (UnsafeBufferPointer<Double>) throws -> R) rethrows -> R {
        switch storage {
        case .array(let a): return try a.withUnsafeBufferPointer(body)
        case .mapped(let b, let owner): return try withExtendedLifetime(owner) { try body(b) }
        }
    }

    /// The values as an array (a copy when mapped).
    public var array: [Double] {
        switch storage {
        case .array(let a): a
        case .mapped(let b, _): Array(b)
        }
    }
}
