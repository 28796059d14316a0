import Foundation

/// One answer to be judged: the instruction entry and a model's response (an entry of the book's
/// `instruction-data-with-response.json`, whose response is under `"model_response"`).
public struct JudgeEntry: Sendable, Equatable {
    /// The instruction, input (empty when absent) and correct output.
    public var entry: InstructionEntry
    /// The response to score (`entry[json_key]`).
    public var response: String

    /// An entry to judge.
    public init(entry: InstructionEntry, response: String) {
        self.entry = entry
        self.response = response
    }
}

/// The book's scoring prompt (ch. 7 §7.8, `generate_model_scores` in `ch07.ipynb`), verbatim:
/// "Given the input \`{format_input(entry)}\` and correct output \`{entry['output']}\`, score the model
/// response \`{entry[json_key]}\` on a scale from 0 to 100, where 100 is the best score. Respond with the
/// integer number only."
/// Source: https://github.com/rasbt/LLMs-from-scratch/blob/main/ch07/01_main-chapter-code/ch07.ipynb
public func judgePrompt(_ item: JudgeEntry) -> String {
    "Given the input `\(formatInput(item.entry))` "
        + "and correct output `\(item.entry.output)`, "
        + "score the model response `\(item.response)`"
        + " on a scale from 0 to 100, where 100 is the best score. "
        + "Respond with the integer number only."
}

/// Python's `int(text)` for the judge's answer, as the book converts it: surrounding whitespace is
/// ignored, then an optional sign and decimal digits (single underscores between digits allowed, as
/// Python does); anything else — "85.", "Score: 85", "" — is not a score (nil; the book prints
/// "Could not convert score: …" and skips it).
public func parseJudgeScore(_ text: String) -> Int? {
    var s = Substring(text.trimmingCharacters(in: .whitespacesAndNewlines))
    var negative = false
    if let first = s.first, first == "+" || first == "-" {
        negative = first == "-"
        s = s.dropFirst()
    }
    guard let first = s.first, first.isASCII, first.isNumber, let last = s.last, last.isASCII, last.isNumber,
          !s.contains("__") else { return nil }
    let digits = s.filter { $0 != "_" }
    guard digits.allSatisfy({ $0.isASCII && $0.isNumber }), let value = Int(digits) else { return nil }
    return negative ? -value : value
}

extension JudgeEntry {
    /// Reads a JSON array of entries with `instruction`, `input` (optional), `output` and the response
    /// under `responseKey` (the book's `json_key`, default `"model_response"`).
    /// - Throws: ``TrainingError/dataFileMissing(path:)`` or ``TrainingError/dataFileUnreadable(path:reason:)``
    ///   naming the entry and the missing or mistyped field.
    public static func load(from url: URL, responseKey: String = "model_response") throws -> [JudgeEntry] {
        let path = url.path
        guard FileManager.default.fileExists(atPath: path) else { throw TrainingError.dataFileMissing(path: path) }
        let json: Any
        do {
            json = try JSONSerialization.jsonObject(with: Data(contentsOf: url))
        } catch {
            throw TrainingError.dataFileUnreadable(path: path, reason: "not valid JSON (\(error.localizedDescription))")
        }
        guard let array = json as? [Any] else {
            throw TrainingError.dataFileUnreadable(path: path, reason: "expected a JSON array of entries at the top level")
        }
        return try array.enumerated().map { index, element in
            guard let object = element as? [String: Any] else {
                throw TrainingError.dataFileUnreadable(path: path, reason: "entry [\(index)] is not a JSON object")
            }
            func field(_ key: String, optional: Bool = false) throws -> String {
                if let value = object[key] as? String { return value }
                if optional && object[key] == nil { return "" }
                let problem = object[key] == nil ? "missing field '\(key)'" : "field '\(key)' is not a string"
                throw TrainingError.dataFileUnreadable(path: path, reason: "\(problem) at [\(index)]")
            }
            return JudgeEntry(entry: InstructionEntry(instruction: try field("instruction"), input: try field("input", optional: true),
                                                      output: try field("output")),
                              response: try field(responseKey))
        }
    }
}
