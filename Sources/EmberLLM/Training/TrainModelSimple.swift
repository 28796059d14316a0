import EmberCore
import EmberNN
import Foundation

/// The book's `train_model_simple` (chapter 5.2), line for line: per epoch, ``TrainingLoop``'s
/// epoch (`model.train()`; per batch `optimizer.zeroGrad()`, loss, `backward()`, `optimizer.step()`,
/// count the batch's tokens; every `evalFreq` steps, from step 0, evaluate on `evalIter` batches of
/// each loader and log `Ep 1 (Step 000000): Train loss 9.783, Val loss 9.927`), then a 50-token
/// greedy sample from `startContext`.
/// - Parameters:
///   - device: the model's device; batches and the sample's prompt are moved there.
///   - log: receives each printed line (default `print`).
/// - Returns: the losses and token counts of every evaluation.
/// - Throws: what the tokenizer throws while printing samples.
@discardableResult
public func trainModelSimple<D1: Dataset, D2: Dataset>(
    model: GPTModel, trainLoader: DataLoader<D1>, valLoader: DataLoader<D2>, optimizer: some Optimizer,
    device: Device = .cpu, numEpochs: Int, evalFreq: Int, evalIter: Int, startContext: String, tokenizer: GPT2Tokenizer,
    log: (String) -> Void = { print($0) }
) throws -> TrainingLog {
    let loop = TrainingLoop(model: model, optimizer: optimizer, device: device, evalFreq: evalFreq, evalIter: evalIter)
    for epoch in 0..<numEpochs {
        loop.trainEpoch(epoch, trainLoader: trainLoader, valLoader: valLoader, log: log)
        try generateAndPrintSample(model: model, tokenizer: tokenizer, device: device, startContext: startContext, log: log)
    }
    return loop.history
}

/// The book's `generate_and_print_sample` (chapter 5.2): in eval mode, 50 greedy tokens after
/// `startContext` (context size = `pos_emb` rows), printed on one line (newlines become spaces);
/// the model is back in training mode afterwards. `device` is the model's device (the prompt is moved there).
/// - Throws: what the tokenizer throws.
public func generateAndPrintSample(model: GPTModel, tokenizer: GPT2Tokenizer, device: Device = .cpu, startContext: String,
                                   log: (String) -> Void = { print($0) }) throws {
    model.eval()
    let contextSize = model.pos_emb.weight.shape[0]
    let encoded = try textToTokenIds(startContext, tokenizer: tokenizer).to(device)
    let tokenIds = generateTextSimple(model: model, idx: encoded, maxNewTokens: 50, contextSize: contextSize)
    let decoded = try tokenIdsToText(tokenIds, tokenizer: tokenizer)
    log(decoded.replacingOccurrences(of: "\n", with: " "))
    model.train()
}
