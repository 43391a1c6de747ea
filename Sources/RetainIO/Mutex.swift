#if canImport(Glibc)
import Glibc
#endif

/// A plain pthread mutex, for the few places where workers share a small structure
/// (channel names met while parsing, the first error of concurrent writers).
public final class Mutex: @unchecked Sendable {
    private var m = pthread_mutex_t()
    public init() { pthread_mutex_init(&m, nil) }
    deinit { pthread_mutex_destroy(&m) }
    public func lock() { pthread_mutex_lock(&m) }
    public func unlock() { pthread_mutex_unlock(&m) }
}
