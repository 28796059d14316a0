import Foundation
import XCTest

/// The seed notebook "Understanding PyTorch Buffers" as PyTorch ran it: `Fixtures/buffers/` (see its
/// README.md): `expected.json` and the two saved state dicts.
public enum BuffersFixture {
    /// The file `name` in Fixtures/buffers (e.g. "ca_with_buffer.pth").
    public static func url(_ name: String) -> URL {
        Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent("buffers/\(name)")
    }

    /// `expected.json` parsed.
    public static func json() throws -> [String: Any] {
        let data = try Data(contentsOf: url("expected.json"))
        return try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
    }
}
