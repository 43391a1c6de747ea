import CZlib
import RetainIO
#if canImport(Glibc)
import Glibc
#endif

/// Reads one input file in large blocks, plain or gzip-compressed, while hashing the raw
/// bytes on disk (the file's content identity, computed in the same pass as the parse).
///
/// Blocks keep memory bounded whatever the file size; a `read` into a reused buffer costs
/// one copy from the page cache, which is small next to parsing (and unlike `mmap` does not
/// count the whole file in the process's resident memory).
final class InputSource: @unchecked Sendable {
    let path: String
    private let fd: Int32
    private let gzip: Bool
    private var hasher = XXH64()
    private(set) var rawBytes: UInt64 = 0
    private var zstream = z_stream()
    private var zin: UnsafeMutableRawPointer?
    private let zinCapacity = 1 << 20
    private var zeof = false
    private var zdone = false

    init(path: String) throws {
        self.path = path
        fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw LedgerError.inputUnreadable(path: path, reason: IOError.systemReason()) }
        var magic: (UInt8, UInt8) = (0, 0)
        let descriptor = fd
        let n = withUnsafeMutableBytes(of: &magic) { pread(descriptor, $0.baseAddress, 2, 0) }
        gzip = n == 2 && magic.0 == 0x1F && magic.1 == 0x8B
        if gzip {
            zin = UnsafeMutableRawPointer.allocate(byteCount: zinCapacity, alignment: 16)
            // 15 + 32: accept zlib or gzip headers; members are concatenated below.
            let rc = inflateInit2_(&zstream, 15 + 32, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
            guard rc == Z_OK else { close(fd); throw LedgerError.inputUnreadable(path: path, reason: "zlib could not start (\(rc))") }
        }
    }

    deinit {
        if gzip { inflateEnd(&zstream); zin?.deallocate() }
        close(fd)
    }

    /// The size of the content to expect, for sizing tables: the file size, or four times
    /// it for gzip (a typical ratio for CSV; an estimate only).
    var totalBytesEstimate: Int {
        var st = stat()
        guard fstat(fd, &st) == 0 else { return 0 }
        return Int(st.st_size) * (gzip ? 4 : 1)
    }

    /// The XXH64 of the raw file bytes; valid once `read` has returned 0.
    var contentHash: UInt64 { hasher.finish() }

    private func readRaw(_ dst: UnsafeMutableRawPointer, _ count: Int) throws -> Int {
        while true {
            let n = Glibc.read(fd, dst, count)
            if n < 0 {
                if errno == EINTR { continue }
                throw LedgerError.inputUnreadable(path: path, reason: IOError.systemReason())
            }
            if n > 0 { hasher.update(UnsafeRawBufferPointer(start: dst, count: n)); rawBytes += UInt64(n) }
            return n
        }
    }

    /// Fills up to `count` bytes of (decompressed) content; 0 at the end.
    func read(into dst: UnsafeMutableRawPointer, count: Int) throws -> Int {
        guard gzip else {
            var got = 0
            while got < count {
                let n = try readRaw(dst + got, count - got)
                if n == 0 { break }
                got += n
            }
            return got
        }
        guard let zin else { return 0 }
        if zdone { return 0 }
        zstream.next_out = dst.assumingMemoryBound(to: Bytef.self)
        zstream.avail_out = uInt(count)
        while zstream.avail_out > 0 {
            if zstream.avail_in == 0 && !zeof {
                let n = try readRaw(zin, zinCapacity)
                if n == 0 { zeof = true } else {
                    zstream.next_in = zin.assumingMemoryBound(to: Bytef.self)
                    zstream.avail_in = uInt(n)
                }
            }
            if zstream.avail_in == 0 && zeof {
                // Input ended: it must have ended exactly at a member's end.
                if zstream.total_in == 0 && zstream.total_out == 0 { zdone = true; break }
                throw LedgerError.inputUnreadable(path: path, reason: "the gzip data ends early (truncated file)")
            }
            let rc = inflate(&zstream, Z_NO_FLUSH)
            if rc == Z_STREAM_END {
                // Another gzip member may follow (concatenated .gz files are valid gzip).
                if zstream.avail_in == 0 {
                    let n = try readRaw(zin, zinCapacity)
                    if n == 0 { zeof = true; zdone = true; break }
                    zstream.next_in = zin.assumingMemoryBound(to: Bytef.self)
                    zstream.avail_in = uInt(n)
                }
                let savedIn = zstream.next_in, savedAvail = zstream.avail_in
                let savedOut = zstream.next_out, savedAvailOut = zstream.avail_out
                inflateReset(&zstream)
                zstream.next_in = savedIn; zstream.avail_in = savedAvail
                zstream.next_out = savedOut; zstream.avail_out = savedAvailOut
                continue
            }
            if rc == Z_BUF_ERROR && zstream.avail_in == 0 && !zeof { continue }
            guard rc == Z_OK else {
                throw LedgerError.inputUnreadable(path: path, reason: "the gzip data is corrupt (zlib error \(rc))")
            }
        }
        return count - Int(zstream.avail_out)
    }
}
