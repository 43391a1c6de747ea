/// `[engine]` with `kind = "spark"`: how retain hands the row-level work to Apache Spark.
///
/// ```toml
/// [engine]
/// kind = "spark"
/// submit = "spark-sql"          # or a cluster's wrapper, or "spark-submit"
/// master = "yarn"               # default local[*]
/// scratch = "s3a://bucket/retain-scratch"
/// scratch_mount = "/mnt/retain-scratch"   # where retain reads the same folder
///
/// [engine.conf]                 # each passed as --conf key=value
/// "spark.executor.memory" = "8g"
/// ```
public struct SparkSettings: Sendable, Equatable {
    /// The command, split into words (the first is looked up on PATH).
    public var submit: [String] = ["spark-sql"]
    public var master = "local[*]"
    /// `--conf` pairs, in key order (so the command, and the run, do not depend on the
    /// order the file lists them).
    public var conf: [Conf] = []
    /// Where Spark writes its results: any URI Spark writes.
    public var scratch: String
    /// The same folder as retain reads it: a local or mounted path.
    public var scratchMount: String

    public init(scratch: String, scratchMount: String) {
        self.scratch = scratch
        self.scratchMount = scratchMount
    }

    /// One Spark setting, passed as `--conf key=value`.
    public struct Conf: Sendable, Equatable {
        public var key: String
        public var value: String
        public init(_ key: String, _ value: String) { self.key = key; self.value = value }
    }
}

/// What Spark reads: files (any URI or glob Spark reads) or a table of its catalogue.
public enum SparkInput: Sendable, Equatable {
    case paths([String])
    case table(String)
}
