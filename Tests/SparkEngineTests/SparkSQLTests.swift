import Features
import Foundation
import Ledger
import RetainIO
import Segmentation
import Testing
@testable import SparkEngine

/// The definitions the Spark script is generated from, checked against retain's own
/// parsers: where `parse` accepts a text, the expression Spark evaluates accepts it and
/// reads the same parts; where it refuses, so does the expression. ICU's regular
/// expressions (NSRegularExpression) share this syntax with Java's, which Spark uses.
@Suite("Spark SQL from retain's definitions")
struct SparkSQLTests {
    static func matches(_ pattern: String, _ text: String) -> [String]? {
        guard let re = try? NSRegularExpression(pattern: pattern),
              let m = re.firstMatch(in: text, range: NSRange(text.startIndex..., in: text)) else { return nil }
        return (0..<m.numberOfRanges).map { i in Range(m.range(at: i), in: text).map { String(text[$0]) } ?? "" }
    }

    static func parse(_ f: DateFormat, _ text: String) -> Int32? {
        var cache = DateCache()
        var bytes = Array(text.utf8) + [UInt8](repeating: 0, count: 16)
        return bytes.withUnsafeMutableBytes { b in f.parse(UnsafeRawPointer(b.baseAddress!), count: text.utf8.count, cache: &cache) }
    }

    @Test("a date pattern's expression accepts the shapes parse accepts and captures the same day",
          arguments: ["yyyy-MM-dd", "yyyyMMdd", "dd/MM/yyyy", "d.M.yyyy", "iso8601", "yyyy-MM-dd HH:mm:ss", "MM/dd/yyyy'T'HH:mm"])
    func dates(pattern: String) throws {
        let f = try #require(DateFormat(pattern: pattern))
        let texts = ["2023-01-02", "20230102", "02/01/2023", "2.1.2023", "02.01.2023", "2023-01-02T10:11:12Z", "2023-01-02 10:11",
                     "2023-01-02 10:11:12", "01/02/2023T10:11", "2023-1-2", "2023-13-02", "2023-02-30", "23-01-02", "2023-01-02x",
                     " 2023-01-02", "2023/01/02", "", "2023-01-02T25:00", "2023-01-02 10:11:12.345+01:00", "20231302"]
        let g = f.groups
        for t in texts {
            let day = Self.parse(f, t)
            let m = Self.matches(f.regularExpression, t)
            if let day {
                let parts = try #require(m, "\(pattern): \(t) parses but the expression does not match")
                let (y, mo, d) = CivilDate.civil(day)
                #expect(Int(parts[g.year]) == y && Int(parts[g.month]) == mo && Int(parts[g.day]) == d, "\(pattern): \(t)")
            } else if let parts = m {
                // The shape matches: then the day itself is not real, as Spark's make_date finds.
                let real = CivilDate.day(year: Int(parts[g.year]) ?? 0, month: Int(parts[g.month]) ?? 0, day: Int(parts[g.day]) ?? 0)
                #expect(real == nil, "\(pattern): \(t) is refused by parse but matches as a real day")
            }
        }
    }

    @Test("the decimal expression accepts exactly what DecimalText.parse accepts", arguments: [UInt8(ascii: "."), UInt8(ascii: ",")])
    func decimals(mark: UInt8) {
        let m = Character(UnicodeScalar(mark))
        let texts = ["1", "12.5", "-3", "+4", ".5", "5.", "-.5", "+", "-", "", ".", "1e3", "1.2.3", " 1", "1 ", "0x10", "١٢", "12,5", "1,2,3",
                     "99999999999999999999.5", "007", "-0", "NaN", "inf"].map { $0.replacingOccurrences(of: ".", with: String(m)) }
        for t in texts {
            let parsed = Array(t.utf8).withUnsafeBytes { b in b.baseAddress.flatMap { DecimalText.parse($0, count: b.count, mark: mark) } }
            let matched = Self.matches(DecimalText.regularExpression(mark: mark), t) != nil
            #expect((parsed != nil) == matched, "\(t): parse \(String(describing: parsed)), expression \(matched)")
        }
    }

    static func format(orders: Bool) -> InputFormat {
        var f = InputFormat(dateFormat: .iso, earliestDay: 0, latestDay: 30_000)
        f.columns = [.customerID: .name("customer_id"), .date: .name("date"), .amount: .name("amount"),
                     .cost: .name("cost"), .discount: .name("discount"), .serviceCost: .name("service_cost")]
        if orders { f.columns[.orderID] = .name("order_id") }
        return f
    }

    @Test("the script names every reason retain rejects for, and every feature and summary column")
    func coverage() {
        let sql = SparkSQL(input: .paths(["/data/*.csv"]), format: Self.format(orders: true), features: FeatureSettings(),
                           segment: SegmentSettings(), asOf: nil, plans: [(20_000, 20_090)], output: "/scratch/run/").script
        for r in RejectReason.allCases { #expect(sql.contains("'\(r.rawValue)'"), "no \(r.rawValue)") }
        for f in Feature.allCases where f.formula != nil { #expect(sql.contains(" AS \(f.rawValue)"), "no \(f.rawValue)") }
        for c in CustomerBase.columns { #expect(sql.contains("AS `\(c)`")) }
        for folder in ["counts", "rejects", "span", "snapshot_training", "snapshot_validation", "snapshot_scoring", "history", "cohorts", "outcome_20000"] {
            #expect(sql.contains("'/scratch/run/\(folder)'"), "no \(folder)")
        }
        #expect(sql.contains("SET spark.sql.ansi.enabled=false;"))
        // Without order ids every purchase row is an order, and no line is a duplicate.
        let plain = SparkSQL(input: .paths(["/a.csv"]), format: Self.format(orders: false), features: FeatureSettings(),
                             segment: SegmentSettings(), asOf: 19_000, output: "/s").script
        #expect(!plain.contains("'duplicate_line'") && !plain.contains("'missing_order_id'"))
        #expect(plain.contains("least(19000, last_day)"))
    }

    @Test("a feature's SQL is its formula: the guard, the operands and their order")
    func formulaText() {
        let sql = SparkSQL(input: .table("sales.transactions"), format: Self.format(orders: true), features: FeatureSettings(),
                           segment: SegmentSettings(), asOf: nil, output: "/s").script
        #expect(sql.contains("CASE WHEN CAST(s.orders AS DOUBLE) > CAST(1 AS DOUBLE) THEN ((CAST(s.last_purchase_day AS DOUBLE) - CAST(s.first_purchase_day AS DOUBLE)) / (CAST(s.orders AS DOUBLE) - CAST(1 AS DOUBLE))) ELSE NULL END"))
        #expect(sql.contains("FROM sales.transactions"))
    }

    @Test("a string literal keeps quotes and backslashes")
    func literals() {
        #expect(SQLText.literal("it's \\x2c") == "'it\\'s \\\\x2c'")
        #expect(SQLText.number(0.25) == "0.25D" && SQLText.number(3) == "3")
    }
}

@Suite("Spark's log")
struct SparkLogTests {
    @Test("the application id, from spark-sql's line or a cluster's id")
    func applicationID() {
        #expect(SparkJob.applicationID("x\nSpark master: local[2], Application Id: local-1796191104306\ny") == "local-1796191104306")
        #expect(SparkJob.applicationID("INFO Client: Submitted application application_1700000000000_0042") == "application_1700000000000_0042")
        #expect(SparkJob.applicationID("nothing here") == nil)
    }

    @Test("the error line is Spark's own, and a missing path is a missing input")
    func errors() {
        let log = """
            26/12/02 06:22:34 WARN Utils: Your hostname resolves to a loopback address
            [PATH_NOT_FOUND] Path does not exist: file:/data/missing.csv.
            \tat org.apache.spark.sql.errors.QueryCompilationErrors$.dataPathNotExistError(QueryCompilationErrors.scala:1500)
            """
        let line = SparkJob.errorLine(log)
        #expect(line == "[PATH_NOT_FOUND] Path does not exist: file:/data/missing.csv.")
        #expect(SparkJob.isMissingInput(line ?? ""))
        let other = SparkJob.errorLine("Exception in thread \"main\" org.apache.spark.SparkException: Could not parse Master URL: 'bogus'")
        #expect(other?.contains("Could not parse Master URL") == true)
        #expect(!SparkJob.isMissingInput(other ?? ""))
    }

    @Test("spark-submit gets the SQL driver class; spark-sql only the options")
    func arguments() {
        var s = SparkSettings(scratch: "/s", scratchMount: "/s")
        s.conf = [.init("spark.a", "1")]
        #expect(SparkJob(settings: s, folder: "/").arguments(script: "/q.sql") == ["--master", "local[*]", "--conf", "spark.a=1", "-f", "/q.sql"])
        s.submit = ["/opt/spark/bin/spark-submit", "--deploy-mode", "client"]
        #expect(SparkJob(settings: s, folder: "/").arguments(script: "/q.sql")
            == ["--deploy-mode", "client", "--master", "local[*]", "--conf", "spark.a=1", "--class", SparkJob.cliDriver, "spark-internal", "-f", "/q.sql"])
    }
}
