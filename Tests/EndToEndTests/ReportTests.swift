import Foundation
import Testing
import RetainTestSupport

/// report.html from real runs of the built binary.
@Suite("report.html")
struct ReportHTMLTests {
    static let script = "<script>alert(1)</script>"
    static let image = "\"><img src=x onerror=alert(1)>"

    /// The bundled sample with every customer id made hostile (a script tag, an attribute
    /// break-out, or an ampersand before the id) and four rows rejected for text that holds
    /// markup: the ids reach the most-at-stake table and the rows the rejects' examples.
    static func hostileSample(_ dir: TemporaryFolder) throws -> String {
        let lines = try String(contentsOfFile: RepoPaths.path("datasets/sample/transactions.csv"), encoding: .utf8).split(separator: "\n")
        var out = [String(lines[0])]
        for (i, line) in lines.dropFirst().enumerated() {
            var f = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            let n = Int(f[1].dropFirst()) ?? i
            let id = [script, image, "a&b'"][n % 3] + f[1]
            f[1] = "\"" + id.replacingOccurrences(of: "\"", with: "\"\"") + "\""
            out.append(f.joined(separator: ","))
        }
        // order_id,customer_id,date,product_id,quantity,amount,cost,discount,service_cost,channel
        out += ["x1,C1,\(script),P1,1,10.00,1.00,0.00,0.00,web", "x2,C2,2025-01-02,P1,1,\(image.replacingOccurrences(of: "\"", with: "")),1.00,0.00,0.00,web",
                "x3,\"\(script)\",not-a-date,P1,1,1.00,1.00,0.00,0.00,web", "x4,C4,2025-01-02,P1,1,<b>12</b>,1.00,0.00,0.00,web"]
        try dir.write("data/transactions.csv", out.joined(separator: "\n") + "\n")
        let pipeline = try String(contentsOfFile: RepoPaths.path("pipelines/sample.toml"), encoding: .utf8)
            .replacingOccurrences(of: "../datasets/sample/transactions.csv", with: "data/transactions.csv")
            .replacingOccurrences(of: "../out/sample", with: "out")
        return try dir.write("p.toml", pipeline)
    }

    @Test("hostile ids and rejected text are escaped: no markup of theirs reaches the page")
    func hostileIDsEscaped() throws {
        let dir = TemporaryFolder()
        let r = try RetainBinary.run(["run", try Self.hostileSample(dir), "--quiet"])
        #expect(r.status == 0, "\(r.stderr)")
        let html = try dir.read("out/report.html")
        #expect(!html.contains("<script") && !html.contains("<img") && !html.contains("<b>"))
        #expect(!html.contains("onerror=alert(1)>"))
        // The ids are there, escaped: in the most-at-stake table and in the rejects' examples.
        #expect(html.contains("<td>&lt;script&gt;alert(1)&lt;/script&gt;C"))
        #expect(html.contains("<td>&quot;&gt;&lt;img src=x onerror=alert(1)&gt;C"))
        #expect(html.contains("<td>a&amp;b&#39;C"))
        #expect(html.contains("&lt;b&gt;12&lt;/b&gt;"))
        let counts = ingestCounts(try json(dir.file("out/run.json")))
        #expect(counts["rows_rejected"] == 4)
        #expect(html.contains("<section id=\"rejects\" data-charts=\"1\">"))
    }

    @Test("every section is there; each says why when it has nothing to draw")
    func sectionsOfTheSample() throws {
        let dir = TemporaryFolder()
        let r = try RetainBinary.run(["run", RepoPaths.path("pipelines/sample.toml"), "--out", dir.file("out"), "--quiet"])
        #expect(r.status == 0, "\(r.stderr)")
        let html = try dir.read("out/report.html")
        func charts(_ id: String) -> Int? {
            html.components(separatedBy: "<section id=\"\(id)\" data-charts=\"").dropFirst().first
                .flatMap { Int($0.prefix { $0.isNumber }) }
        }
        #expect(charts("headline") == 0)
        // Five bars of the groups and a churn histogram per group.
        #expect(charts("groups") == 9)
        #expect(charts("history") == 1 && charts("cohorts") == 1)
        // Calibration, gains, lift, coefficients, the three models.
        #expect(charts("model") == 5)
        #expect(charts("value") == 2)
        #expect(charts("plans") == 0 && html.contains("No archived plan&#39;s horizon has passed"))
        #expect(charts("rejects") == 0 && html.contains("No row was rejected: all 49,558 rows read were accepted."))
        // Self-contained: no URL but the page's own anchors.
        #expect(!html.contains("://") && !html.contains("url(") && !html.contains("src="))
        #expect(html.components(separatedBy: "href=\"").dropFirst().allSatisfy { $0.hasPrefix("#") })
    }

    @Test("without model.json, value.json and evaluation.csv (--only report on such a folder): each section says what is missing")
    func withoutModelValueOrPlans() throws {
        let dir = TemporaryFolder()
        let out = dir.file("out")
        #expect(try RetainBinary.run(["run", RepoPaths.path("pipelines/sample.toml"), "--out", out, "--quiet"]).status == 0)
        for name in ["model.json", "value.json", "evaluation.csv"] { try FileManager.default.removeItem(atPath: out + "/current/" + name) }
        let r = try RetainBinary.run(["run", RepoPaths.path("pipelines/sample.toml"), "--out", out, "--only", "report", "--quiet"])
        #expect(r.status == 0, "\(r.stderr)")
        let html = try dir.read("out/report.html")
        #expect(html.contains("<section id=\"model\" data-charts=\"0\">") && html.contains("No model: model.json is not in this folder"))
        #expect(html.contains("<section id=\"value\" data-charts=\"0\">") && html.contains("No lifetime value: value.json is not in this folder"))
        #expect(html.contains("<section id=\"plans\" data-charts=\"0\">"))
        // What the other files hold is still drawn.
        #expect(html.contains("<section id=\"groups\" data-charts=\"9\">") && html.contains("<section id=\"cohorts\" data-charts=\"1\">"))
        #expect(!html.contains("AUC 0.7"))
    }
}
