import EmberCore
import EmberNN

/// The book's next-token dataset (chapter 2.6, `GPTDatasetV1`): sliding windows over one token
/// sequence, each target shifted one token to the right of its input.
///
/// Window `i` starts at `i · stride` for every start in `range(0, len(ids) − maxLength, stride)`:
/// input `ids[s ..< s+maxLength]`, target `ids[s+1 ..< s+maxLength+1]`, both `[maxLength]` int64.
/// The ids are kept once; windows are cut when read.
public struct GPTDatasetV1: Dataset {
    /// The whole token sequence.
    public let tokenIds: [Int64]
    /// Tokens per window.
    public let maxLength: Int
    /// Offset between window starts.
    public let stride: Int

    /// - Parameters:
    ///   - tokenIds: the token sequence (e.g. GPT-2 ids of a text).
    ///   - maxLength: tokens per input window (the book's `max_length`, usually `context_length`).
    ///   - stride: offset between consecutive window starts (`stride == maxLength`: no overlap).
    /// Fewer than `maxLength + 1` ids give an empty dataset, as the book's loop does.
    public init(tokenIds: [Int], maxLength: Int, stride: Int) {
        precondition(maxLength > 0 && stride > 0, "GPTDatasetV1: maxLength and stride must be positive")
        self.tokenIds = tokenIds.map(Int64.init)
        self.maxLength = maxLength
        self.stride = stride
    }

    /// Tokenizes `text` with `<|endoftext|>` allowed (`tokenizer.encode(txt, allowed_special=
    /// {"<|endoftext|>"})`), then as ``init(tokenIds:maxLength:stride:)``.
    /// - Throws: what the tokenizer's `encode` throws.
    public init(text: String, tokenizer: GPT2Tokenizer, maxLength: Int, stride: Int) throws {
        self.init(tokenIds: try tokenizer.encode(text, allowedSpecial: ["<|endoftext|>"]),
                  maxLength: maxLength, stride: stride)
    }

    /// `len(range(0, len(ids) - maxLength, stride))`.
    public var count: Int {
        let span = tokenIds.count - maxLength
        return span > 0 ? (span + stride - 1) / stride : 0
    }

    /// Start offset of window `index` in ``tokenIds``.
    public func windowStart(_ index: Int) -> Int { index * stride }

    /// Window `index`: input and target, `[maxLength]` int64 each. Traps outside `0..<count`.
    public subscript(index: Int) -> (input: Tensor, target: Tensor) {
        precondition(index >= 0 && index < count, "GPTDatasetV1: index \(index) out of range 0..<\(count)")
        let s = windowStart(index)
        return (Tensor(array: Array(tokenIds[s ..< s + maxLength]), shape: [maxLength]),
                Tensor(array: Array(tokenIds[s + 1 ..< s + maxLength + 1]), shape: [maxLength]))
    }
}
