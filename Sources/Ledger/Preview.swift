import RetainIO
#if canImport(Glibc)
import Glibc
#endif

/// What `Ingestor.preview` found in the first rows of an input.
public struct Preview: Sendable {
    /// Header names (empty without a header) and where each mapped role was found (0-based).
    public var header: [String]
    public var positions: [Role: Int]
    public var rowsChecked: Int
    public var rowsAccepted: Int
    public var rejects: [(line: Int, reason: RejectReason, detail: String)]
}

extension Ingestor {
    /// Checks the header mapping and the first `maxRows` data rows of `inputPath` with the
    /// same parser ingest uses, writing nothing.
    public func preview(inputPath: String, maxRows: Int) throws -> Preview {
        let source = try InputSource(path: inputPath)
        let capacity = 4 << 20
        let block = UnsafeMutableRawPointer.allocate(byteCount: capacity + 64, alignment: 64)
        defer { block.deallocate() }
        var filled = 0
        while filled < capacity {
            let n = try source.read(into: block + filled, count: capacity - filled)
            if n == 0 { break }
            filled += n
        }
        // Keep whole lines only, and at most the header plus maxRows lines.
        var end = filled == capacity ? (lastNewline(block, filled).map { UnsafeRawPointer(block).distance(to: UnsafeRawPointer($0)) + 1 } ?? filled) : filled
        var lines = 0, i = 0
        let limit = maxRows + (format.hasHeader ? 1 : 0)
        while i < end {
            if block.load(fromByteOffset: i, as: UInt8.self) == 0x0A {
                lines += 1
                if lines == limit { end = i + 1; break }
            }
            i += 1
        }
        let (parser, consumed) = try makeParser(block: block, end: end, path: inputPath, channels: ChannelRegistry())
        let batch = Batch(rows: 1 << 10)
        parser.parse(block: block, from: consumed, to: end, into: batch)
        let base = consumed > 0 ? 1 : 0
        var header: [String] = []
        if format.hasHeader {
            var text = String(decoding: UnsafeRawBufferPointer(start: block, count: max(0, consumed - 1)), as: UTF8.self)
            if text.hasSuffix("\r") { text.removeLast() }
            header = HeaderLine.split(text, delimiter: format.delimiter)
        }
        return Preview(header: header, positions: parser.positions, rowsChecked: batch.count + batch.rejects.count,
                       rowsAccepted: batch.count, rejects: batch.rejects.map { (base + Int($0.line), $0.reason, $0.detail) })
    }
}
