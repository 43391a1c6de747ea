import Foundation

/// A folder of this process's own for the files a fuzz input is written to: in /dev/shm
/// (memory) where there is one, else the temporary folder.
public enum Scratch {
    public static let folder: String = {
        let base = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
        let dir = "\(base)/retain-fuzz-\(getpid())"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }()

    /// Writes `size` bytes at `data` to `name` in the folder; returns its path.
    public static func write(_ name: String, _ data: UnsafePointer<UInt8>, _ size: Int) -> String {
        let path = folder + "/" + name
        guard FileManager.default.createFile(atPath: path, contents: Data(bytes: data, count: size)) else { fatalError("cannot write \(path)") }
        return path
    }
}
