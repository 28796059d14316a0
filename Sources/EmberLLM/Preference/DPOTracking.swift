/// What ``trainModelDPOSimple(policyModel:referenceModel:trainLoader:valLoader:optimizer:numEpochs:beta:evalFreq:evalIter:startContext:tokenizer:device:log:afterStep:)``
/// returns: the notebook's `tracking` dict, one entry per evaluation. Codable, so a run can be saved
/// beside its model and plotted later (``lossLog`` and ``rewardMarginLog`` give ``LossPlot`` its input).
public struct DPOTracking: Codable, Equatable, Sendable {
    /// Mean DPO loss of the first `evalIter` training batches (`train_losses`).
    public var trainLosses: [Double] = []
    /// Their mean chosen reward (`train_chosen_rewards`).
    public var trainChosenRewards: [Double] = []
    /// Their mean rejected reward (`train_rejected_rewards`).
    public var trainRejectedRewards: [Double] = []
    /// Mean DPO loss of the first `evalIter` validation batches (`val_losses`).
    public var valLosses: [Double] = []
    /// Their mean chosen reward (`val_chosen_rewards`).
    public var valChosenRewards: [Double] = []
    /// Their mean rejected reward (`val_rejected_rewards`).
    public var valRejectedRewards: [Double] = []
    /// Chosen-sequence tokens trained on before each evaluation (`tokens_seen`: `batch["chosen"].numel()` per step).
    public var tokensSeen: [Int] = []

    /// An empty record.
    public init() {}

    /// `train_reward_margins`: chosen minus rejected reward at each evaluation.
    public var trainRewardMargins: [Double] { zip(trainChosenRewards, trainRejectedRewards).map { $0 - $1 } }
    /// `val_reward_margins`.
    public var valRewardMargins: [Double] { zip(valChosenRewards, valRejectedRewards).map { $0 - $1 } }

    /// The losses as a ``TrainingLog`` (for ``LossPlot``, the notebook's first `plot_losses`).
    public var lossLog: TrainingLog {
        TrainingLog(trainLosses: trainLosses, valLosses: valLosses, tokensSeen: tokensSeen)
    }
    /// The reward margins as a ``TrainingLog`` (the notebook's second `plot_losses(…, label="reward margins")`).
    public var rewardMarginLog: TrainingLog {
        TrainingLog(trainLosses: trainRewardMargins, valLosses: valRewardMargins, tokensSeen: tokensSeen)
    }

    mutating func append(_ e: (train: DPOLossAverages, val: DPOLossAverages), tokensSeen seen: Int) {
        trainLosses.append(e.train.loss)
        trainChosenRewards.append(e.train.chosenRewards)
        trainRejectedRewards.append(e.train.rejectedRewards)
        valLosses.append(e.val.loss)
        valChosenRewards.append(e.val.chosenRewards)
        valRejectedRewards.append(e.val.rejectedRewards)
        tokensSeen.append(seen)
    }
}
