// swift-tools-version:6.1
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
        .library(name: "EmberServe", targets: ["EmberServe"]),
        .executable(name: "ember", targets: ["ember"]),
        .executable(name: "ember-bench", targets: ["ember-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.1.0"),
        .package(url: "https://github.com/weichsel/ZIPFoundation", from: "0.9.19"),
        // `ember serve` (EmberServe only): HTTP on SwiftNIO. No default traits: swift-configuration is not needed.
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: []),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        // `swift package generate-documentation --target Ember` builds the DocC catalog (Sources/Ember/Ember.docc).
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
    ],
    targets: [
        // Hot float32 kernels in C: AVX2/FMA by target attribute with run-time dispatch (no flags).
        .target(name: "CEmberKernels"),
        // Vulkan compute runtime and kernels in C. libvulkan is loaded with dlopen at run time: no link
        // flags and no pkgConfig (which would add -lvulkan); without Vulkan headers it builds as stubs.
        .target(name: "CEmberVulkan", exclude: ["shaders"]),
        // MPI for data-parallel training, loaded with dlopen at run time (Open MPI or MPICH): no link
        // flags, no headers needed to build; without an MPI library only the single-process group works.
        .target(name: "CEmberMPI"),
        .target(
            name: "EmberCore",
            dependencies: [
                "CEmberKernels",
                "CEmberVulkan",
                .product(name: "OrderedCollections", package: "swift-collections"),
            ]),
        .target(
            name: "EmberNN",
            dependencies: ["EmberCore", "CEmberMPI", .product(name: "OrderedCollections", package: "swift-collections")]),
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
        // The OpenAI-compatible server and its chat page (`ember serve`); the only target with server dependencies.
        .target(
            name: "EmberServe",
            dependencies: [
                "EmberCore", "EmberLLM",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            resources: [.copy("Resources")]),
        // One import for users: `import Ember` re-exports the libraries.
        .target(name: "Ember", dependencies: ["EmberCore", "EmberNN", "EmberIO", "EmberLLM"]),
        // The book's notebooks as small runnable programs (`ember example NAME`).
        .target(name: "EmberExamples", dependencies: ["EmberCore", "EmberNN", "EmberIO"]),
        .executableTarget(
            name: "ember",
            dependencies: [
                "Ember", "EmberExamples", "EmberServe",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Sources/EmberCLI"),
        // Kernel benchmarks against numpy in the same run: `swift run -c release ember-bench`.
        .executableTarget(name: "ember-bench", dependencies: ["EmberCore", "EmberNN", "EmberIO", "EmberLLM"], path: "Benchmarks/EmberBench"),
        // What the test targets share: the vulkan:0 life cycle, the `../shared` lookup, the book's
        // attention classes and the buffers notebook's fixture.
        .target(
            name: "EmberTestSupport",
            dependencies: ["EmberCore", "EmberNN", "CEmberVulkan"],
            path: "Tests/EmberTestSupport",
            resources: [.copy("Fixtures")]),
        .testTarget(name: "EmberCoreTests", dependencies: ["EmberCore", "EmberTestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(
            name: "EmberNNTests",
            dependencies: ["EmberNN", "EmberIO", "EmberTestSupport", "CEmberKernels", .product(name: "OrderedCollections", package: "swift-collections")],
            resources: [.copy("Fixtures")]),
        .testTarget(
            name: "EmberIOTests",
            dependencies: ["EmberIO", "EmberNN", "EmberTestSupport", .product(name: "OrderedCollections", package: "swift-collections")],
            resources: [.copy("Fixtures")]),
        .testTarget(name: "CEmberVulkanTests", dependencies: ["CEmberVulkan"]),
        .testTarget(name: "EmberLLMTests", dependencies: ["EmberLLM", "EmberTestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(name: "EmberServeTests", dependencies: ["EmberServe", "EmberLLM", "EmberTestSupport"]),
        .testTarget(name: "EmberExamplesTests", dependencies: ["EmberExamples", "EmberTestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
