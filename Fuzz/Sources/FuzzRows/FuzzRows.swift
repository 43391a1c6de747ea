import Foundation
import FuzzSupport
import Ledger
import RetainIO

/// One fuzz input: 6 bytes of options (delimiter, header, date format, decimal mark,
/// optional columns, block size), then the log's text. Ingest must never crash, must
/// account for every row (read = accepted + rejected), and the part it writes must read
/// back with as many rows as it accepted.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRows(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    guard size >= 6 else { return 0 }
    let o = Array(UnsafeBufferPointer(start: data, count: 6))
    let patterns = ["yyyy-MM-dd", "yyyyMMdd", "dd/MM/yyyy", "iso8601", "yyyy-MM-dd HH:mm:ss", "M/d/yyyy"]
    guard let dates = DateFormat(pattern: patterns[Int(o[2]) % patterns.count]) else { return 0 }
    var format = InputFormat(dateFormat: dates, earliestDay: 0, latestDay: 30_000)
    let delimiters: [Delimiter] = [.byte(UInt8(ascii: ",")), .byte(UInt8(ascii: ";")), .byte(0x09), .byte(UInt8(ascii: "|")), .whitespace]
    format.delimiter = delimiters[Int(o[0]) % delimiters.count]
    format.hasHeader = o[1] & 1 == 0
    format.decimalMark = o[3] & 1 == 0 ? UInt8(ascii: ".") : UInt8(ascii: ",")
    if case .byte(let d) = format.delimiter, d == format.decimalMark { format.decimalMark = UInt8(ascii: ".") }
    // Required roles, then optional ones chosen by the bits of o[4]; by name or position.
    var roles: [Role] = [.customerID, .date, .amount]
    for (bit, role) in [Role.orderID, .quantity, .cost, .discount, .serviceCost, .channel].enumerated() where o[4] >> bit & 1 == 1 {
        roles.append(role)
    }
    for (k, role) in roles.enumerated() {
        format.columns[role] = format.hasHeader && o[1] & 2 == 0 ? .name(role.rawValue) : .position(k + 1)
    }
    var ingestor = Ingestor(format: format)
    ingestor.blockBytes = 64 << Int(o[5] % 8)      // 64 B to 8 KiB: every block edge is near
    ingestor.parallelThreshold = o[5] & 8 == 0 ? 0 : 1 << 18
    ingestor.duplicateMemoryLimit = 1 << 12       // spills early
    ingestor.duplicatePageRecords = 16
    ingestor.batchRows = 16                       // both grow as needed
    ingestor.initialCustomers = 16

    let dir = Scratch.folder
    let input = Scratch.write("in.csv", data + 6, size - 6)
    let part = dir + "/p", rejects = dir + "/r", keys = dir + "/k"
    do {
        let s = try ingestor.ingest(inputPath: input, partPath: part, rejectsPath: rejects, keysPath: roles.contains(.orderID) ? keys : nil)
        precondition(s.rowsRead == s.rowsAccepted + s.rowsRejected, "rows lost: \(s)")
        let ledger = try LedgerPart(path: part)
        var rows = 0
        try ledger.forEachChunk { rows += $0.count }
        precondition(rows == s.rowsAccepted, "the part holds \(rows) rows, ingest accepted \(s.rowsAccepted)")
    } catch is LedgerError {
        // A clear error (a header that does not match the mapping) is a right answer.
    } catch {
        fatalError("an error that is not a LedgerError: \(error)")
    }
    return 0
}
