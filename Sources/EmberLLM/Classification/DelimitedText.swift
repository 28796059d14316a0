import Foundation

/// Reading and writing delimited text as pandas does it with its defaults — the part the book's
/// chapter 6 relies on: `pd.read_csv(path, sep="\t", header=None)` for `SMSSpamCollection.tsv`,
/// `pd.read_csv(csv)` for the split files, and `df.to_csv(path, index=None)`.
///
/// Reading follows pandas' C tokenizer (`pandas/_libs/src/parser/tokenizer.c`) with `quotechar='"'`,
/// `doublequote=True`, `quoting=QUOTE_MINIMAL` and `skip_blank_lines=True`: a field that *starts*
/// with `"` is quoted — it runs, over tabs and line breaks, to the next lone `"` (`""` inside is one
/// `"`), and text after that closing quote is appended unquoted; a `"` anywhere else is a plain
/// character. That is why the SMS file's 5,574 lines are 5,572 rows: a quote opened in one message
/// closes two lines later. `\r\n` and a lone `\r` end a line as `\n` does.
///
/// Writing follows Python's `csv.writer` with pandas' dialect (`,`, `"`, line terminator `\n`,
/// `QUOTE_MINIMAL`): a field is quoted when it contains the delimiter, `"`, `\n` or `\r`, and
/// quotes inside are doubled.
public enum DelimitedText {
    /// Why a file could not be read.
    public enum ReadError: Error, LocalizedError, CustomStringConvertible, Equatable, Sendable {
        /// The text ended inside a quoted field (pandas: `EOF inside string starting at row N`).
        case unterminatedQuote(row: Int)
        /// The bytes are not UTF-8.
        case notUTF8

        public var description: String {
            switch self {
            case .unterminatedQuote(let row): return "EOF inside string starting at row \(row)"
            case .notUTF8: return "the text is not UTF-8"
            }
        }

        public var errorDescription: String? { description }
    }

    /// The rows of `data` split into fields (every line's fields, blank lines skipped), as pandas'
    /// tokenizer splits them before any type conversion.
    /// - Parameters: `delimiter` is an ASCII byte (`\t` or `,`).
    /// - Throws: ``ReadError`` for a quote left open at the end or for text that is not UTF-8.
    public static func rows(_ data: Data, delimiter: UInt8) throws(ReadError) -> [[String]] {
        let quote = UInt8(ascii: "\""), newline = UInt8(ascii: "\n"), cr = UInt8(ascii: "\r")
        enum State { case startRecord, startField, inField, inQuoted, quoteInQuoted }
        var rows: [[String]] = []
        var fields: [String] = []
        var field: [UInt8] = []
        var state = State.startRecord
        var quoteRow = 0
        var failedUTF8 = false
        func endField() {
            if let s = String(validating: field, as: UTF8.self) { fields.append(s) } else { failedUTF8 = true }
            field.removeAll(keepingCapacity: true)
        }
        func endRow() {
            endField()
            rows.append(fields)
            fields = []
            state = .startRecord
        }
        let bytes = [UInt8](data)
        var i = 0
        while i < bytes.count {
            var c = bytes[i]
            i += 1
            if c == cr {                       // \r\n and a lone \r end a line like \n, except inside quotes
                if state == .inQuoted { field.append(cr); continue }
                if i < bytes.count, bytes[i] == newline { i += 1 }
                c = newline
            }
            switch state {
            case .startRecord:
                if c == newline { continue }   // skip_blank_lines
                state = .startField
                fallthrough
            case .startField:
                if c == quote {
                    state = .inQuoted
                    quoteRow = rows.count
                } else if c == delimiter {
                    endField()
                } else if c == newline {
                    endRow()
                } else {
                    field.append(c)
                    state = .inField
                }
            case .inField:
                if c == delimiter { endField(); state = .startField } else if c == newline { endRow() } else { field.append(c) }
            case .inQuoted:
                if c == quote { state = .quoteInQuoted } else { field.append(c) }
            case .quoteInQuoted:
                if c == quote {
                    field.append(quote)
                    state = .inQuoted
                } else if c == delimiter {
                    endField()
                    state = .startField
                } else if c == newline {
                    endRow()
                } else {
                    field.append(c)
                    state = .inField
                }
            }
        }
        switch state {
        case .startRecord: break
        case .inQuoted: throw .unterminatedQuote(row: quoteRow)
        default: endRow()
        }
        if failedUTF8 { throw .notUTF8 }
        return rows
    }

    /// One CSV line (with its `\n`) as Python's `csv.writer` writes `fields` under `QUOTE_MINIMAL`.
    public static func csvLine(_ fields: [String]) -> String {
        fields.map(csvField).joined(separator: ",") + "\n"
    }

    /// One field, quoted when it holds `,`, `"`, `\n` or `\r` (inner quotes doubled). A lone empty
    /// field on its line is written `""` by Python's writer so the line is not blank; ``csvLine(_:)``
    /// has at least two fields in this library's use, so plain empty fields stay empty.
    public static func csvField(_ field: String) -> String {
        let needsQuotes = field.unicodeScalars.contains { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }
        guard needsQuotes else { return field }
        return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }
}
