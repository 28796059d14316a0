import Foundation
import XCTest

/// The shared reference folder for files too large to copy into the repository: `$EMBER_SHARED`, else
/// `shared` beside the repository (`<repo>/../shared`).
public enum SharedFolder {
    /// The folder, or nil when neither exists.
    public static var url: URL? {
        if let env = ProcessInfo.processInfo.environment["EMBER_SHARED"] { return URL(fileURLWithPath: env) }
        // Tests/EmberTestSupport/SharedFolder.swift -> the repository -> its parent
        let repo = URL(fileURLWithPath: #filePath).resolvingSymlinksInPath().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        let candidate = repo.deletingLastPathComponent().appendingPathComponent("shared")
        return FileManager.default.fileExists(atPath: candidate.path) ? candidate : nil
    }

    /// The file or folder at `relative` in the shared folder.
    /// - Throws: `XCTSkip` naming what is missing when the folder or the file is absent.
    public static func file(_ relative: String) throws -> URL {
        guard let base = url else {
            throw XCTSkip("shared folder not found (set EMBER_SHARED or put it beside the repository): \(relative)")
        }
        let file = base.appendingPathComponent(relative)
        guard FileManager.default.fileExists(atPath: file.path) else {
            throw XCTSkip("shared file \(relative) not found under \(base.path); set EMBER_SHARED")
        }
        return file
    }
}
