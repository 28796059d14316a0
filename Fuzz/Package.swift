// swift-tools-version:6.0
// A separate package so the fuzz driver never becomes part of Ember's own build or test run.
// Build and run from this folder: `swift run -c release ember-fuzz --help` (see README.md).
import PackageDescription

let package = Package(
    name: "EmberFuzz",
    platforms: [.macOS(.v14)],
    dependencies: [.package(name: "Ember", path: "..")],
    targets: [
        .executableTarget(name: "ember-fuzz", dependencies: [.product(name: "EmberIO", package: "Ember")],
                          path: "Sources/EmberFuzz"),
    ],
    swiftLanguageModes: [.v6]
)
