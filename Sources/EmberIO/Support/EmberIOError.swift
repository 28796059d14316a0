import Foundation

/// An error from reading or writing a `.pth` or safetensors file.
///
/// Every refusal of a hostile or damaged file is one of these: `kind` says what went wrong (tests and
/// callers switch on it), `message` says it in words that name the offending key, global, record or size,
/// and `file` names the file when one is known. Nothing is executed, allocated beyond limits or read out of
/// bounds before the error is thrown.
public struct EmberIOError: Error, LocalizedError, CustomStringConvertible, Sendable, Equatable {
    /// What class of problem was found.
    public enum Kind: String, Sendable {
        case fileUnreadable, emptyFile, truncated, notACheckpoint, malformedZip, missingRecord
        case malformedPickle, forbiddenGlobal, forbiddenOpcode, limitExceeded
        case invalidStorage, outOfBounds, unsupportedDType, unknownByteOrder, deviceLocation
        case malformedHeader, invalidOffsets, duplicateKey, sharedMemory, notAStateDict
        case writeFailed, invalidArgument
    }

    public let kind: Kind
    public let message: String
    /// The file being read or written, when known.
    public var file: String?

    /// `message` and `file` are stored with control characters escaped (``TerminalText``): both may
    /// quote names read from a hostile file.
    public init(_ kind: Kind, _ message: String, file: String? = nil) {
        self.kind = kind
        self.message = TerminalText.escaped(message)
        self.file = file.map { TerminalText.escaped($0) }
    }

    public var description: String { file.map { "\($0): \(message)" } ?? message }
    public var errorDescription: String? { description }

    func inFile(_ path: String) -> EmberIOError {
        var copy = self
        if copy.file == nil { copy.file = TerminalText.escaped(path) }
        return copy
    }
}

/// Runs `body`, attaching `path` to any ``EmberIOError`` it throws and wrapping other errors.
func withFileContext<T>(_ path: String, _ body: () throws -> T) throws -> T {
    do { return try body() } catch let error as EmberIOError {
        throw error.inFile(path)
    }
}
