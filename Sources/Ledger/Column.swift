/// A growable column of plain values with a stable address, so two workers can write
/// disjoint rows of the same column at once (Swift arrays would copy or trap on that).
/// Allocated once per ingest and reused for every block: no per-row allocation.
final class Column<T: BitwiseCopyable>: @unchecked Sendable {
    private(set) var base: UnsafeMutablePointer<T>
    private(set) var count = 0
    private var capacity: Int

    init(capacity: Int = 1 << 14) {
        self.capacity = max(capacity, 16)
        base = .allocate(capacity: self.capacity)
    }

    deinit { base.deallocate() }

    @inline(__always) func append(_ v: T) {
        if count == capacity { grow() }
        base[count] = v
        count += 1
    }

    @inline(__always) subscript(i: Int) -> T {
        get { base[i] }
        set { base[i] = newValue }
    }

    func removeAll() { count = 0 }

    /// Sets the count to `n`, growing as needed (values beyond the old count are undefined
    /// until written).
    func resize(_ n: Int) {
        while capacity < n { grow() }
        count = n
    }

    private func grow() {
        let newCap = capacity * 2
        let nb = UnsafeMutablePointer<T>.allocate(capacity: newCap)
        nb.moveInitialize(from: base, count: count)
        base.deallocate()
        base = nb
        capacity = newCap
    }

    var buffer: UnsafeBufferPointer<T> { UnsafeBufferPointer(start: base, count: count) }
}
