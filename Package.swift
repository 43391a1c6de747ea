// swift-tools-version: 6.0
import PackageDescription

// Retain: transaction logs -> churn forecast -> retention plan.
// One library per stage concern; C libraries behind system-library targets;
// the `retain` executable is a thin ArgumentParser layer over `Pipeline`.
// Linux only: the I/O and memory code calls Glibc (and Linux's madvise, sync_file_range,
// sched_getaffinity) directly.
//
// Exclusivity checks are off in RetainIO, Ledger and Features: their hot loops read class
// properties per row or per number written, the code never overlaps those accesses, and
// bench/README.md's current results measure the checks at about a fifth of a whole run.
let package = Package(
    name: "Retain",
    products: [
        .executable(name: "retain", targets: ["retain"]),
        // For the fuzz targets in Fuzz/ (a package of their own, built with libFuzzer).
        .library(name: "RetainLibraries", targets: ["Ledger", "Pipeline", "RetainIO"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        // Mustache templates for report.html: `{{ }}` HTML-escapes every value (text and
        // attributes alike), so input never becomes markup.
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
    ],
    targets: [
        // System libraries (Debian: libopenblas-dev, liblapacke-dev, zlib1g-dev).
        .systemLibrary(name: "CBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CLAPACKE", pkgConfig: "lapacke",
                       providers: [.apt(["liblapacke-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib",
                       providers: [.apt(["zlib1g-dev"])]),

        // System facilities Swift cannot spell: prefetch, writeback control (start early, drop
        // behind), malloc policy, idle-priority threads, and a 64-byte byte search (SSE2 movemask).
        .target(name: "CSupport"),
        // Safe Swift layer over BLAS/LAPACK: the only code that touches their pointers.
        .target(name: "Linalg", dependencies: ["CBLAS", "CLAPACKE"]),
        // Byte-level I/O shared by every stage: hashing, buffered and atomic files, CSV
        // writing, the worker count. (Exclusivity checks off: `OutputBuffer` is called per
        // number written, and its checks on its own stored properties cost more than the
        // formatting.)
        .target(name: "RetainIO", dependencies: ["CSupport"],
                swiftSettings: [.unsafeFlags(["-enforce-exclusivity=unchecked"])]),
        // Reading transaction logs into the compact ledger. (Exclusivity checks off: its
        // hot loops read class properties, hash tables and batches, per row.)
        .target(name: "Ledger", dependencies: ["RetainIO", "CZlib", "CSupport"],
                swiftSettings: [.unsafeFlags(["-enforce-exclusivity=unchecked"])]),
        // Customer snapshots as of a date: features and churn labels.
        // (Its row loop updates per-customer sums through class-held pointers: exclusivity
        // checks off for the same reason as in Ledger.)
        .target(name: "Features", dependencies: ["Ledger", "RetainIO", "CSupport"],
                swiftSettings: [.unsafeFlags(["-enforce-exclusivity=unchecked"])]),
        // The churn model: design from a snapshot, logistic fit (Newton on BLAS/LAPACK), metrics.
        .target(name: "ChurnModel", dependencies: ["Linalg", "RetainIO"]),
        // Value, segments, reasons, targets and retention history: what marketing receives.
        .target(name: "Segmentation", dependencies: ["Ledger", "Linalg", "RetainIO", "CSupport"]),
        // Customer lifetime value: BG/NBD purchases, Gamma-Gamma spend, discounted CLV.
        .target(name: "Lifetime", dependencies: ["Features", "Linalg", "RetainIO"]),
        // Control arms, the plan archive and the evaluation of earlier plans against what happened.
        .target(name: "Plans", dependencies: ["ChurnModel", "Ledger", "RetainIO", "Segmentation"]),
        // The report's charts as inline SVG: one function per chart type.
        .target(name: "Charts", dependencies: ["RetainIO", .product(name: "Mustache", package: "swift-mustache")]),
        // report.html: the page of sections, rendered by a Mustache template.
        .target(name: "Report", dependencies: ["Charts", .product(name: "Mustache", package: "swift-mustache")]),
        // Synthetic transaction logs (`retain generate`).
        .target(name: "Synth", dependencies: ["RetainIO"]),
        // The row-level stages on Apache Spark: the SQL generated from the Features
        // definitions, the submitted job, and its results read back.
        .target(name: "SparkEngine", dependencies: ["Features", "Ledger", "Segmentation", "RetainIO", "CSupport"]),
        // Pipeline file, stage graph, run folder, lock, manifest, atomic publish.
        .target(name: "Pipeline", dependencies: ["Ledger", "Features", "ChurnModel", "Lifetime", "Segmentation", "Plans", "Charts", "Report", "SparkEngine", "RetainIO", "CSupport"]),
        .executableTarget(name: "retain", dependencies: [
            "Pipeline", "Plans", "Synth", "Ledger", "RetainIO",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        // Shared test helpers: tolerances, temporary folders, running the built binary.
        .target(name: "RetainTestSupport", dependencies: ["RetainIO"], path: "Tests/RetainTestSupport"),
        .testTarget(name: "LinalgTests", dependencies: ["Linalg", "RetainTestSupport"]),
        .testTarget(name: "ChurnModelTests", dependencies: ["ChurnModel", "Linalg", "RetainIO", "RetainTestSupport"]),
        .testTarget(name: "SegmentationTests", dependencies: ["Segmentation", "Ledger", "RetainIO", "RetainTestSupport"]),
        .testTarget(name: "LifetimeTests", dependencies: ["Lifetime", "Features", "Ledger", "RetainIO", "RetainTestSupport"]),
        .testTarget(name: "PlansTests", dependencies: ["Plans", "Segmentation", "Ledger", "RetainIO", "RetainTestSupport"]),
        .testTarget(name: "ChartsTests", dependencies: ["Charts", "RetainTestSupport"]),
        .testTarget(name: "ReportTests", dependencies: ["Report", "Charts", "RetainTestSupport"]),
        .testTarget(name: "RetainIOTests", dependencies: ["RetainIO", "RetainTestSupport"]),
        .testTarget(name: "LedgerTests", dependencies: ["Ledger", "RetainIO", "RetainTestSupport"]),
        .testTarget(name: "FeaturesTests", dependencies: ["Features", "Ledger", "RetainIO", "RetainTestSupport"]),
        .testTarget(name: "SparkEngineTests", dependencies: ["SparkEngine", "Features", "Ledger", "RetainIO", "RetainTestSupport"]),
        .testTarget(name: "PipelineTests", dependencies: ["Pipeline", "Ledger", "RetainIO", "RetainTestSupport"]),
        // Runs the built `retain` binary on real files; depends on it so `swift test` builds it.
        .testTarget(name: "EndToEndTests", dependencies: ["retain", "Synth", "Ledger", "RetainIO", "RetainTestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
