/// Where two arrays first differ, or nil when they are equal: for
/// `#expect(firstDifference(a, b) == nil)` on long arrays (file bytes, whole matrices).
/// A failed `#expect(a == b)` makes Swift Testing explain the two arrays with an edit-script
/// diff, which on long arrays runs for many minutes (seen on two half-megabyte ledger parts); this
/// names the first differing index instead.
public func firstDifference<T: Equatable>(_ a: [T], _ b: [T]) -> String? {
    let n = min(a.count, b.count)
    var i = 0
    while i < n && a[i] == b[i] { i += 1 }
    if i < n { return "first difference at index \(i) of \(a.count) and \(b.count): \(a[i]) against \(b[i])" }
    return a.count == b.count ? nil : "lengths \(a.count) and \(b.count), equal up to \(n)"
}
