// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "Ember",
    platforms: [.macOS(.v14)],
    products: [
        .library(name: "Ember", targets: ["Ember"]),
        .library(name: "EmberCore", targets: ["EmberCore"]),
        .library(name: "EmberNN", targets: ["EmberNN"]),
        .library(name: "EmberIO", targets: ["EmberIO"]),
        .library(name: "EmberLLM", targets: ["EmberLLM"]),
        .executable(name: "ember", targets: ["ember"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.1.0"),
        .package(url: "https://github.com/weichsel/ZIPFoundation", from: "0.9.19"),
    ],
    targets: [
        // OpenBLAS from Debian (libopenblas-dev); see ../shared/notes/cpu-kernels.md §3.
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS"),
        .target(
            name: "EmberCore",
            dependencies: [
                "CBLAS",
                .product(name: "OrderedCollections", package: "swift-collections"),
            ]),
        .target(name: "EmberNN", dependencies: ["EmberCore"]),
        .target(
            name: "EmberIO",
            dependencies: [
                "EmberCore",
                .product(name: "ZIPFoundation", package: "ZIPFoundation"),
                .product(name: "OrderedCollections", package: "swift-collections"),
            ]),
        .target(
            name: "EmberLLM",
            dependencies: ["EmberCore", "EmberNN", "EmberIO"],
            resources: [.copy("Resources")]),
        // One import for users: `import Ember` re-exports the libraries.
        .target(name: "Ember", dependencies: ["EmberCore", "EmberNN", "EmberIO", "EmberLLM"]),
        .executableTarget(
            name: "ember",
            dependencies: [
                "Ember",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        .testTarget(name: "EmberCoreTests", dependencies: ["EmberCore"], resources: [.copy("Fixtures")]),
        .testTarget(name: "EmberNNTests", dependencies: ["EmberNN", "EmberIO"], resources: [.copy("Fixtures")]),
        .testTarget(name: "EmberIOTests", dependencies: ["EmberIO", "EmberNN"], resources: [.copy("Fixtures")]),
        .testTarget(name: "EmberLLMTests", dependencies: ["EmberLLM"], resources: [.copy("Fixtures")]),
    ],
    swiftLanguageModes: [.v6]
)
