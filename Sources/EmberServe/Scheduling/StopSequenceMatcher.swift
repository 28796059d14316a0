/// Cuts streamed text at the first stop sequence (OpenAI's `stop`: the returned text stops before
/// it and does not contain it), holding back any tail that could still become a stop sequence so a
/// client never receives text that is later taken back.
struct StopSequenceMatcher: Sendable {
    let stops: [String]
    private var pending = ""

    init(_ stops: [String]) { self.stops = stops }

    /// Adds decoded text; returns what is safe to send and whether a stop sequence was reached (then
    /// the returned text ends just before it and nothing more should be generated).
    mutating func push(_ text: String) -> (emit: String, stopped: Bool) {
        guard !stops.isEmpty else { return (text, false) }
        pending += text
        if let cut = stops.compactMap({ pending.range(of: $0)?.lowerBound }).min() {
            defer { pending = "" }
            return (String(pending[..<cut]), true)
        }
        let hold = stops.map(longestPrefixSuffix).max() ?? 0
        let emit = String(pending.dropLast(hold))
        pending = String(pending.suffix(hold))
        return (emit, false)
    }

    /// The text still held back (no stop sequence completed); empties it.
    mutating func finish() -> String {
        defer { pending = "" }
        return pending
    }

    /// Characters at the end of `pending` that are a proper prefix of `stop`.
    private func longestPrefixSuffix(_ stop: String) -> Int {
        let chars = Array(stop)
        for n in stride(from: min(chars.count - 1, pending.count), to: 0, by: -1) where pending.hasSuffix(String(chars[..<n])) {
            return n
        }
        return 0
    }
}
