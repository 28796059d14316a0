import EmberCore
import EmberNN

extension GPTModel {
    /// A copy of this model with every `LinearWithLoRA` merged into a plain `Linear`
    /// (`W' = W + (alpha / rank) · (A · B)ᵀ`, same bias): the book's merged model in appendix E, PEFT's
    /// `merge_and_unload()`. This model is unchanged; the copy shares no memory with it and has the
    /// book's plain keys (`trf_blocks.0.att.W_query.weight`), loadable by ``fromPretrained(_:config:dtype:tieWeights:dropRate:)``
    /// when saved. Its `out_head` has this model's head's shape (a classification head stays one);
    /// tied weights become two copies. The copy is built on `meta` and takes the merged tensors, so
    /// nothing is drawn; its parameters require grad, as a new model's; it has this model's training mode.
    /// Use ``mergeLoRA(_:)`` to merge in place instead.
    /// - Throws: ``LoadStateDictError`` if this model's modules do not have the book's layout.
    public func mergedLoRACopy() throws -> GPTModel {
        let sd = mergedLoRAStateDict(self).mapValues { t in noGrad { t.clone() } }
        let copy = GPTModel(config, device: .meta)
        let head = out_head
        copy.out_head = Linear(head.inFeatures, head.outFeatures, bias: head.bias != nil, device: .meta, dtype: head.weight.dtype)
        try copy.loadStateDict(sd, strict: true, assign: true)
        copy.train(isTraining)
        return copy
    }
}
