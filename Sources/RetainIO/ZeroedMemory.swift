import CSupport
#if canImport(Glibc)
import Glibc
#endif

/// Zeroed memory straight from the kernel, mapped in whole before it is returned.
///
/// For large tables and per-customer sums: `mmap` memory comes zeroed, so no filling pass
/// is needed. A region of 4 MiB or more is populated by the kernel at `mmap` time
/// (`MAP_POPULATE`, 4 KiB pages) instead of faulting in as the workers first touch it.
/// Measured on the benchmark's VM (bench/README.md), features stage at 10 M rows, whose
/// 550 MB of sums two workers first touch at random: with 2 MiB pages faulted in, 1.7 to
/// 2.7 s of kernel time and 2.2 to 3.3 s for the stage; with 4 KiB pages faulted in, 2.5
/// to 3.0 s of kernel time; populated, 0.7 to 1.0 s and 1.7 to 2.2 s. The random probes of these tables
/// are grouped and prefetched, so 4 KiB pages cost no measurable user time against 2 MiB
/// ones (ingest, whose customer table is probed at random, is unchanged). Measured with
/// transparent huge pages in `madvise` mode (Debian's default); set to `always`, the kernel
/// may populate with 2 MiB pages instead.
public enum ZeroedMemory {
    /// Regions at least this large are populated at `mmap` time.
    static let populateFrom = 4 << 20

    public static func allocate<T>(_ type: T.Type, count: Int) -> UnsafeMutablePointer<T> {
        let bytes = max(count * MemoryLayout<T>.stride, 4096)
        var flags = MAP_PRIVATE | MAP_ANONYMOUS
#if os(Linux)
        if bytes >= populateFrom { flags |= MAP_POPULATE }
#endif
        guard let p = mmap(nil, bytes, PROT_READ | PROT_WRITE, flags, -1, 0), p != MAP_FAILED else {
            let q = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
            q.initializeMemory(as: UInt8.self, repeating: 0, count: bytes)
            return q.bindMemory(to: T.self, capacity: count)
        }
        return p.bindMemory(to: T.self, capacity: count)
    }

    public static func free<T>(_ p: UnsafeMutablePointer<T>, count: Int) {
        munmap(UnsafeMutableRawPointer(p), max(count * MemoryLayout<T>.stride, 4096))
    }
}

/// How the process's allocator treats memory it frees.
public enum ProcessMemory {
    /// From now on, freed memory stays in the process for later allocations instead of
    /// going back to the kernel. glibc otherwise gives every large array its own mapping,
    /// unmapped when freed, so the next one faults in fresh zeroed pages again: the train,
    /// score and segment stages allocate and free hundreds of megabytes of columns and
    /// designs each. Measured on the benchmark's VM, 10 M rows, train to report: 2.6 to
    /// 2.9 s against 2.9 to 3.1 s (kernel time 0.6 to 0.9 s against 0.9 to 1.2 s), peak
    /// 650 MB against 605 MB. The cost is that the peak no longer falls between stages,
    /// so `Runner` turns this on only after the features stage, the run's largest.
    public static func keepFreedMemory() { retain_keep_freed_memory() }
}

/// A pointer or buffer handed to concurrent workers, which read it or write disjoint parts
/// of its memory (the compiler cannot see that; the callers guarantee it).
public struct UnsafeSendable<T>: @unchecked Sendable {
    public let value: T
    public init(_ v: T) { value = v }
}
