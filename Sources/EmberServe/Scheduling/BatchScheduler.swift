import EmberCore
import EmberLLM
import Foundation

/// Continuous batching for one model (Yu et al., "Orca", OSDI 2022; vLLM's and llama.cpp's
/// server loop): a dedicated thread owns the model and a ``RaggedKVCache`` with `maxBatch` rows.
/// Each step it runs one forward pass for every running request (``GPTModel/decodeStep(_:slots:cache:)``),
/// sends each its next text, retires the finished and cancelled ones, then admits waiting requests
/// into the freed rows (their prompts go through ``GPTModel/prefill(_:slot:cache:)`` and they join
/// the next step). Requests past `maxBatch` wait in a queue of at most `maxQueue`; past that
/// ``submit(_:)`` refuses with a 503.
///
/// Each row samples with Ember's ``nextToken(logits:temperature:topK:topP:repetitionPenalty:previousTokens:generator:)``
/// and its own ``Generator`` (seeded by the request's `seed`), so concurrent requests never share
/// random draws; with temperature 0 a row's tokens are the greedy ones of the request served alone.
/// Text goes through a ``TokenStreamDecoder`` (a multi-byte character is sent whole) and the
/// stop-sequence matcher. `<|endoftext|>` ends a row with `stop`; `max_tokens` or a full context with `length`.
public final class BatchScheduler: @unchecked Sendable {
    public let model: GPTModel
    public let tokenizer: GPT2Tokenizer
    public let maxBatch: Int
    public let maxQueue: Int
    /// The id that ends generation (GPT-2's `<|endoftext|>`, 50256).
    public let eosId: Int?
    let metrics: ServerMetrics?

    private let condition = NSCondition()
    private var waiting: [GenerationJob] = []
    private var runningCount = 0
    private var stopping = false
    private var thread: Thread?

    /// - Parameters: `model` (put in eval mode; used only by the scheduler's thread from now on),
    ///   `maxBatch ≥ 1` rows, `maxQueue ≥ 0` waiting requests, `eosId` nil to never stop early.
    public init(model: GPTModel, tokenizer: GPT2Tokenizer, maxBatch: Int = 8, maxQueue: Int = 64,
                eosId: Int? = 50256, metrics: ServerMetrics? = nil) {
        model.eval()
        self.model = model
        self.tokenizer = tokenizer
        self.maxBatch = Swift.max(1, maxBatch)
        self.maxQueue = Swift.max(0, maxQueue)
        self.eosId = eosId
        self.metrics = metrics
    }

    /// Requests waiting for a row.
    public var queueDepth: Int { condition.withLock { waiting.count } }
    /// Requests holding a row.
    public var running: Int { condition.withLock { runningCount } }

    /// Queues `job`; it starts at the scheduler's next step with a free row.
    /// - Throws: ``APIError/overloaded(retryAfterSeconds:)`` when `maxQueue` requests already wait,
    ///   or a 503 when the scheduler was shut down.
    public func submit(_ job: GenerationJob) throws {
        try condition.withLock {
            guard !stopping else {
                throw APIError(status: .serviceUnavailable, message: "The server is shutting down", type: "server_error", code: "shutting_down")
            }
            let free = maxBatch - runningCount
            guard waiting.count < maxQueue + Swift.max(0, free) else { throw APIError.overloaded(retryAfterSeconds: 1) }
            waiting.append(job)
            if thread == nil {
                let t = Thread { [self] in loop() }
                t.name = "ember-serve-scheduler"
                t.stackSize = 8 << 20
                thread = t
                t.start()
            }
            condition.signal()
        }
    }

    /// Stops the thread after its current step; running and waiting requests get `failed`.
    public func shutdown() {
        condition.withLock {
            stopping = true
            condition.signal()
        }
    }

    /// A request's row: its sampling state and what it has sent.
    private struct Row {
        let job: GenerationJob
        let slot: Int
        let generator: Generator?
        var decoder: TokenStreamDecoder
        var stops: StopSequenceMatcher
        var generated = 0
        var lastToken = 0
    }

    private func loop() {
        let cache = RaggedKVCache(model: model, slots: maxBatch)
        var rows: [Row] = []
        var freeSlots = Array((0..<maxBatch).reversed())
        while true {
            var admitted: [GenerationJob] = []
            condition.lock()
            while !stopping && waiting.isEmpty && rows.isEmpty { condition.wait() }
            if stopping {
                let all = rows.map(\.job) + waiting
                waiting.removeAll()
                runningCount = 0
                condition.unlock()
                for job in all { job.send(.failed("the server is shutting down")) }
                return
            }
            while !waiting.isEmpty && admitted.count < freeSlots.count { admitted.append(waiting.removeFirst()) }
            runningCount = rows.count + admitted.count
            condition.unlock()
            let started = DispatchTime.now().uptimeNanoseconds
            var produced = 0

            // One forward pass for every running row.
            rows.removeAll { row in
                guard row.job.isCancelled else { return false }
                cache.release(row.slot); freeSlots.append(row.slot)
                metrics?.recordCancelled()
                return true
            }
            if !rows.isEmpty {
                do {
                    let logits = try model.decodeStep(rows.map(\.lastToken), slots: rows.map(\.slot), cache: cache)   // (B, vocab)
                    var kept: [Row] = []
                    for (i, var row) in rows.enumerated() {
                        if advance(&row, logits: logits.narrow(0, start: i, length: 1), cache: cache) {
                            kept.append(row)
                        } else {
                            cache.release(row.slot); freeSlots.append(row.slot)
                        }
                        produced += 1
                    }
                    rows = kept
                } catch {
                    for row in rows { row.job.send(.failed("\(error)")); cache.release(row.slot); freeSlots.append(row.slot) }
                    rows = []
                }
            }
            // New requests: prefill into a free row, sample their first token; they decode from the next step.
            for job in admitted {
                let slot = freeSlots.removeLast()
                guard !job.isCancelled else { freeSlots.append(slot); metrics?.recordCancelled(); continue }
                var row = Row(job: job, slot: slot, generator: Generator(seed: job.parameters.seed ?? UInt64.random(in: .min ... .max)),
                              decoder: TokenStreamDecoder(tokenizer: tokenizer), stops: StopSequenceMatcher(job.parameters.stop))
                do {
                    let logits = try model.prefill(job.promptIds, slot: slot, cache: cache)                            // (1, vocab)
                    produced += 1
                    if advance(&row, logits: logits, cache: cache) { rows.append(row); continue }
                } catch {
                    job.send(.failed("\(error)"))
                }
                cache.release(slot); freeSlots.append(slot)
            }
            condition.withLock { runningCount = rows.count }
            metrics?.recordStep(tokens: produced, nanoseconds: DispatchTime.now().uptimeNanoseconds - started)
        }
    }

    /// Samples the row's next token from `logits` `(1, vocab)` and sends its text; false when the row
    /// is finished (its last event sent).
    private func advance(_ row: inout Row, logits: Tensor, cache: RaggedKVCache) -> Bool {
        let p = row.job.parameters
        let id = Int(nextToken(logits: logits, temperature: p.temperature, topK: p.topK, topP: p.topP,
                               generator: row.generator).toInt64s()[0])
        if id == eosId { return finish(&row, .stop) }
        row.generated += 1
        let piece: String
        do { piece = try row.decoder.push(id) } catch {
            row.job.send(.failed("\(error)"))
            return false
        }
        let (emit, stopped) = row.stops.push(piece)
        if !emit.isEmpty { row.job.send(.text(emit)) }
        if stopped { return finish(&row, .stop, flush: false) }
        if row.generated >= p.maxTokens || cache.length(row.slot) >= cache.contextLength { return finish(&row, .length) }
        row.lastToken = id
        return true
    }

    private func finish(_ row: inout Row, _ reason: FinishReason, flush: Bool = true) -> Bool {
        if flush {
            let (emit, _) = row.stops.push(row.decoder.finish())
            let rest = emit + row.stops.finish()
            if !rest.isEmpty { row.job.send(.text(rest)) }
        }
        let usage = Usage(promptTokens: row.job.promptIds.count, completionTokens: row.generated)
        metrics?.recordFinished(usage)
        row.job.send(.finished(reason, usage))
        return false
    }
}
