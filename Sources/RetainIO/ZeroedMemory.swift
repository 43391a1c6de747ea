import CSupport
import Dispatch
#if canImport(Glibc)
import Glibc
#endif

/// Zeroed memory straight from the kernel, mapped in whole before it is returned.
///
/// For large tables and per-customer sums: `mmap` memory comes zeroed, so no filling pass
/// is needed. A region of 4 MiB or more is populated by the kernel before it is returned
/// (4 KiB pages) instead of faulting in as the workers first touch it.
/// Measured on the benchmark's VM (bench/README.md), features stage at 10 M rows, whose
/// 550 MB of sums two workers first touch at random: with 2 MiB pages faulted in, 1.7 to
/// 2.7 s of kernel time and 2.2 to 3.3 s for the stage; with 4 KiB pages faulted in, 2.5
/// to 3.0 s of kernel time; populated, 0.7 to 1.0 s and 1.7 to 2.2 s. The random probes of these tables
/// are grouped and prefetched, so 4 KiB pages cost no measurable user time against 2 MiB
/// ones (ingest, whose customer table is probed at random, is unchanged). Measured with
/// transparent huge pages in `madvise` mode (Debian's default); set to `always`, the kernel
/// may populate with 2 MiB pages instead.
///
/// Populating is the kernel's work on the calling thread, so the region is populated in
/// one range per worker at once (`MADV_POPULATE_WRITE`, Linux 5.14; older kernels touch
/// each page instead); `bench/fresh_memory.c` measures it.
public enum ZeroedMemory {
    /// Regions at least this large are populated before they are returned.
    static let populateFrom = 4 << 20
    /// `MADV_POPULATE_WRITE` (Linux 5.14): fault in a range writable, as a write would.
    static let populateWrite: Int32 = 23

    public static func allocate<T>(_ type: T.Type, count: Int) -> UnsafeMutablePointer<T> {
        let bytes = max(count * MemoryLayout<T>.stride, 4096)
        guard let p = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), p != MAP_FAILED else {
            let q = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
            q.initializeMemory(as: UInt8.self, repeating: 0, count: bytes)
            return q.bindMemory(to: T.self, capacity: count)
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
    /// so it is turned on only once the run's largest allocation is made: by the features
    /// stage after its sums (its three snapshots then share one set of pages: features
    /// 1.73 against 1.47 s, whole run 4.83 against 4.71 s, same peak), and by `Runner`
    /// before each later stage.
    public static func keepFreedMemory() { retain_keep_freed_memory() }

    /// Gives memory the process has freed but kept (glibc keeps blocks up to 32 MiB once
    /// it has seen blocks that large freed) back to the kernel. Before the run's largest
    /// stage, so that its peak is its own, not its own plus what the stage before left:
    /// measured at 10 M rows, the whole run's peak 965 against the features stage's own 800 MB.
    public static func returnFreedMemory() { retain_return_freed_memory() }
}

/// A pointer or buffer handed to concurrent workers, which read it or write disjoint parts
/// of its memory (the compiler cannot see that; the callers guarantee it).
public struct UnsafeSendable<T>: @unchecked Sendable {
    public let value: T
    public init(_ v: T) { value = v }
}
