import Foundation

/// Why a generation ended (OpenAI's `finish_reason`).
public enum FinishReason: String, Sendable, Equatable {
    /// The model produced `<|endoftext|>` or a stop sequence.
    case stop
    /// `max_tokens` were generated or the context is full.
    case length
}

/// What a running request receives from its ``BatchScheduler``, in order: text pieces (never
/// splitting a UTF-8 character, never containing a stop sequence), then exactly one of `finished`
/// or `failed`.
public enum GenerationEvent: Sendable, Equatable {
    case text(String)
    case finished(FinishReason, Usage)
    case failed(String)
}

/// One request waiting for or holding a row of the batch. Its events arrive on ``events``;
/// ``cancel()`` (a client that went away) makes the scheduler drop it at its next step.
public final class GenerationJob: @unchecked Sendable {
    /// The prompt's token ids (non-empty, shorter than the context).
    public let promptIds: [Int]
    public let parameters: SamplingParameters
    /// The request's events; finishes after `finished` or `failed`.
    public let events: AsyncStream<GenerationEvent>
    let continuation: AsyncStream<GenerationEvent>.Continuation
    private let lock = NSLock()
    private var cancelled = false

    public init(promptIds: [Int], parameters: SamplingParameters) {
        self.promptIds = promptIds
        self.parameters = parameters
        (events, continuation) = AsyncStream.makeStream(of: GenerationEvent.self, bufferingPolicy: .unbounded)
        continuation.onTermination = { [weak self] reason in
            if case .cancelled = reason { self?.cancel() }
        }
    }

    /// Stops the generation at the scheduler's next step (no further events are sent).
    public func cancel() { lock.withLock { cancelled = true } }

    /// Whether ``cancel()`` was called or the consumer stopped listening.
    public var isCancelled: Bool { lock.withLock { cancelled } }

    func send(_ event: GenerationEvent) {
        continuation.yield(event)
        switch event {
        case .finished, .failed: continuation.finish()
        case .text: break
        }
    }
}
