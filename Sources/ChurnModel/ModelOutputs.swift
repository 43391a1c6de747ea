import RetainIO

/// The files the churn model is published as, written here, by the module that makes them.
public enum ModelOutputs {
    /// The fitted model: terms and their recipes, coefficients, fit and quality (`ModelFile`).
    public static let modelFile = "model.json"
    /// term, coefficient, std_error, z, p_value: the coefficients on the matrix's scale.
    public static let coefficientsFile = "coefficients.csv"
    /// The exact matrix fitted, for refitting in another tool.
    public static let matrixFile = "training_matrix.csv"
    /// customer_id, churn_probability, then the scoring snapshot's features.
    public static let scoresFile = "scores.csv"

    /// Writes `coefficients.csv`, `training_matrix.csv` (rows of `design`, keys from `keys`)
    /// and `model.json`, each where `staging` puts that name.
    public static func write(_ file: ModelFile, design: DesignMatrix, keys: SnapshotColumns.Keys, staging: (String) throws -> String) throws {
        try AtomicFile.write(try staging(coefficientsFile)) { out in
            try CSVText.appendHeader(["term", "coefficient", "std_error", "z", "p_value"], to: out)
            for c in file.coefficients {
                try out.append(c.term)
                for v in [c.coefficient, c.stdError, c.z, c.pValue] { try out.append(byte: UInt8(ascii: ",")); try out.appendExact(v) }
                try out.append(byte: 0x0A)
            }
        }
        try AtomicFile.write(try staging(matrixFile), dropBehind: true) { out in
            try writeMatrix(design, keys: keys, to: out)
        }
        try AtomicFile.write(try staging(modelFile), contents: String(decoding: try file.encoded(), as: UTF8.self) + "\n")
    }

    /// `training_matrix.csv`: customer_id, one column per term (after transforms), churned;
    /// every value written so that it reads back as the double the fit used.
    static func writeMatrix(_ d: DesignMatrix, keys: SnapshotColumns.Keys, to out: OutputBuffer) throws {
        try CSVText.appendHeader(["customer_id"] + d.terms.map(\.name) + ["churned"], to: out)
        let labels = d.labels ?? DoubleColumn([])
        let q = d.width
        try d.withCells { cells in
            try ParallelRows.write(rows: d.rows, bytesPerRow: 12 * (q + 2), to: out) { lo, hi, b in
                try DesignMatrix.blocks(of: lo..<hi, width: q, cells) { v, rows in
                    for (k, i) in rows.enumerated() {
                        try keys.appendRawKey(i, to: b)
                        for j in 0..<q { try b.append(byte: UInt8(ascii: ",")); try b.appendExact(v[k * q + j]) }
                        try b.append(byte: UInt8(ascii: ","))
                        try b.append(byte: labels[i] == 1 ? UInt8(ascii: "1") : UInt8(ascii: "0"))
                        try b.append(byte: 0x0A)
                    }
                }
            }
        }
    }

    /// Writes `scores.csv` at `path`: per row of `snapshot` (read with `keepingRows`), its
    /// key, the probability `p[i]` (at most 9 decimals) and the snapshot's own numeric text.
    /// Returns the table as reading the file back gives it (the probabilities rounded as
    /// written), for a later stage of the same run.
    public static func writeScores(_ p: [Double], snapshot: CSVTable, to path: String) throws -> CSVTable {
        try AtomicFile.write(path) { out in
            try CSVText.appendHeader(["customer_id", "churn_probability"] + snapshot.names, to: out)
            try ParallelRows.write(rows: snapshot.count, bytesPerRow: 8 * (snapshot.names.count + 3), to: out) { lo, hi, b in
                for i in lo..<hi {
                    try snapshot.appendRawKey(i, to: b)
                    try b.append(byte: UInt8(ascii: ","))
                    try b.appendDecimal(p[i], maxDecimals: 9)
                    // The snapshot's own text: its numbers are already as `appendExact` writes them.
                    try snapshot.appendNumericFields(i, to: b)
                    try b.append(byte: 0x0A)
                }
            }
        }
        return CSVTable(path: path, keyName: "customer_id", names: ["churn_probability"] + snapshot.names,
                        columns: [p.map { FixedPoint.rounded($0, decimals: 9) }] + snapshot.columns,
                        keyBytes: snapshot.keyBytes, keyEnds: snapshot.keyEnds)
    }
}
