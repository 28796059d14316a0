import EmberCore
import EmberIO
import Foundation
import OrderedCollections
import XCTest

/// `InspectListing` (what `ember inspect FILE` prints): the saved object as a tree with aligned columns
/// (name, dtype, shape, bytes = elements × item size), tied and shared storages noted, then totals that count
/// each distinct tensor and storage once.
final class InspectListingTests: XCTestCase {
    /// A small state dict saved by Ember: two float32 tensors and a key tied to the first (same tensor).
    func testListingOfASmallSavedStateDict() throws {
        let dir = try Fixtures.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("small.pth")
        let weight = Tensor([[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]], dtype: .float32)
        let stateDict: OrderedDictionary<String, Tensor> = [
            "weight": weight, "bias": Tensor([0.5, -0.5], dtype: .float32), "head.weight": weight,
        ]
        try save(stateDict, to: url)
        XCTAssertEqual(try InspectListing(contentsOf: url).text, """
            small.pth: PyTorch zip checkpoint (top folder 'small/')
            weight       float32  [2, 3]  24 B
            bias         float32  [2]      8 B
            head.weight  float32  [2, 3]  24 B  (tied to weight)
            total: 3 tensors, 8 elements, 32 bytes in 2 storages: some tensors share memory

            """)
    }

    /// tied_view.pth (torch 2.13, Fixtures/pth/README.md): a [3, 4], b a [2, 2] view and c a [12] view of
    /// one 12-element float32 storage: the views share a's storage, whose 48 bytes are counted once.
    func testListingOfViewsSharingOneStorage() throws {
        let text = try InspectListing(contentsOf: Fixtures.url("pth/tied_view.pth")).text
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        XCTAssertEqual(lines.first, "tied_view.pth: PyTorch zip checkpoint (top folder 'tied_view/')", text)
        XCTAssertEqual(lines.count, 6, text)   // heading, 3 tensors, totals, and the final newline
        XCTAssertEqual(lines[1], "a  float32  [3, 4]  48 B", text)
        XCTAssertTrue(lines[2].hasPrefix("b  float32  [2, 2]  16 B  (shares storage with a)"), text)
        XCTAssertTrue(lines[3].hasPrefix("c  float32  [12]    48 B  (shares storage with a)"), text)
        XCTAssertEqual(lines[4], "total: 3 tensors, 28 elements, 48 bytes in 1 storage: some tensors share memory", text)
    }

    func testMissingFileIsAnEmberIOError() {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("no-such-\(UUID().uuidString).pth")
        XCTAssertThrowsError(try InspectListing(contentsOf: url)) { XCTAssertTrue($0 is EmberIOError, "\($0)") }
    }
}
