
/// One result slot per concurrent worker.
public final class Slots<T: Sendable>: @unchecked Sendable {
    private var items: [T?]
    private let lock = Mutex()
    public init(count: Int) { items = Array(repeating: nil, count: count) }
    public subscript(i: Int) -> T? {
        get { lock.lock(); defer { lock.unlock() }; return items[i] }
        set { lock.lock(); items[i] = newValue; lock.unlock() }
    }
}

/// The first error raised by concurrent workers.
public final class FirstError: @unchecked Sendable {
    private var error: (any Error)?
    private let lock = Mutex()
    public init() {}
    public func record(_ e: any Error) { lock.lock(); if error == nil { error = e }; lock.unlock() }
    public var first: (any Error)? { lock.lock(); defer { lock.unlock() }; return error }
}
