/// A pointer or buffer handed to concurrent workers, which read it or write disjoint parts
/// of its memory (the compiler cannot see that; the callers guarantee it).
public struct UnsafeSendable<T>: @unchecked Sendable {
    public let value: T
    public init(_ v: T) { value = v }
}
