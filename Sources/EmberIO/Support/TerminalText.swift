/// Text from a file (dict keys, global names, storage keys) made safe to print: a hostile checkpoint
/// must not move the cursor, clear the screen or retitle the terminal (`ESC[2J`), nor cut a line with
/// NUL. Control characters — C0 (U+0000–U+001F), DEL (U+007F) and C1 (U+0080–U+009F) — become visible
/// escapes (`\x1b`, `\x00`, `\u{9b}`); a backslash stays a backslash. Everything else (any script,
/// emoji) is kept.
public enum TerminalText {
    /// `text` with its control characters escaped; `keepNewlines` leaves `\n` as a line break (for
    /// multi-line messages Ember writes itself).
    public static func escaped(_ text: String, keepNewlines: Bool = false) -> String {
        guard text.unicodeScalars.contains(where: { isControl($0) && !(keepNewlines && $0 == "\n") }) else { return text }
        var out = String.UnicodeScalarView()
        for s in text.unicodeScalars {
            if !isControl(s) || (keepNewlines && s == "\n") { out.append(s); continue }
            let hex = String(s.value, radix: 16)
            let escape = s.value < 0x80 ? "\\x" + (hex.count < 2 ? "0" + hex : hex) : "\\u{" + hex + "}"
            out.append(contentsOf: escape.unicodeScalars)
        }
        return String(out)
    }

    static func isControl(_ s: Unicode.Scalar) -> Bool { s.value < 0x20 || (0x7F...0x9F).contains(s.value) }
}
