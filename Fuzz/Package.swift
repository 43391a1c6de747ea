// swift-tools-version: 6.0
import Foundation
import PackageDescription

// Fuzz targets (libFuzzer): `scripts/fuzz` builds them with `--sanitize=fuzzer
// --sanitize=address` and runs each on its corpus in Fuzz/Corpus/. A package of its own,
// so that the main build and `swift test` never need libFuzzer.
// A path dependency's identity is its folder's name, which is the clone's.
let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().lastPathComponent.lowercased()
let libraries = Target.Dependency.product(name: "RetainLibraries", package: root)

let package = Package(
    name: "RetainFuzz",
    dependencies: [.package(path: "..")],
    targets: [
        .target(name: "FuzzSupport"),
        // The row parser with validation, across the input format options.
        .executableTarget(name: "FuzzRows", dependencies: [libraries, "FuzzSupport"],
                          swiftSettings: [.unsafeFlags(["-parse-as-library"])]),
        // The pipeline-file reader (TOML and every key's checks).
        .executableTarget(name: "FuzzPipelineFile", dependencies: [libraries, "FuzzSupport"],
                          swiftSettings: [.unsafeFlags(["-parse-as-library"])]),
    ],
    swiftLanguageModes: [.v6]
)
