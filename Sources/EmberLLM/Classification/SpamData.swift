import EmberCore
import Foundation

/// One message of the SMS Spam Collection as the book's data frame holds it (chapter 6 §6.2):
/// the pandas index (`index`, the row's position in `SMSSpamCollection.tsv` as pandas reads it),
/// the `Label` column and the `Text` column.
public struct SpamMessage: Sendable, Equatable {
    /// The data frame's index label: the row number in the TSV (kept by `sample` and `concat`).
    public var index: Int
    /// `"ham"` or `"spam"` as read; `"0"`/`"1"` after ``SpamData/mapLabels(_:)``.
    public var label: String
    /// The message.
    public var text: String

    public init(index: Int, label: String, text: String) {
        self.index = index
        self.label = label
        self.text = text
    }
}

/// The book's chapter-6 data preparation (§6.2, `gpt_class_finetune.py`), each step as pandas does it:
/// ``read(_:)`` = `pd.read_csv(path, sep="\t", header=None, names=["Label", "Text"])`,
/// ``createBalancedDataset(_:seed:)``, ``mapLabels(_:)``, ``randomSplit(_:trainFrac:validationFrac:seed:)``
/// and ``writeCSV(_:to:)`` / ``readCSV(_:)`` for the split files.
///
/// ```swift
/// let df = try SpamData.read(BundledResource.smsSpamCollection())            // 5,572 rows
/// let balanced = SpamData.mapLabels(try SpamData.createBalancedDataset(df))  // 1,494 rows
/// let (train, validation, test) = SpamData.randomSplit(balanced, trainFrac: 0.7, validationFrac: 0.1)
/// try SpamData.writeCSV(train, to: URL(fileURLWithPath: "train.csv"))        // the book's bytes
/// ```
public enum SpamData {
    /// Why the data could not be prepared; each message names the file or row.
    public enum DataError: Error, LocalizedError, CustomStringConvertible, Equatable, Sendable {
        /// The file could not be read or parsed.
        case unreadable(path: String, reason: String)
        /// A row does not have the expected two fields (label and text).
        case badRow(path: String, row: Int, fields: Int)
        /// A CSV's header is not `Label,Text`.
        case badHeader(path: String, header: [String])
        /// A label is not one the step understands.
        case badLabel(row: Int, label: String)
        /// There are fewer messages of a class than the step needs.
        case notEnough(String)

        public var description: String {
            switch self {
            case .unreadable(let path, let reason): return "cannot read '\(path)': \(reason)"
            case .badRow(let path, let row, let fields):
                return "'\(path)' row \(row): expected 2 fields (label and text), found \(fields)"
            case .badHeader(let path, let header):
                return "'\(path)': expected the header Label,Text, found \(header.joined(separator: ","))"
            case .badLabel(let row, let label): return "row \(row): unknown label '\(label)' (expected ham or spam)"
            case .notEnough(let what): return what
            }
        }

        public var errorDescription: String? { description }
    }

    /// `pd.read_csv(url, sep="\t", header=None, names=["Label", "Text"])`: the TSV's rows, index = row number.
    /// - Throws: ``DataError`` for an unreadable file, an unterminated quote or a row without two fields.
    public static func read(_ url: URL) throws(DataError) -> [SpamMessage] {
        let rows = try fields(url, delimiter: UInt8(ascii: "\t"))
        return try messages(rows, path: url.path, firstIndex: 0)
    }

    /// `create_balanced_dataset(df)`: every spam message plus as many ham messages, drawn by
    /// `df[df["Label"] == "ham"].sample(num_spam, random_state=seed)`, ham first (`pd.concat`).
    /// - Throws: ``DataError/notEnough(_:)`` when there are fewer ham than spam messages.
    public static func createBalancedDataset(_ df: [SpamMessage], seed: UInt32 = 123) throws(DataError) -> [SpamMessage] {
        let ham = df.filter { $0.label == "ham" }, spam = df.filter { $0.label == "spam" }
        guard ham.count >= spam.count else {
            throw .notEnough("cannot balance: \(ham.count) ham messages for \(spam.count) spam messages")
        }
        // sample(n, random_state=r) = RandomState(r).choice(len, n, replace=False): positional rows.
        let picked = try! RandomState(seed: seed).choice(ham.count, size: spam.count)   // size ≤ count: cannot throw
        return picked.map { ham[$0] } + spam
    }

    /// `df["Label"] = df["Label"].map({"ham": 0, "spam": 1})`, with the labels kept as text (`"0"`, `"1"`).
    /// Rows with another label are left as they are (pandas would make them NaN); ``labelValue(_:)`` rejects them.
    public static func mapLabels(_ df: [SpamMessage]) -> [SpamMessage] {
        df.map { m in
            var m = m
            m.label = ["ham": "0", "spam": "1"][m.label] ?? m.label
            return m
        }
    }

    /// `random_split(df, train_frac, validation_frac)`: `df.sample(frac=1, random_state=seed)` (a
    /// ``RandomState/permutation(_:)`` of the rows) then `reset_index(drop=True)`, cut at
    /// `int(n·train_frac)` and `int(n·train_frac) + int(n·validation_frac)`.
    /// - Returns: the three parts, indices renumbered from 0 as `reset_index` does.
    public static func randomSplit(_ df: [SpamMessage], trainFrac: Double, validationFrac: Double, seed: UInt32 = 123)
        -> (train: [SpamMessage], validation: [SpamMessage], test: [SpamMessage]) {
        let shuffled = RandomState(seed: seed).permutation(df.count).enumerated().map { position, row in
            SpamMessage(index: position, label: df[row].label, text: df[row].text)
        }
        let trainEnd = Int(Double(df.count) * trainFrac)
        let validationEnd = trainEnd + Int(Double(df.count) * validationFrac)
        let reindexed = { (part: ArraySlice<SpamMessage>) in part.enumerated().map { i, m in
            SpamMessage(index: i, label: m.label, text: m.text) } }
        return (reindexed(shuffled[..<trainEnd]), reindexed(shuffled[trainEnd..<validationEnd]), reindexed(shuffled[validationEnd...]))
    }

    /// `df.to_csv(url, index=None)`: the header `Label,Text`, then one line per row (see ``DelimitedText``),
    /// written to a temporary file and renamed into place.
    /// - Throws: the file system's error.
    public static func writeCSV(_ df: [SpamMessage], to url: URL) throws {
        try Data(csv(df).utf8).write(to: url, options: .atomic)
    }

    /// The text ``writeCSV(_:to:)`` writes.
    public static func csv(_ df: [SpamMessage]) -> String {
        DelimitedText.csvLine(["Label", "Text"]) + df.map { DelimitedText.csvLine([$0.label, $0.text]) }.joined()
    }

    /// `pd.read_csv(url)` of a file ``writeCSV(_:to:)`` wrote (header `Label,Text`).
    /// - Throws: ``DataError`` for an unreadable file, another header or a row without two fields.
    public static func readCSV(_ url: URL) throws(DataError) -> [SpamMessage] {
        let rows = try fields(url, delimiter: UInt8(ascii: ","))
        guard let header = rows.first, header == ["Label", "Text"] else {
            throw .badHeader(path: url.path, header: rows.first ?? [])
        }
        return try messages(Array(rows.dropFirst()), path: url.path, firstIndex: 0)
    }

    /// The integer class of a mapped label (`"0"` → 0, `"1"` → 1, any integer text).
    /// - Throws: ``DataError/badLabel(row:label:)`` for other text.
    public static func labelValue(_ message: SpamMessage) throws(DataError) -> Int {
        guard let value = Int(message.label) else { throw .badLabel(row: message.index, label: message.label) }
        return value
    }

    private static func fields(_ url: URL, delimiter: UInt8) throws(DataError) -> [[String]] {
        let data: Data
        do { data = try Data(contentsOf: url) } catch {
            throw .unreadable(path: url.path, reason: error.localizedDescription)
        }
        do { return try DelimitedText.rows(data, delimiter: delimiter) } catch {
            throw .unreadable(path: url.path, reason: error.description)
        }
    }

    private static func messages(_ rows: [[String]], path: String, firstIndex: Int) throws(DataError) -> [SpamMessage] {
        var out: [SpamMessage] = []
        out.reserveCapacity(rows.count)
        for (i, row) in rows.enumerated() {
            guard row.count == 2 else { throw .badRow(path: path, row: i, fields: row.count) }
            out.append(SpamMessage(index: firstIndex + i, label: row[0], text: row[1]))
        }
        return out
    }
}

/// The book's three splits, made from a TSV and written as `train.csv`, `validation.csv` and `test.csv`
/// (chapter 6 §6.2, the script's order: read, balance, map the labels, split 0.7 / 0.1, write).
public struct SpamSplits: Sendable {
    /// The TSV's rows (5,572 for the book's file).
    public let messages: [SpamMessage]
    /// The balanced rows, labels mapped to `"0"`/`"1"` (1,494).
    public let balanced: [SpamMessage]
    public let train: [SpamMessage]
    public let validation: [SpamMessage]
    public let test: [SpamMessage]

    /// Prepares the splits from `tsv` (default: the bundled collection) with `seed` for both draws.
    /// - Throws: ``SpamData/DataError`` for a bad file or too few ham messages.
    public init(tsv: URL, trainFrac: Double = 0.7, validationFrac: Double = 0.1, seed: UInt32 = 123) throws {
        messages = try SpamData.read(tsv)
        balanced = SpamData.mapLabels(try SpamData.createBalancedDataset(messages, seed: seed))
        (train, validation, test) = SpamData.randomSplit(balanced, trainFrac: trainFrac, validationFrac: validationFrac, seed: seed)
    }

    /// The files ``write(to:)`` writes, in the order train, validation, test.
    public static let fileNames = ["train.csv", "validation.csv", "test.csv"]

    /// Writes the three CSVs into `directory` (created if needed), each atomically.
    /// - Returns: their URLs (train, validation, test).
    /// - Throws: the file system's error.
    @discardableResult
    public func write(to directory: URL) throws -> [URL] {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let urls = Self.fileNames.map { directory.appendingPathComponent($0) }
        for (part, url) in zip([train, validation, test], urls) { try SpamData.writeCSV(part, to: url) }
        return urls
    }
}
