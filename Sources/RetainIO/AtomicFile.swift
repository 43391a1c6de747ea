#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes a file so that readers see the old content or the new one, never a part:
/// the bytes go to a temporary file in the same folder, are `fsync`ed, and the temporary
/// is renamed over the target (atomic on POSIX within one file system), then the folder
/// is `fsync`ed so the rename survives a crash.
public enum AtomicFile {
    /// Writes through `body` into a temporary beside `path`, then renames it into place.
    /// On any error the temporary is removed and `path` is untouched. `dropBehind`: for a
    /// large output that no later stage reads back (see `OutputBuffer.dropBehind`).
    @discardableResult
    public static func write<R>(_ path: String, hashing: Bool = false, dropBehind: Bool = false,
                                _ body: (OutputBuffer) throws -> R) throws -> R {
        let tmp = temporaryPath(for: path)
        let fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw IOError.cannotWrite(path: path, reason: IOError.systemReason()) }
        let out = OutputBuffer(fd: fd, path: path, hashing: hashing, dropBehind: dropBehind)
        do {
            let r = try body(out)
            try out.close()
            try rename(tmp, to: path)
            return r
        } catch {
            _ = try? out.close(sync: false)
            unlink(tmp)
            throw error
        }
    }

    /// Writes the file a user named on the command line: a regular file (or a new name)
    /// atomically, as `write` does; a link as its target would be; a device, FIFO or socket
    /// (`/dev/stdout`, a pipe) by writing into it, since renaming over it would replace the
    /// node itself (as root, `/dev/full` became a regular file). A folder is refused.
    @discardableResult
    public static func writeNamed<R>(_ path: String, _ body: (OutputBuffer) throws -> R) throws -> R {
        var st = stat()
        guard stat(path, &st) == 0 else { return try write(FilePath.resolvingLink(path), body) }
        switch st.st_mode & S_IFMT {
        case S_IFREG:
            return try write(FilePath.resolvingLink(path), body)
        case S_IFDIR:
            throw IOError.cannotWrite(path: path, reason: "it is a folder; name a file")
        default:
            let fd = open(path, O_WRONLY | O_CLOEXEC)
            guard fd >= 0 else { throw IOError.cannotWrite(path: path, reason: IOError.systemReason()) }
            let out = OutputBuffer(fd: fd, path: path)
            do {
                let r = try body(out)
                try out.close(sync: false)
                return r
            } catch {
                _ = try? out.close(sync: false)
                throw error
            }
        }
    }

    /// Writes several files at once, each as `write` does: `body` gets their buffers in
    /// the order of `paths`. If `body` throws, none of them is touched.
    public static func write(_ paths: [String], dropBehind: Bool = false, _ body: ([OutputBuffer]) throws -> Void) throws {
        func open(_ k: Int, _ outs: [OutputBuffer]) throws {
            guard k < paths.count else { return try body(outs) }
            try write(paths[k], dropBehind: dropBehind) { out in try open(k + 1, outs + [out]) }
        }
        try open(0, [])
    }

    /// Writes a whole string atomically.
    public static func write(_ path: String, contents: String) throws {
        try write(path) { out in try out.append(contents) }
    }

    /// Renames `from` over `to` and makes the rename durable.
    public static func rename(_ from: String, to: String) throws {
        guard Glibc.rename(from, to) == 0 else {
            throw IOError.cannotWrite(path: to, reason: IOError.systemReason())
        }
        syncDirectory(containing: to)
    }

    /// A unique temporary name in the same folder (hidden, marked with the process id so
    /// a later run can tell its own leftovers from a live writer's).
    public static func temporaryPath(for path: String) -> String {
        let (dir, name) = FilePath.split(path)
        let prefix = dir.isEmpty ? "" : dir + "/"
        return "\(prefix).\(name).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
    }

    public static func syncDirectory(containing path: String) {
        let (dir, _) = FilePath.split(path)
        let fd = open(dir.isEmpty ? "." : dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd >= 0 { _ = fsync(fd); close(fd) }
    }
}

/// Small path helpers that do not need Foundation.
public enum FilePath {
    /// Splits `a/b/c.csv` into (`a/b`, `c.csv`).
    public static func split(_ path: String) -> (directory: String, name: String) {
        guard let slash = path.lastIndex(of: "/") else { return ("", path) }
        let dir = String(path[..<slash])
        return (dir.isEmpty ? "/" : dir, String(path[path.index(after: slash)...]))
    }

    public static func join(_ a: String, _ b: String) -> String {
        if b.hasPrefix("/") || a.isEmpty { return b }
        return a.hasSuffix("/") ? a + b : a + "/" + b
    }

    /// Creates `path` and its parents (like `mkdir -p`).
    public static func makeDirectories(_ path: String) throws {
        var current = path.hasPrefix("/") ? "/" : ""
        for part in path.split(separator: "/") {
            current = current.isEmpty || current == "/" ? current + part : current + "/" + part
            if mkdir(current, 0o755) != 0 && errno != EEXIST {
                throw IOError.cannotWrite(path: current, reason: IOError.systemReason())
            }
        }
    }

    public static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    public static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    /// Names in a folder (no `.` or `..`); empty when it cannot be read.
    public static func contents(of dir: String) -> [String] {
        guard let d = opendir(dir) else { return [] }
        defer { closedir(d) }
        var names: [String] = []
        while let e = readdir(d) {
            let name = withUnsafeBytes(of: e.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names.sorted()
    }

    /// `path`, or where the chain of links at `path` ends (so that an atomic write replaces
    /// the file a link names, not the link).
    public static func resolvingLink(_ path: String) -> String {
        var at = path
        for _ in 0..<40 {
            guard let target = linkTarget(at) else { return at }
            at = target.hasPrefix("/") ? target : join(split(at).directory, target)
        }
        return at
    }

    public static func isRegularFile(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG
    }

    /// The target of the symbolic link at `path`; nil when it is not one.
    public static func linkTarget(_ path: String) -> String? {
        var buffer = [CChar](repeating: 0, count: 4096)
        let n = readlink(path, &buffer, buffer.count)
        guard n >= 0 else { return nil }
        return String(decoding: buffer[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// A path that names something inside its base folder by its letters: relative, no
    /// empty, `.` or `..` component, no NUL.
    public static func isSafeRelative(_ relative: String) -> Bool {
        guard !relative.isEmpty, !relative.hasPrefix("/"), !relative.utf8.contains(0) else { return false }
        return relative.split(separator: "/", omittingEmptySubsequences: false).allSatisfy { !$0.isEmpty && $0 != "." && $0 != ".." }
    }

    /// Whether `base/relative` is reached without passing through a symbolic link (the
    /// last component included; missing components are fine).
    public static func noLinkOnTheWay(_ base: String, _ relative: String) -> Bool {
        var at = base
        for part in relative.split(separator: "/") {
            at = join(at, String(part))
            var st = stat()
            guard lstat(at, &st) == 0 else { return true }
            if (st.st_mode & S_IFMT) == S_IFLNK { return false }
        }
        return true
    }

    /// A second name for the file at `from` (a hard link), or a copy where the file system
    /// refuses links. Either way `to` appears whole: the copy is written atomically.
    public static func linkOrCopy(_ from: String, to: String) throws {
        if link(from, to) == 0 { return }
        try AtomicFile.write(to) { out in try forEachBlock(from) { try out.append($0) } }
    }

    /// `fsync` of every folder in the tree at `root` (the files in it were synced when
    /// written; the folders hold their new names and links).
    public static func syncTree(_ root: String) {
        for name in contents(of: root) where isDirectory(join(root, name)) && linkTarget(join(root, name)) == nil {
            syncTree(join(root, name))
        }
        let fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd >= 0 { _ = fsync(fd); close(fd) }
    }

    /// Removes a file or a whole folder tree; missing is fine. A link is removed itself,
    /// never followed.
    public static func remove(_ path: String) {
        var st = stat()
        guard lstat(path, &st) == 0 else { return }
        if (st.st_mode & S_IFMT) == S_IFDIR {
            for name in contents(of: path) { remove(join(path, name)) }
            rmdir(path)
        } else {
            unlink(path)
        }
    }

    /// Streams a file in 1 MiB blocks (for files that may be large).
    public static func forEachBlock(_ path: String, _ body: (UnsafeRawBufferPointer) throws -> Void) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw IOError.cannotRead(path: path, reason: IOError.systemReason()) }
        defer { close(fd) }
        let size = 1 << 20
        let buf = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: 64)
        defer { buf.deallocate() }
        while true {
            let n = read(fd, buf, size)
            if n < 0 {
                if errno == EINTR { continue }
                throw IOError.cannotRead(path: path, reason: IOError.systemReason())
            }
            if n == 0 { return }
            try body(UnsafeRawBufferPointer(start: buf, count: n))
        }
    }

    /// The first `bytes` bytes of a file (all of it when shorter): a look at the start of a
    /// file that may be large (the report's examples from rejects.csv).
    public static func readPrefix(_ path: String, bytes limit: Int) throws -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw IOError.cannotRead(path: path, reason: IOError.systemReason()) }
        defer { close(fd) }
        var failure: Int32 = 0
        let result = [UInt8](unsafeUninitializedCapacity: max(limit, 0)) { buffer, count in
            count = 0
            guard let base = buffer.baseAddress else { return }
            while count < limit {
                let n = read(fd, base + count, limit - count)
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = errno
                    return
                }
                if n == 0 { return }
                count += n
            }
        }
        if failure != 0 { throw IOError.cannotRead(path: path, reason: IOError.systemReason(failure)) }
        return result
    }

    /// Reads a whole file: pipeline files, manifests, and the CSVs a later stage reads back.
    /// The buffer is sized once from `fstat` and filled by large reads: growing an array
    /// 64 KiB at a time would copy an 80 MB CSV about twice over, into fresh memory each time.
    public static func readAll(_ path: String) throws -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw IOError.cannotRead(path: path, reason: IOError.systemReason()) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw IOError.cannotRead(path: path, reason: IOError.systemReason()) }
        let expected = max(Int(st.st_size), 0)
        var failure: Int32 = 0
        var result = [UInt8](unsafeUninitializedCapacity: expected) { buffer, count in
            count = 0
            guard let base = buffer.baseAddress else { return }
            while count < expected {
                let n = read(fd, base + count, min(expected - count, 1 << 30))
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = errno
                    return
                }
                if n == 0 { return }  // shorter than it was: what is there
                count += n
            }
        }
        if failure != 0 { throw IOError.cannotRead(path: path, reason: IOError.systemReason(failure)) }
        // A file that grew meanwhile (or reports no size, as some special files do): the rest.
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw IOError.cannotRead(path: path, reason: IOError.systemReason())
            }
            if n == 0 { break }
            result.append(contentsOf: chunk[0..<n])
        }
        return result
    }
}

/// What `stat` says of a file, to tell cheaply that it has not changed: a rewrite shows
/// in the size, the modification time or (a file replaced by rename) the inode.
public struct FileIdentity: Codable, Sendable, Equatable {
    public var bytes: UInt64
    public var modifiedNanoseconds: Int64
    public var inode: UInt64

    /// The identity of the file at `path` (links followed), nil when it cannot be read.
    public init?(path: String) {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        bytes = UInt64(st.st_size)
        modifiedNanoseconds = Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec)
        inode = UInt64(st.st_ino)
    }
}

/// Content identity of files.
public enum FileHash {
    /// XXH64 of a file's bytes, read in 1 MiB blocks (the same value `xxhsum -H64` prints).
    public static func xxh64(path: String) throws -> UInt64 {
        var hasher = XXH64()
        try FilePath.forEachBlock(path) { hasher.update($0) }
        return hasher.finish()
    }
}
