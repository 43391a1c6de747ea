import FuzzSupport
import Pipeline

/// One fuzz input: a pipeline file. Reading it must give a spec or a `PipelineError`
/// (exit 78 or 66 with a message), never a crash or another error.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzPipelineFile(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let path = Scratch.write("p.toml", data, size)
    do {
        _ = try PipelineSpec.load(path, today: 20_000)
    } catch let e as PipelineError {
        precondition(!e.description.isEmpty && e.description.utf8.count < 4_000, "a message of \(e.description.utf8.count) bytes")
    } catch {
        fatalError("an error that is not a PipelineError: \(error)")
    }
    return 0
}
