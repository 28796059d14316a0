/// What ``trainModelSimple(model:trainLoader:valLoader:optimizer:device:numEpochs:evalFreq:evalIter:startContext:tokenizer:log:)``
/// returns: the book's `train_losses, val_losses, track_tokens_seen`, one entry per evaluation.
///
/// Codable so a run can be saved next to its checkpoint (`JSONEncoder().encode(log)`) and
/// plotted later with ``LossPlot``.
public struct TrainingLog: Codable, Equatable, Sendable {
    /// Mean training loss of the first `evalIter` batches at each evaluation.
    public var trainLosses: [Double] = []
    /// Mean validation loss of the first `evalIter` batches at each evaluation.
    public var valLosses: [Double] = []
    /// Input tokens processed before each evaluation (`tokens_seen`).
    public var tokensSeen: [Int] = []
    /// The optimizer step (`global_step`, from 0) of each evaluation.
    public var steps: [Int] = []
    /// The epoch (from 1) of each evaluation.
    public var epochs: [Int] = []

    /// A log with the given entries (all arrays one entry per evaluation).
    public init(trainLosses: [Double] = [], valLosses: [Double] = [], tokensSeen: [Int] = [],
                steps: [Int] = [], epochs: [Int] = []) {
        self.trainLosses = trainLosses
        self.valLosses = valLosses
        self.tokensSeen = tokensSeen
        self.steps = steps
        self.epochs = epochs
    }

    /// The book's `epochs_seen = torch.linspace(0, num_epochs, len(train_losses))`.
    public func epochsSeen(numEpochs: Int) -> [Double] {
        let n = trainLosses.count
        guard n > 1 else { return n == 1 ? [0] : [] }
        return (0..<n).map { Double(numEpochs) * Double($0) / Double(n - 1) }
    }
}
