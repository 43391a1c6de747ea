/// The on-disk layout of a ledger part: the parsed rows of one input file.
///
/// ```
/// header   magic "RETAINLG" | version u32 | column mask u32 | 48 bytes reserved   (64 bytes)
/// chunks   "ROWS" | rows u32 | column mask u32 | order runs u32 | payload bytes u64, then each
///          present column as one `ColumnCodec` stream: customer slot, day, amount, order,
///          quantity, cost, discount, service cost, channel (at most `maxChunkRows` rows)
/// dels     "DELS" | count u32 | row u32[count] (padded): rows removed after writing (the
///          later copies of exact duplicate lines), in increasing order
/// dict     "DICT" | partitions u32 | 0 u64 | 0 u64, then per partition:
///          ids u32 | 0 u32 | arena bytes u64 | offsets u32[ids + 1] | bytes (padded)
/// channels "CHAN" | count u32 | arena bytes u64 | 0 u64 | offsets u32[count + 1] | bytes (padded)
///          (channel codes number the names in the order they first appear in the file)
/// footer   "FOOT" | 0 u32 | rows written u64 | chunks u64 | dels offset u64 | dict offset u64
///          | chan offset u64 | min day i32 | max day i32 | source hash u64 | checksum u64
///          | magic   (80 bytes)
/// ```
/// Little-endian. `checksum` is the XXH64 of every byte before it. A row's customer value
/// is a slot: partition `slot % partitions`, id number `slot / partitions` in it (ingest
/// partitions customers by id hash into a fixed number of partitions, and writes one
/// chunk per block it reads, so a part does not depend on the worker count). A reader maps
/// slots to its own dense customer numbers; a slot past its partition's ids is empty.
///
/// The columns are stored compactly (narrowest bit width per chunk, amounts as integer
/// cents, order ids once per run of lines): a part is under a third of its CSV, so a log
/// of 100 million rows still reads back from the page cache, and a reader's passes move
/// a third of the bytes plain 8-byte columns would.
public enum LedgerFormat {
    public static let version: UInt32 = 3
    static let magic: UInt64 = 0x474C_4E49_4154_4552  // "RETAINLG" little-endian
    static let rowsTag: UInt32 = 0x5357_4F52   // "ROWS"
    static let dictTag: UInt32 = 0x5443_4944   // "DICT"
    static let chanTag: UInt32 = 0x4E41_4843   // "CHAN"
    static let footTag: UInt32 = 0x544F_4F46   // "FOOT"
    static let delsTag: UInt32 = 0x534C_4544   // "DELS"
    static let headerSize = 64
    /// A chunk's head: tag, rows, column mask, order-id runs (0 without order ids), payload bytes.
    static let chunkHeadSize = 24
    /// Rows in a chunk at most (a block with more is written as several chunks): bounds
    /// what a reader allocates for one chunk, whatever a damaged part claims.
    static let maxChunkRows = 1 << 20
    static let footerSize = 80

    /// Optional columns, as bits of the column mask (customer, day, amount always present).
    public struct Columns: OptionSet, Sendable, Hashable {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }
        public static let order = Columns(rawValue: 1 << 0)
        public static let quantity = Columns(rawValue: 1 << 1)
        public static let cost = Columns(rawValue: 1 << 2)
        public static let discount = Columns(rawValue: 1 << 3)
        public static let serviceCost = Columns(rawValue: 1 << 4)
        public static let channel = Columns(rawValue: 1 << 5)

        /// The optional numeric columns in storage order, with their roles.
        public static let numeric: [(Columns, Role)] = [
            (.quantity, .quantity), (.cost, .cost), (.discount, .discount), (.serviceCost, .serviceCost),
        ]

        public init(roles: some Sequence<Role>) {
            var c: Columns = []
            for r in roles {
                switch r {
                case .orderID: c.insert(.order)
                case .quantity: c.insert(.quantity)
                case .cost: c.insert(.cost)
                case .discount: c.insert(.discount)
                case .serviceCost: c.insert(.serviceCost)
                case .channel: c.insert(.channel)
                default: break
                }
            }
            self = c
        }
    }

    @inline(__always) static func padded(_ n: Int) -> Int { (n + 7) & ~7 }
}

extension LedgerFormat.Columns {
    /// The pipeline role name of a single optional column.
    public var label: String {
        switch self {
        case .discount: return "discount"
        case .cost: return "cost"
        case .serviceCost: return "service_cost"
        case .order: return "order_id"
        case .quantity: return "quantity"
        case .channel: return "channel"
        default: return "optional"
        }
    }
}
