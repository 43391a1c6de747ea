import Foundation
import RetainIO

/// `ledger/index.json`: which input file became which part. Later stages read the ledger
/// through it; a rerun uses it to skip inputs whose content it has already parsed.
public struct LedgerManifest: Codable, Sendable, Equatable {
    public struct Entry: Codable, Sendable, Equatable {
        /// The input's absolute path when it was read.
        public var input: String
        /// Part and rejects file names, inside `ledger/parts/`.
        public var part: String
        public var rejects: String
        /// The format fingerprint the part was parsed under.
        public var format: String
        public var summary: PartSummary
        /// The part's key file (order lines' keys, for duplicates across inputs), if any.
        public var keys: String?
        /// Rows of this part that repeat an earlier input's lines: left out of the ledger.
        public var crossFileDuplicates: [UInt32]?
        /// The input's identity when it was read (size, modification time in nanoseconds,
        /// inode): while all three match, the file is taken as unchanged without hashing it.
        public var identity: FileIdentity?

        public init(input: String, part: String, rejects: String, format: String, summary: PartSummary,
                    keys: String? = nil, crossFileDuplicates: [UInt32]? = nil) {
            self.input = input; self.part = part; self.rejects = rejects; self.format = format; self.summary = summary
            self.keys = keys; self.crossFileDuplicates = crossFileDuplicates
        }
    }

    public var version = 1
    public var ledgerFormat = Int(LedgerFormat.version)
    public var entries: [Entry]

    public init(entries: [Entry]) { self.entries = entries }

    public static let relativePath = "ledger/index.json"
    public static let partsFolder = "ledger/parts"

    /// Reads the manifest of the ledger in output folder `dir`.
    public static func load(outputDir dir: String) throws -> LedgerManifest {
        let path = FilePath.join(dir, relativePath)
        let bytes: [UInt8]
        do { bytes = try FilePath.readAll(path) } catch {
            throw LedgerError.inputUnreadable(path: path, reason: "no ledger here; run the ingest stage first")
        }
        do {
            let m = try JSONDecoder().decode(LedgerManifest.self, from: Data(bytes))
            guard m.ledgerFormat == Int(LedgerFormat.version) else {
                throw LedgerError.foreignVersion(path: path, found: UInt32(clamping: m.ledgerFormat), expected: LedgerFormat.version)
            }
            return m
        } catch let e as LedgerError {
            throw e
        } catch {
            throw LedgerError.corrupt(path: path, reason: "not a ledger manifest (\(error))")
        }
    }

    public func encoded() throws -> String {
        let enc = JSONEncoder()
        enc.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try enc.encode(self), as: UTF8.self) + "\n"
    }

    /// The ledger as later stages read it: every part, less the lines repeated across inputs.
    public func view(outputDir dir: String, alsoIn dirs: [String] = [], numbering: LedgerView.Numbering = .byID) throws -> LedgerView {
        try LedgerView(parts: openParts(outputDir: dir, alsoIn: dirs), deletions: entries.map { $0.crossFileDuplicates ?? [] },
                       numbering: numbering)
    }

    /// Opens every part (checks each header and footer), looking in `dirs` in order (a
    /// run's staging folder first: parts it parsed are there until it publishes).
    public func openParts(outputDir dir: String, alsoIn dirs: [String] = []) throws -> [LedgerPart] {
        try entries.map { e in
            let candidates = (dirs + [dir]).map { FilePath.join(FilePath.join($0, Self.partsFolder), e.part) }
            let path = candidates.first(where: FilePath.exists) ?? candidates[candidates.count - 1]
            return try LedgerPart(path: path)
        }
    }
}
