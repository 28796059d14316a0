import XCTest
@testable import EmberExamples

/// The `ember example buffers --device` choice (argument parsing, no device needed).
final class ExampleListTests: XCTestCase {
    /// The example knows it takes a device; the others do not.
    func testOnlyBuffersTakesADevice() {
        XCTAssertEqual(allExamples.filter(\.takesDevice).map(\.name), ["buffers"])
    }
}
