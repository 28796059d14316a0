import Foundation

extension GPTConfig {
    /// Upper bounds on each size, far above every GPT-2 (vocab 50,257, context 1,024, emb_dim 1,600,
    /// 48 layers, 25 heads), so that a config from a checkpoint, a `config.json` or the command line that
    /// lies (`context_length` 2^32, `vocab_size` 2^40) is refused before a tensor is allocated.
    public static let maxVocabSize = 1 << 22, maxContextLength = 1 << 17, maxEmbDim = 1 << 15, maxLayers = 1024
    /// Most float32 elements a model may hold: parameters plus every block's causal mask
    /// (`n_layers × context_length²`); 2^32 elements are 16 GiB.
    public static let maxModelElements = 1 << 32

    /// Elements of a model of this config: ``parameterCount`` plus the causal masks, or `nil` when that
    /// overflows Int64 (computed with overflow checks: the sizes may come from a hostile file).
    public var modelElementCount: Int? {
        struct Overflow: Error {}
        func m(_ a: Int, _ b: Int) throws -> Int { let (p, o) = a.multipliedReportingOverflow(by: b); if o { throw Overflow() }; return p }
        func a(_ x: Int, _ y: Int) throws -> Int { let (s, o) = x.addingReportingOverflow(y); if o { throw Overflow() }; return s }
        func total() throws -> Int {
            let e = embDim
            let ee = try m(e, e)
            let attention = try a(try m(4, ee), try m(qkvBias ? 4 : 1, e))      // W_query/key/value, out_proj (+ biases)
            let feedForward = try a(try m(8, ee), try m(5, e))                   // layers.0, layers.2
            let block = try a(try a(attention, feedForward), try m(4, e))       // + norm1, norm2
            let embeddings = try a(try m(try m(2, vocabSize), e), try m(contextLength, e)) // tok_emb, out_head, pos_emb
            let masks = try m(nLayers, try m(contextLength, contextLength))
            return try a(try a(try a(try m(nLayers, block), embeddings), masks), try m(2, e))
        }
        return try? total()
    }

    /// Checks every size against ``maxVocabSize`` … ``maxModelElements`` (and positivity, heads dividing
    /// the embedding size, a drop rate in [0, 1)) without allocating anything.
    /// - Returns: the first problem as a sentence naming the key (`context_length = 4294967296 is
    ///   outside 1...131072`), or `nil` when the config is sane.
    public func sizeProblem() -> String? {
        for (name, v, limit) in [("vocab_size", vocabSize, Self.maxVocabSize), ("context_length", contextLength, Self.maxContextLength),
                                 ("emb_dim", embDim, Self.maxEmbDim), ("n_layers", nLayers, Self.maxLayers),
                                 ("n_heads", nHeads, Self.maxEmbDim)] where !(1...limit).contains(v) {
            return "\(name) = \(v) is outside 1...\(limit)"
        }
        guard embDim % nHeads == 0 else { return "n_heads = \(nHeads) does not divide emb_dim = \(embDim)" }
        guard dropRate >= 0 && dropRate < 1 else { return "drop_rate = \(dropRate) is outside [0, 1)" }
        guard let n = modelElementCount, n <= Self.maxModelElements else {
            return "the model would hold \(modelElementCount.map(String.init) ?? "more than 2^63") float32 values "
                + "(parameters and causal masks), more than the limit of \(Self.maxModelElements) (16 GiB)"
        }
        return nil
    }

    /// Checks this config against the shapes of a state dict's `tok_emb.weight` (`[vocab_size,
    /// emb_dim]`), `pos_emb.weight` (`[context_length, emb_dim]`) and the number of `trf_blocks.N.`
    /// prefixes, so a config that lies about the weights it came with is refused before a model is built.
    /// - Parameter shapes: tensor shapes by state-dict key.
    /// - Returns: the first disagreement as a sentence naming the key, or `nil`.
    public func shapeProblem(_ shapes: [String: [Int]]) -> String? {
        if let s = shapes["tok_emb.weight"], s != [vocabSize, embDim] {
            return "tok_emb.weight has shape \(s), but the config says [vocab_size, emb_dim] = [\(vocabSize), \(embDim)]"
        }
        if let s = shapes["pos_emb.weight"], s != [contextLength, embDim] {
            return "pos_emb.weight has shape \(s), but the config says [context_length, emb_dim] = [\(contextLength), \(embDim)]"
        }
        var blocks = Set<Int>()
        for key in shapes.keys where key.hasPrefix("trf_blocks.") {
            if let n = Int(key.dropFirst("trf_blocks.".count).prefix { $0 != "." }) { blocks.insert(n) }
        }
        if !blocks.isEmpty, blocks.count != nLayers {
            return "the weights have \(blocks.count) trf_blocks, but the config says n_layers = \(nLayers)"
        }
        return nil
    }
}
