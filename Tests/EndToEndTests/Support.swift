import Foundation
import RetainTestSupport

/// Writes `rows` data rows in the order_id,customer_id,date,amount layout, quickly
/// (awk), for tests that need a run long enough to interrupt.
func writeLargeLog(_ path: String, rows: Int, customers: Int = 20_000, day: Int = 1) throws {
    let cmd = "(echo order_id,customer_id,date,amount; seq 1 \(rows) | awk '{printf \"o%d,c%d,2024-02-%02d,%d.25\\n\",$1,$1%\(customers),\(day),$1%100}') > '\(path)'"
    guard try shell(cmd) == 0 else { throw CocoaError(.fileWriteUnknown) }
}

/// A small good log: `n` rows over `customers` customers, amounts 1..n.
func smallLog(rows n: Int, customers: Int = 10, month: Int = 3, prefix: String = "o") -> String {
    var s = "order_id,customer_id,date,amount\n"
    for i in 1...n { s += "\(prefix)\(i),c\(i % customers),2024-\(String(format: "%02d", month))-\(String(format: "%02d", i % 28 + 1)),\(i).00\n" }
    return s
}

/// Waits (up to 4 s) until `run` holds the lock of output folder `out`: its pid is in the
/// lock file's note.
func waitForLock(_ run: RetainBinary.Running, out: String) -> Bool {
    let pid = "pid \(run.process.processIdentifier)"
    for _ in 0..<400 {
        if (try? String(contentsOfFile: out + "/.retain.lock", encoding: .utf8))?.contains(pid) == true { return true }
        usleep(10_000)
    }
    return false
}

func json(_ path: String) throws -> [String: Any] {
    let data = try Data(contentsOf: URL(fileURLWithPath: path))
    return try JSONSerialization.jsonObject(with: data) as? [String: Any] ?? [:]
}

func ingestCounts(_ runJSON: [String: Any]) -> [String: Int] {
    let stages = runJSON["stages"] as? [String: Any]
    let ingest = stages?["ingest"] as? [String: Any]
    return ingest?["counts"] as? [String: Int] ?? [:]
}

/// The published files of an output folder and their contents, as a reader sees them
/// through the folder's top-level names (hidden files excluded).
func snapshot(_ dir: String) throws -> [String: Data] {
    var result: [String: Data] = [:]
    func walk(_ rel: String) throws {
        let full = rel.isEmpty ? dir : dir + "/" + rel
        for name in (try? FileManager.default.contentsOfDirectory(atPath: full)) ?? [] where !name.hasPrefix(".") {
            let r = rel.isEmpty ? name : rel + "/" + name
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: dir + "/" + r, isDirectory: &isDir) else { continue }
            if isDir.boolValue {
                if !(rel.isEmpty && name == "current") { try walk(r) }  // `current` is reached through the names
            } else {
                result[r] = try Data(contentsOf: URL(fileURLWithPath: dir + "/" + r))
            }
        }
    }
    try walk("")
    return result
}
