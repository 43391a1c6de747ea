import CSupport
#if canImport(Glibc)
import Glibc
#endif

/// Zeroed memory straight from the kernel, mapped in whole before it is returned.
///
/// For large tables and per-customer sums: `mmap` memory comes zeroed, so no filling pass
/// is needed. A region of 4 MiB or more is populated by the kernel before it is returned
/// (4 KiB pages) instead of faulting in as the workers first touch it: a page fault per
/// random first touch costs the kernel far more than populating the range at once, and
/// the random probes of these tables are grouped and prefetched, so small pages cost no
/// user time. With transparent huge pages set to `always` (Debian's default is
/// `madvise`), the kernel may populate with 2 MiB pages instead.
///
/// Populating is the kernel's work on the calling thread, so the region is populated in
/// one range per worker at once (`MADV_POPULATE_WRITE`, Linux 5.14; older kernels touch
/// each page instead); `bench/fresh_memory.c` measures it.
///
/// Regions under `mapFrom` come from `calloc` instead: a table that small costs more in
/// `mmap` and `munmap` calls than in zeroing. Which of the two a region came from depends
/// on its size alone, so `free` undoes exactly what `allocate` did.
public enum ZeroedMemory {
    /// Regions at least this large are mapped; smaller ones come from the heap.
    static let mapFrom = 64 << 10
    /// Regions at least this large are populated before they are returned.
    static let populateFrom = 4 << 20
    /// `MADV_POPULATE_WRITE` (Linux 5.14): fault in a range writable, as a write would.
    static let populateWrite: Int32 = 23

    public static func allocate<T>(_ type: T.Type, count: Int) -> UnsafeMutablePointer<T> {
        let bytes = regionBytes(T.self, count: count)
        if bytes < mapFrom {
            guard let q = calloc(1, bytes) else { outOfMemory(bytes) }
            return q.bindMemory(to: T.self, capacity: count)
        }
        guard let p = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), p != MAP_FAILED else {
            outOfMemory(bytes)
        }
#if os(Linux)
        if bytes >= populateFrom {
            let pages = (bytes + 4095) / 4096
            let base = UnsafeSendable(p)
            Workers.forEachRange(pages, grain: populateFrom / 4096) { range in
                let first = range.lowerBound, end = range.upperBound
                let start = base.value + first * 4096, length = min(end * 4096, bytes) - first * 4096
                guard length > 0, madvise(start, length, populateWrite) != 0 else { return }
                for page in stride(from: 0, to: length, by: 4096) { start.storeBytes(of: 0, toByteOffset: page, as: UInt8.self) }
            }
        }
#endif
        return p.bindMemory(to: T.self, capacity: count)
    }

    /// Releases a region from `allocate` with the same `count`.
    public static func free<T>(_ p: UnsafeMutablePointer<T>, count: Int) {
        let bytes = regionBytes(T.self, count: count)
        if bytes < mapFrom { Glibc.free(UnsafeMutableRawPointer(p)) } else { munmap(UnsafeMutableRawPointer(p), bytes) }
    }

    static func regionBytes<T>(_ type: T.Type, count: Int) -> Int { max(count * MemoryLayout<T>.stride, 64) }

    /// Out of memory is not an input error: like any Swift allocation, it stops the process,
    /// here with the size that could not be had.
    static func outOfMemory(_ bytes: Int) -> Never {
        fatalError("out of memory: \(bytes) bytes of zeroed memory could not be had")
    }
}
