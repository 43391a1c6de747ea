import Foundation

/// Pipeline files for tests, written next to their inputs.
public enum TestPipeline {
    /// A pipeline for the CSV layout `order_id,customer_id,date,amount` (or with `columns`
    /// overridden), reading `inputs` (relative to the folder) into `out`.
    public static func csv(in folder: TemporaryFolder, name: String = "p.toml", inputs: [String], out: String = "out",
                           columns: String? = nil, extra: String = "", maxRejectShare: Double = 0.01) throws -> String {
        let cols = columns ?? """
            order_id = "order_id"
            customer_id = "customer_id"
            date = "date"
            amount = "amount"
            """
        let text = """
            [input]
            paths = [\(inputs.map { "\"\($0)\"" }.joined(separator: ", "))]
            date_format = "yyyy-MM-dd"
            \(extra)

            [input.columns]
            \(cols)

            [validation]
            max_reject_share = \(maxRejectShare)
            earliest_date = "2000-01-01"
            latest_date = "2030-12-31"

            [output]
            dir = "\(out)"
            """
        return try folder.write(name, text)
    }
}
