import EmberCore
import EmberNN

/// One batch of preference examples, the dict the DPO notebook's `custom_collate_fn` returns.
public struct PreferenceBatch {
    /// The prompts' token ids, unpadded (`batch["prompt"]`, a list of 1-D tensors in the notebook).
    public var prompt: [[Int]]
    /// `[B, L]` int64: prompt + chosen response, padded (`batch["chosen"]`).
    public var chosen: Tensor
    /// `[B, L]` int64: prompt + rejected response, padded (`batch["rejected"]`).
    public var rejected: Tensor
    /// `[B, L]` bool: the positions of `chosen` that count in the log-probability (`batch["chosen_mask"]`).
    public var chosenMask: Tensor
    /// `[B, L]` bool: the same for `rejected`.
    public var rejectedMask: Tensor
}

/// The DPO notebook's `custom_collate_fn` (ch. 7 bonus, §2.3), rule for rule:
/// * the common length `L` is the longest chosen or rejected sequence of the batch **plus one**;
/// * every sequence is padded with `padTokenId` to `L`; its mask is true on its own tokens and false
///   on the padding, and — with `maskPromptTokens` — also false on the first `len(prompt) + 2`
///   positions (the prompt and the two `"\n"` tokens before `### Response:`; clamped to `L`);
/// * then ids and masks are cut to the first `allowedMaxLength` positions (nil: no cut).
/// - Parameters:
///   - batch: the samples, in loader order (at least one).
///   - device: where the tensors are made (`device=` in the notebook).
/// - Returns: `[B, min(L, allowedMaxLength)]` ids (int64) and masks (bool).
/// Source: https://github.com/rasbt/LLMs-from-scratch/blob/main/ch07/04_preference-tuning-with-dpo/dpo-from-scratch.ipynb
public func preferenceCollate(_ batch: [PreferenceSample], padTokenId: Int = 50256, allowedMaxLength: Int? = nil,
                              maskPromptTokens: Bool = true, device: Device = .cpu) -> PreferenceBatch {
    let common = batch.map { Swift.max($0.chosen.count, $0.rejected.count) + 1 }.max() ?? 0
    let width = Swift.min(common, Swift.max(allowedMaxLength ?? common, 0))
    func padded(_ keyPath: KeyPath<PreferenceSample, [Int]>) -> (ids: Tensor, mask: Tensor) {
        var ids = [Int64](), mask = [Bool]()
        ids.reserveCapacity(batch.count * width)
        mask.reserveCapacity(batch.count * width)
        for item in batch {
            let sequence = item[keyPath: keyPath]
            let masked = maskPromptTokens ? item.prompt.count + 2 : 0
            for t in 0..<width {
                ids.append(t < sequence.count ? Int64(sequence[t]) : Int64(padTokenId))
                mask.append(t < sequence.count && t >= masked)
            }
        }
        return (Tensor(array: ids, shape: [batch.count, width], device: device),    // [B, L]
                Tensor(array: mask, shape: [batch.count, width], device: device))   // [B, L]
    }
    let (chosen, chosenMask) = padded(\.chosen)
    let (rejected, rejectedMask) = padded(\.rejected)
    return PreferenceBatch(prompt: batch.map(\.prompt), chosen: chosen, rejected: rejected,
                           chosenMask: chosenMask, rejectedMask: rejectedMask)
}

/// The notebook's preference loaders: `DataLoader(PreferenceDataset(data), batch_size, collate_fn=
/// partial(custom_collate_fn, mask_prompt_tokens=…, allowed_max_length=…), shuffle, drop_last)`.
public typealias PreferenceLoader = BatchLoader<PreferenceDataset, PreferenceBatch>

extension BatchLoader where D == PreferenceDataset, Batch == PreferenceBatch {
    /// A loader of `dataset` collated by ``preferenceCollate(_:padTokenId:allowedMaxLength:maskPromptTokens:device:)``
    /// (the notebook: `batch_size=8`; training `shuffle=True, drop_last=True`, validation and test neither;
    /// `mask_prompt_tokens=True`, `allowed_max_length=1024`).
    public init(preferences dataset: PreferenceDataset, batchSize: Int = 8, shuffle: Bool = false, dropLast: Bool = false,
                allowedMaxLength: Int? = 1024, maskPromptTokens: Bool = true, device: Device = .cpu) {
        self.init(dataset, batchSize: batchSize, shuffle: shuffle, dropLast: dropLast) { samples in
            preferenceCollate(samples, allowedMaxLength: allowedMaxLength, maskPromptTokens: maskPromptTokens, device: device)
        }
    }
}
