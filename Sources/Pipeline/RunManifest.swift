import Foundation
import Ledger
import RetainIO

/// `run.json`: what ran, on what, with what result (docs/CONTRACT.md).
public struct RunManifest: Codable, Sendable {
    /// One input as read or reused (written by `LedgerBuilder`).
    public typealias Input = LedgerBuilder.Input

    public struct StageRecord: Codable, Sendable {
        public var status: String
        public var seconds: Double
        public var cpuSeconds: Double
        public var peakMemoryMegabytes: Double
        public var counts: [String: Int]
        public var dates: [String: String]
        public var notes: [String]
        /// Measured quantities that are not counts (model quality, money), by name.
        public var measures: [String: Double]
        /// What the stage's outputs were made from (see `Lineage`).
        public var lineage: Lineage? = nil

        /// Tolerant of records written by other versions: a field missing there takes its
        /// default, and the earlier name `peak_memory_mb` is still read.
        public init(from decoder: any Decoder) throws {
            let c = try decoder.container(keyedBy: AnyKey.self)
            func get<T: Decodable>(_ key: String, _ fallback: T) throws -> T {
                try c.decodeIfPresent(T.self, forKey: AnyKey(key)) ?? fallback
            }
            status = try get("status", "unknown")
            seconds = try get("seconds", 0)
            cpuSeconds = try get("cpuSeconds", 0)
            peakMemoryMegabytes = try get("peakMemoryMegabytes", try get("peakMemoryMb", 0))
            counts = try get("counts", [:])
            dates = try get("dates", [:])
            notes = try get("notes", [])
            measures = try get("measures", [:])
            lineage = try c.decodeIfPresent(Lineage.self, forKey: AnyKey("lineage"))
        }

        public init(status: String = "succeeded", seconds: Double = 0, cpuSeconds: Double = 0, peakMemoryMegabytes: Double = 0,
                    counts: [String: Int] = [:], dates: [String: String] = [:], notes: [String] = [], measures: [String: Double] = [:]) {
            self.status = status; self.seconds = seconds; self.cpuSeconds = cpuSeconds; self.peakMemoryMegabytes = peakMemoryMegabytes
            self.counts = counts; self.dates = dates; self.notes = notes; self.measures = measures
        }
    }

    public struct Failure: Codable, Sendable {
        public var exitStatus: Int32
        public var message: String
    }

    public var retainVersion: String
    public var status: String
    public var startedAt: String
    public var finishedAt: String
    public var command: String
    public var pipeline: String
    public var pipelineHash: String
    public var outputDir: String
    public var asOf: String?
    public var inputs: [Input]
    /// Stage name to its record; stages not run by this invocation keep the record of
    /// the run that last produced their outputs.
    public var stages: [String: StageRecord]
    /// The stages this invocation finished, in order (a failed run's record says how far it got).
    public var stagesCompleted: [String]?
    /// Worker threads this invocation used (`Workers.count`); outputs do not depend on it.
    public var workers: Int?
    public var failure: Failure?
    /// Which engine read the rows, as the ingest stage that made the current artifacts ran it.
    public var engine: EngineRecord? = nil

    /// The engine of a run's row-level stages: `kind` retain or spark, and for Spark the
    /// command, the master, the XXH64 of the SQL it ran, the application id its log gave,
    /// where its results are (as retain reads them) and the as-of date they were made for.
    public struct EngineRecord: Codable, Sendable, Equatable {
        public var kind: String
        public var submit: String? = nil
        public var master: String? = nil
        public var sqlHash: String? = nil
        public var applicationId: String? = nil
        public var results: String? = nil
        public var asOf: String? = nil
        public var seconds: Double? = nil
    }

    public static let fileName = "run.json"

    public func encoded() throws -> String {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        enc.keyEncodingStrategy = .convertToSnakeCase
        return String(decoding: try enc.encode(self), as: UTF8.self) + "\n"
    }

    public static func load(_ path: String) throws -> RunManifest {
        let dec = JSONDecoder()
        dec.keyDecodingStrategy = .convertFromSnakeCase
        return try dec.decode(RunManifest.self, from: Data(try FilePath.readAll(path)))
    }
}

/// A coding key made from any string (for tolerant decoding).
struct AnyKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(_ s: String) { stringValue = s }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}
