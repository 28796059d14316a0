import EmberLLM

/// How chat messages become the prompt text a served model continues.
public enum ChatTemplate: String, Sendable, CaseIterable {
    /// For a base (pretrained) model: the messages' contents, one after another, separated by a
    /// blank line; the model continues the text.
    case plain
    /// For an instruction-finetuned model (book chapter 7): the book's Alpaca prompt
    /// (``formatInput(_:)-(InstructionEntry)``) for the last user message, then the response header
    /// (``alpacaResponseHeader``), as the book's `format_input(entry) + "\n\n### Response:\n"`.
    case alpaca

    /// The prompt for `messages`.
    /// - Throws: ``APIError`` (400, `messages`) when there is no message, or — for `alpaca` — no user message.
    public func prompt(for messages: [ChatMessage]) throws -> String {
        guard !messages.isEmpty else { throw APIError.invalidRequest("messages must not be empty", param: "messages") }
        switch self {
        case .plain:
            return messages.map(\.content).joined(separator: "\n\n")
        case .alpaca:
            guard let last = messages.last(where: { $0.role == "user" }) else {
                throw APIError.invalidRequest("the Alpaca template needs a message with role \"user\"", param: "messages")
            }
            return formatInput(InstructionEntry(instruction: last.content, input: "", output: "")) + alpacaResponseHeader
        }
    }
}
