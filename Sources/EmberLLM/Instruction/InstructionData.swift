import Foundation

/// One entry of the book's `instruction-data.json` (ch. 7 §7.2): an Alpaca-style instruction, an
/// optional input (empty string when absent) and the desired output.
public struct InstructionEntry: Codable, Sendable, Equatable {
    public var instruction: String
    public var input: String
    public var output: String

    public init(instruction: String, input: String = "", output: String) {
        self.instruction = instruction
        self.input = input
        self.output = output
    }
}

/// One entry of `instruction-data-with-preference.json` (ch. 7 bonus, `dpo-from-scratch.ipynb`):
/// an instruction entry with a preferred (`chosen`) and a dispreferred (`rejected`) response.
public struct PreferenceEntry: Codable, Sendable, Equatable {
    public var instruction: String
    public var input: String
    public var output: String
    public var chosen: String
    public var rejected: String

    public init(instruction: String, input: String = "", output: String, chosen: String, rejected: String) {
        self.instruction = instruction
        self.input = input
        self.output = output
        self.chosen = chosen
        self.rejected = rejected
    }

    /// The instruction part alone (for ``formatInput(_:)``).
    public var instructionEntry: InstructionEntry {
        InstructionEntry(instruction: instruction, input: input, output: output)
    }
}

/// The book's Alpaca-style prompt (ch. 7 §7.2, `format_input`): the preamble, the instruction and —
/// only when `entry.input` is non-empty — an `### Input:` section. The response header
/// (`"\n\n### Response:\n"`) is not included: the book appends it with the answer.
///
/// ```
/// Below is an instruction that describes a task. Write a response that appropriately completes the request.
///
/// ### Instruction:
/// Identify the correct spelling of the following word.
///
/// ### Input:
/// Ocassion
/// ```
public func formatInput(_ entry: InstructionEntry) -> String {
    let instructionText = "Below is an instruction that describes a task. "
        + "Write a response that appropriately completes the request."
        + "\n\n### Instruction:\n\(entry.instruction)"
    let inputText = entry.input.isEmpty ? "" : "\n\n### Input:\n\(entry.input)"
    return instructionText + inputText
}

/// ``formatInput(_:)`` for a preference entry (the DPO notebook formats the same prompt).
public func formatInput(_ entry: PreferenceEntry) -> String {
    formatInput(entry.instructionEntry)
}

/// The header between prompt and answer in the book's chat format (ch. 7 §7.2).
public let alpacaResponseHeader = "\n\n### Response:\n"

/// Reading the book's chapter-7 JSON files and splitting them as the book does.
public enum InstructionData {
    /// The book's split by slicing (ch. 7 §7.2): train = the first `Int(n · 0.85)` entries, test =
    /// the next `Int(n · 0.1)`, validation = the rest (935 / 110 / 55 for the 1,100 entries).
    public static func split<Element>(_ data: [Element]) -> (train: [Element], validation: [Element], test: [Element]) {
        let trainCount = Int(Double(data.count) * 0.85)
        let testCount = Int(Double(data.count) * 0.1)
        let train = Array(data[..<trainCount])
        let test = Array(data[trainCount..<(trainCount + testCount)])
        let validation = Array(data[(trainCount + testCount)...])
        return (train, validation, test)
    }

    /// Decodes a JSON array of entries (`instruction-data.json` or the preference file).
    /// - Throws: ``TrainingError/dataFileMissing(path:)``, ``TrainingError/dataFileUnreadable(path:reason:)``
    ///   when the file is absent, unreadable or not a JSON array of such entries (the reason names the
    ///   entry and field).
    public static func load<Entry: Decodable>(_ type: Entry.Type = Entry.self, from url: URL) throws -> [Entry] {
        let path = url.path
        guard FileManager.default.fileExists(atPath: path) else { throw TrainingError.dataFileMissing(path: path) }
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw TrainingError.dataFileUnreadable(path: path, reason: error.localizedDescription)
        }
        do {
            return try JSONDecoder().decode([Entry].self, from: data)
        } catch let error as DecodingError {
            throw TrainingError.dataFileUnreadable(path: path, reason: describe(error))
        } catch {
            throw TrainingError.dataFileUnreadable(path: path, reason: "\(error)")
        }
    }

    /// The bundled `instruction-data.json` (1,100 entries; see `Resources/SOURCES.md`).
    /// - Throws: ``TokenizerError/resourceMissing(_:)`` if the resource is absent, or a ``TrainingError``.
    public static func bundled() throws -> [InstructionEntry] {
        try load(InstructionEntry.self, from: BundledResource.url("instruction-data", "json"))
    }

    /// The bundled `instruction-data-with-preference.json` (1,100 entries).
    /// - Throws: ``TokenizerError/resourceMissing(_:)`` if the resource is absent, or a ``TrainingError``.
    public static func bundledPreferences() throws -> [PreferenceEntry] {
        try load(PreferenceEntry.self, from: BundledResource.url("instruction-data-with-preference", "json"))
    }

    private static func describe(_ error: DecodingError) -> String {
        func at(_ path: [CodingKey]) -> String {
            path.isEmpty ? "the top level" : path.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
        }
        switch error {
        case .typeMismatch(let type, let context):
            return "expected \(type) at \(at(context.codingPath))"
        case .valueNotFound(let type, let context):
            return "missing \(type) value at \(at(context.codingPath))"
        case .keyNotFound(let key, let context):
            return "missing field '\(key.stringValue)' at \(at(context.codingPath))"
        case .dataCorrupted(let context):
            return "not valid JSON (\(context.debugDescription)) at \(at(context.codingPath))"
        @unknown default:
            return "\(error)"
        }
    }
}

extension BundledResource {
    /// The SMS Spam Collection as the book downloads it (`SMSSpamCollection.tsv`, 5,574 lines of
    /// `label<TAB>text`; ch. 6 §6.2). Parsing is the classification code's job.
    /// - Throws: ``TokenizerError/resourceMissing(_:)`` if the resource is absent.
    public static func smsSpamCollection() throws -> URL {
        try url("SMSSpamCollection", "tsv", in: "sms_spam_collection")
    }
}
