import RetainIO

extension CivilDate {
    /// Parses `YYYY-MM-DD` (pipeline settings, `--as-of`).
    public static func parseISO(_ s: String) -> Int32? {
        let b = Array(s.utf8)
        guard b.count == 10 else { return nil }
        return b.withUnsafeBytes { DateFormat.iso.parse($0.baseAddress!, count: 10) }
    }
}
