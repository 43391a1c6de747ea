import Foundation
import RetainTestSupport
import Testing

/// docs/CONTRACT.md stays true to the code: every CSV its output table lists is written by
/// a run of the sample, and its header begins with the listed columns in that order.
@Suite("docs/CONTRACT.md against the binary")
struct ContractTests {
    /// The table rows of docs/CONTRACT.md: file name and its listed columns.
    static func promisedColumns() throws -> [(file: String, columns: [String])] {
        let text = try String(contentsOfFile: RepoPaths.path("docs/CONTRACT.md"), encoding: .utf8)
        var result: [(String, [String])] = []
        for line in text.split(separator: "\n") where line.hasPrefix("| `") && line.contains(".csv`") {
            let cells = line.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count >= 3 else { continue }
            let file = cells[0].trimmingCharacters(in: CharacterSet(charactersIn: "`"))
            let columns = cells[2] == "as customers.csv" ? nil : cells[2].split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            result.append((file, columns ?? result.first { $0.0 == "customers.csv" }?.1 ?? []))
        }
        return result
    }

    @Test("each CSV of the contract's table is written, with its columns first and in order")
    func headers() throws {
        let promised = try Self.promisedColumns()
        #expect(promised.count >= 9, "the table was read: \(promised.map(\.file))")
        let dir = TemporaryFolder()
        let r = try RetainBinary.run(["run", RepoPaths.path("pipelines/sample.toml"), "--out", dir.file("out"), "--quiet"])
        #expect(r.status == 0, "\(r.stderr)")
        for (file, columns) in promised {
            let path = file.replacingOccurrences(of: "<segment>", with: "drop").replacingOccurrences(of: "<as-of>", with: "2025-12-31")
            let text = try dir.read("out/" + path)
            let header = text.prefix { $0 != "\n" }.split(separator: ",").map(String.init)
            #expect(Array(header.prefix(columns.count)) == columns, "\(file): \(header)")
        }
    }
}
