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

    /// The first input pattern that matches a file retain writes into `folder` (a glob such
    /// as `data/*.csv` with the output in `data/`: the next run would read its own outputs),
    /// or an input file inside the folder; nil when none does.
    static func overlap(_ patterns: [String], outputFolder folder: String) -> String? {
        let written = ["customers.csv", "scores.csv", "features.csv", "rejects.csv", "training_matrix.csv", "coefficients.csv",
                       "retention_targets.csv", "retention_history.csv", "report.md", "run.json", "model.json",
                       "segments/drop.csv", "snapshots/scoring.csv", "last-failure/rejects.csv", "ledger/index.json",
                       "current/customers.csv"]
        let root = folder.hasSuffix("/") ? String(folder.dropLast()) : folder
        for pattern in patterns {
            if pattern == root || pattern.hasPrefix(root + "/") { return pattern }
            if written.contains(where: { fnmatch(pattern, root + "/" + $0, FNM_PATHNAME) == 0 }) { return pattern }
        }
        return nil
    }
}
