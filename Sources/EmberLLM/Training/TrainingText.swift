import EmberIO
import Foundation

/// The text a run trains on: a UTF-8 file, or the book's bundled "The Verdict".
public enum TrainingText {
    /// The UTF-8 text of `url`, checked so a bad file is a message rather than an empty run.
    /// - Throws: ``TrainingError/dataFileMissing(path:)``, ``TrainingError/dataFileUnreadable(path:reason:)``
    ///   (a folder, no permission), ``TrainingError/dataFileEmpty(path:)`` (no characters, or only
    ///   whitespace), ``TrainingError/dataNotUTF8(path:)``.
    public static func load(contentsOf url: URL) throws(TrainingError) -> String {
        let path = url.path
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { throw .dataFileMissing(path: path) }
        if isDirectory.boolValue { throw .dataFileUnreadable(path: path, reason: "it is a directory") }
        let data: Data
        // Only regular files (a FIFO would block forever); OS errors become one plain sentence.
        do { data = try RegularFile.read(url, maxBytes: 1 << 34) } catch let e as EmberIOError {
            throw .dataFileUnreadable(path: path, reason: e.message)
        } catch {
            throw .dataFileUnreadable(path: path, reason: (error as NSError).localizedDescription)
        }
        // Strict decoding: String(decoding:as:) would silently turn bad bytes into U+FFFD.
        guard let text = String(data: data, encoding: .utf8) else { throw .dataNotUTF8(path: path) }
        if text.allSatisfy(\.isWhitespace) { throw .dataFileEmpty(path: path) }
        return text
    }

    /// The book's training text (``BundledResource/theVerdict()``).
    /// - Throws: ``TrainingError/dataFileUnreadable(path:reason:)`` if the bundle lacks it.
    public static func theVerdict() throws(TrainingError) -> String {
        do { return try BundledResource.theVerdict() } catch {
            throw .dataFileUnreadable(path: "the-verdict.txt (bundled)", reason: "\(error)")
        }
    }
}
