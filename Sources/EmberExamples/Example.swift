/// A runnable example from the book or its notebooks, printed as the notebook prints it.
public struct Example: Sendable {
    public let name: String
    public let summary: String
    public let run: @Sendable () throws -> Void
}

/// All examples `ember example NAME` can run, in the book's order.
public let allExamples: [Example] = [
    Example(name: "attention", summary: "Chapter 3 / seed notebook: causal self-attention on a batch of two (case C22)", run: runAttentionExample),
    Example(name: "appendix-a", summary: "Appendix A.7: a small MLP trained with SGD on the toy data (prints the losses)", run: runAppendixAExample),
    Example(name: "buffers", summary: "Seed notebook \"Understanding PyTorch Buffers\": devices, state dicts, save/load (case C27)", run: runBuffersExample),
]
