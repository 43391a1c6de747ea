import Foundation

/// Where the repository and its bundled data are, from this source file's location.
public enum RepoPaths {
    public static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }  // Tests/RetainTestSupport/Paths.swift
        return url.path
    }()

    public static func path(_ relative: String) -> String { root + "/" + relative }

    public static var cdnow: String { path("datasets/cdnow/CDNOW_master.txt") }
}

/// A fresh temporary folder per test, removed when the value is released.
public final class TemporaryFolder: @unchecked Sendable {
    public let path: String

    public init(_ label: String = "retain-test") {
        let base = FileManager.default.temporaryDirectory.path
        path = "\(base)/\(label)-\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString.prefix(8))"
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    public func file(_ name: String) -> String { path + "/" + name }

    /// Writes `text` to `name` and returns its path.
    @discardableResult
    public func write(_ name: String, _ text: String) throws -> String {
        let p = file(name)
        try FileManager.default.createDirectory(atPath: (p as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try Data(text.utf8).write(to: URL(fileURLWithPath: p))
        return p
    }

    public func read(_ name: String) throws -> String {
        try String(contentsOfFile: file(name), encoding: .utf8)
    }
}
