import Foundation
import RetainIO
#if canImport(Glibc)
import Glibc
#endif

/// Expands the pipeline's input patterns into files, in a stable (sorted) order.
enum Inputs {
    static func resolve(_ patterns: [String]) throws -> [String] {
        var files: [String] = []
        for pattern in patterns {
            var matches: [String] = []
            if pattern.contains(where: { "*?[".contains($0) }) {
                var g = glob_t()
                defer { globfree(&g) }
                if glob(pattern, 0, nil, &g) == 0 {
                    for k in 0..<Int(g.gl_pathc) {
                        if let p = g.gl_pathv[k] { matches.append(String(cString: p)) }
                    }
                }
                matches = matches.filter { !FilePath.isDirectory($0) }.sorted()
            } else if FilePath.exists(pattern) && !FilePath.isDirectory(pattern) {
                matches = [pattern]
            }
            guard !matches.isEmpty else { throw PipelineError.inputMissing(pattern: pattern, key: "input.paths") }
            for m in matches where !files.contains(m) { files.append(m) }
        }
        for f in files where access(f, R_OK) != 0 {
            throw IOError.cannotRead(path: f, reason: IOError.systemReason())
        }
        return files
    }
}
