import Foundation
import Pipeline

/// One fuzz input: a pipeline file. Reading it must give a spec or a `PipelineError`
/// (exit 78 or 66 with a message), never a crash or another error.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPipelineFile(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let path = Scratch.folder + "/p.toml"
    guard FileManager.default.createFile(atPath: path, contents: Data(bytes: data, count: size)) else { fatalError("cannot write \(path)") }
    do {
        _ = try PipelineSpec.load(path, today: 20_000)
    } catch let e as PipelineError {
        precondition(!e.description.isEmpty && e.description.utf8.count < 4_000, "a message of \(e.description.utf8.count) bytes")
    } catch {
        fatalError("an error that is not a PipelineError: \(error)")
    }
    return 0
}

enum Scratch {
    static let folder: String = {
        let base = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
        let dir = "\(base)/retain-fuzz-\(getpid())"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }()
}
