import EmberCore

/// The book's `custom_collate_fn` (ch. 7 §7.3): a batch of token-id lists of unequal lengths made
/// into `(inputs, targets)`, both `[B, L]` int64.
///
/// Per item, in the book's order: append one `padTokenId` (`<|endoftext|>`), pad with `padTokenId`
/// to the batch's longest item + 1, take `inputs = padded[:-1]` and `targets = padded[1:]`
/// (shifted by one), replace every target equal to `padTokenId` but the first by `ignoreIndex`
/// (so the model learns to emit one end-of-text token and the loss skips the padding), optionally
/// (exercise 7.2) set the first `instructionLength − 1` targets — those predicting the prompt —
/// to `ignoreIndex` too, and last truncate both to `allowedMaxLength`. So `L` = min(longest item's
/// length, `allowedMaxLength`).
///
/// ```swift
/// let (x, y) = customCollate([[0, 1, 2, 3, 4], [5, 6], [7, 8, 9]])
/// // x: [[0, 1, 2, 3, 4], [5, 6, 50256, 50256, 50256], [7, 8, 9, 50256, 50256]]
/// // y: [[1, 2, 3, 4, 50256], [6, 50256, -100, -100, -100], [8, 9, 50256, -100, -100]]
/// ```
/// - Parameters:
///   - batch: the items (non-empty lists of ids; an empty batch gives `[0, 0]` tensors).
///   - padTokenId: the pad and end-of-text id (50256).
///   - ignoreIndex: the target that ``crossEntropy(_:_:ignoreIndex:reduction:)`` skips (−100).
///   - allowedMaxLength: the longest sequence kept (the model's context length; the book: 1024);
///     nil keeps all.
///   - instructionLengths: per item, the prompt's length in tokens to mask (exercise 7.2); nil masks none.
public func customCollate(_ batch: [[Int]], padTokenId: Int = 50256, ignoreIndex: Int = -100,
                          allowedMaxLength: Int? = nil, instructionLengths: [Int]? = nil) -> (inputs: Tensor, targets: Tensor) {
    guard let longest = batch.map(\.count).max() else {
        return (Tensor.empty([0, 0], dtype: .int64), Tensor.empty([0, 0], dtype: .int64))
    }
    let batchMaxLength = longest + 1
    let length = Swift.max(0, Swift.min(batchMaxLength - 1, allowedMaxLength ?? Int.max))
    var inputs: [Int64] = [], targets: [Int64] = []
    inputs.reserveCapacity(batch.count * length)
    targets.reserveCapacity(batch.count * length)
    for (i, item) in batch.enumerated() {
        let padded = item + Array(repeating: padTokenId, count: batchMaxLength - item.count)   // item + <|endoftext|> + padding
        var x = Array(padded.dropLast()), y = Array(padded.dropFirst())                         // shift by one
        var seenPad = false
        for t in y.indices where y[t] == padTokenId {                                           // all but the first pad
            if seenPad { y[t] = ignoreIndex }
            seenPad = true
        }
        if let lengths = instructionLengths {
            for t in 0..<Swift.min(Swift.max(lengths[i] - 1, 0), y.count) { y[t] = ignoreIndex }   // targets[:instruction_length-1]
        }
        x.removeLast(x.count - length)
        y.removeLast(y.count - length)
        inputs += x.map(Int64.init)
        targets += y.map(Int64.init)
    }
    return (Tensor(array: inputs, shape: [batch.count, length]),       // (B, L)
            Tensor(array: targets, shape: [batch.count, length]))      // (B, L)
}

/// ``customCollate(_:padTokenId:ignoreIndex:allowedMaxLength:instructionLengths:)`` for
/// ``InstructionDataset`` samples; `maskInstruction` masks each prompt out of the loss (exercise 7.2).
public func customCollate(_ batch: [InstructionSample], padTokenId: Int = 50256, ignoreIndex: Int = -100,
                          allowedMaxLength: Int? = nil, maskInstruction: Bool = false) -> (inputs: Tensor, targets: Tensor) {
    customCollate(batch.map(\.tokenIds), padTokenId: padTokenId, ignoreIndex: ignoreIndex, allowedMaxLength: allowedMaxLength,
                  instructionLengths: maskInstruction ? batch.map(\.instructionLength) : nil)
}
