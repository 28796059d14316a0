import ArgumentParser
import EmberLLM

/// `ember tokenize TEXT` (GPT-2 BPE ids, as tiktoken's `gpt2` encoding) and `--decode` for ids.
struct TokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize",
        abstract: "Encode text to GPT-2 token ids, or decode ids (--decode) back to text.")

    @Argument(help: "The text to encode, or the ids to decode (space or comma separated).")
    var input: [String]

    @Flag(help: "Decode token ids to text.")
    var decode = false

    @Flag(help: "Allow <|endoftext|> in the text (tiktoken's allowed_special).")
    var allowEndOfText = false

    func run() throws {
        let tokenizer = try GPT2Tokenizer.gpt2()
        if decode {
            let parts = input.joined(separator: " ").split(whereSeparator: { $0 == " " || $0 == "," })
            var ids: [Int] = []
            for p in parts {
                guard let id = Int(p) else { throw ValidationError("'\(p)' is not a token id") }
                ids.append(id)
            }
            print(try tokenizer.decode(ids))
        } else {
            let ids = try tokenizer.encode(input.joined(separator: " "),
                                           allowedSpecial: allowEndOfText ? ["<|endoftext|>"] : .none)
            print(ids.map(String.init).joined(separator: " "))
        }
    }
}
