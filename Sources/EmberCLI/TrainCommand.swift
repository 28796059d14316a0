import ArgumentParser
import Ember
import Foundation

/// `ember train`: the book's chapter-5 pretraining (ch. 5.2) on a text file (default: the bundled
/// "The Verdict"), with a log and loss plot written after every epoch, a checkpoint at the end, on
/// Ctrl-C and every `--save-every` epochs, and `--resume`.
///
/// Without options it is the book's run: `GPT_CONFIG_124M` with `context_length` 256, AdamW
/// (lr 0.0004, weight decay 0.1), 10 epochs of batch 2, seed 123, `eval_freq` 5, `eval_iter` 5.
/// Ctrl-C stops after the current step and saves the run there (part-way through an epoch: `--resume`
/// continues it at the next batch, as the uninterrupted run would have).
struct TrainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Pretrain a GPT model as the book's chapter 5 does.",
        discussion: """
        Writes into --output \(TrainingRun.logFileName) and \(TrainingRun.plotFileName) after every epoch, and \
        \(TrainingRun.checkpointFileName) ({"model_state_dict", "optimizer_state_dict"} as the book saves it, plus \
        Ember's keys for --resume; 1.95 GB for GPT-2 small) at the end, on Ctrl-C and every --save-every epochs. \
        Ctrl-C stops after the current step and saves there; --resume continues from that step.
        """)

    @Option(help: "UTF-8 text to train on (default: the book's bundled the-verdict.txt).")
    var data: String?

    @OptionGroup var model: ModelOptions

    @Option(help: "Epochs in total (default 10; with --resume, the new total).")
    var epochs: Int?
    @Option(help: "AdamW learning rate (default 0.0004).")
    var lr: Double?
    @Option(help: "AdamW weight decay (default 0.1).")
    var weightDecay: Double?
    @Option(help: "Windows per batch (default 2).")
    var batchSize: Int?
    @Option(help: "torch.manual_seed before the model is built (default 123).")
    var seed: Int?
    @Option(help: "Evaluate every N steps (default 5).")
    var evalFreq: Int?
    @Option(help: "Batches per evaluation (default 5).")
    var evalIter: Int?
    @Option(help: "Prompt of the sample printed after each epoch (default \"Every effort moves you\").")
    var startContext: String?

    @Option(help: "Where to train: cpu or vulkan:0. Weights and dropout masks are drawn on the CPU, so a seed gives the same run on every device up to float32 rounding.")
    var device = "cpu"

    @Option(help: "Folder for the checkpoint, log and plot.")
    var output = "out"
    @Option(help: "Continue from a checkpoint written by `ember train` (settings come from it).")
    var resume: String?
    @Option(help: "Also write the checkpoint after every N-th epoch (default: only at the end and on Ctrl-C).")
    var saveEvery: Int?

    func validate() throws {
        if let saveEvery, saveEvery < 1 { throw ValidationError("--save-every must be at least 1, got \(saveEvery)") }
        // A resumed run is the saved run: other settings would silently disagree with the saved optimizer.
        if resume != nil {
            let given = [("--lr", lr != nil), ("--weight-decay", weightDecay != nil), ("--batch-size", batchSize != nil),
                         ("--seed", seed != nil), ("--eval-freq", evalFreq != nil), ("--eval-iter", evalIter != nil),
                         ("--start-context", startContext != nil)].filter(\.1).map(\.0) + model.givenOptions
            if !given.isEmpty {
                throw ValidationError("--resume continues the saved run with its own settings; remove \(given.joined(separator: ", ")) (only --epochs, --data, --output and --device may be given)")
            }
        }
    }

    func run() throws {
        // Under `mpirun -np N` every process is one rank of a data-parallel run; rank 0 prints and writes.
        let group = try ProcessGroup.fromEnvironment()
        if group.rank != 0 { try silenceOutput() }
        // Everything that can be refused is checked before anything is created: the settings (or the
        // checkpoint to resume), the data, then the output directory; only then is a model built.
        let device = try DeviceOption.resolve(device)
        var checkpoint: TrainingCheckpoint?
        var fresh: TrainingSettings?
        if let resume {
            checkpoint = try TrainingCheckpoint.load(contentsOf: URL(fileURLWithPath: resume))
        } else {
            let s = try settings()
            try s.validate()
            fresh = s
        }
        let tokenizer = try GPT2Tokenizer.gpt2()
        let text = try data.map { try TrainingText.load(contentsOf: URL(fileURLWithPath: $0)) } ?? TrainingText.theVerdict()
        try TrainingRun.checkOutputDirectory(URL(fileURLWithPath: output))
        let run: TrainingRun
        if let resume, let checkpoint {
            run = try TrainingRun(text: text, resumingFrom: checkpoint, path: resume, numEpochs: epochs, device: device, tokenizer: tokenizer, group: group)
            print("Resuming from \(resume): \(run.epochsCompleted) of \(run.settings.numEpochs) epochs done (step \(run.globalStep), \(run.tokensSeen) tokens seen)")
        } else {
            run = try TrainingRun(text: text, settings: fresh!, device: device, tokenizer: tokenizer, group: group)
        }
        if group.worldSize > 1 {
            print("Data-parallel over \(group.worldSize) processes (\(group.backendName)): \(run.settings.batchSize / group.worldSize) of every \(run.settings.batchSize) windows per process; rank 0 prints and writes")
        }
        let c = run.settings.config
        print("GPTModel: \(run.model.parameters().reduce(0) { $0 + $1.numel }) parameters (emb_dim \(c.embDim), n_layers \(c.nLayers), n_heads \(c.nHeads), context_length \(c.contextLength))\(device == .cpu ? "" : " on \(device)"); \(run.trainLoader.count) training and \(run.valLoader.count) validation batches per epoch")
        guard !run.isFinished else {
            print("Nothing to do: \(run.epochsCompleted) epochs are done; pass a larger --epochs to continue.")
            return
        }
        try train(run, into: URL(fileURLWithPath: output))
    }

    /// The settings from the options (unset ones keep the book's values).
    func settings() throws -> TrainingSettings {
        var s = TrainingSettings.book
        s.config = try model.config(contextDefault: 256)
        if let epochs { s.numEpochs = epochs }
        if let lr { s.learningRate = lr }
        if let weightDecay { s.weightDecay = weightDecay }
        if let batchSize { s.batchSize = batchSize }
        if let seed { s.seed = seed }
        if let evalFreq { s.evalFreq = evalFreq }
        if let evalIter { s.evalIter = evalIter }
        if let startContext { s.startContext = startContext }
        return s
    }

    /// Runs the remaining epochs, writing the log and plot after each and the checkpoint as
    /// ``TrainingRun/isCheckpointDue(every:)`` says; Ctrl-C stops between steps and saves there.
    func train(_ run: TrainingRun, into directory: URL) throws {
        let interrupt = InterruptFlag()
        interrupt.install()
        defer { interrupt.uninstall() }
        let console = TrainingConsole(live: isatty(STDOUT_FILENO) != 0)
        let started = Date()
        while !run.isFinished {
            let outcome = try run.runEpoch(log: console.line, progress: console.progress, shouldStop: interrupt.isRaised)
            console.endProgress()
            if outcome == .interrupted {
                let checkpoint = directory.appendingPathComponent(TrainingRun.checkpointFileName).path
                if run.group.rank == 0 { try run.writeOutputs(to: directory) }
                FileHandle.standardError.write(Data("Interrupted during epoch \(run.epochsCompleted + 1) after \(run.stepsInEpoch) of its \(run.trainLoader.count) steps; saved \(checkpoint) there. Continue with `ember train --resume \(checkpoint)`.\n".utf8))
                throw ExitCode(130)
            }
            if run.group.rank == 0 { try run.writeOutputs(to: directory, includingCheckpoint: run.isCheckpointDue(every: saveEvery)) }
        }
        print(String(format: "Training completed in %.2f minutes.", Date().timeIntervalSince(started) / 60))
        print("Wrote \(directory.appendingPathComponent(TrainingRun.checkpointFileName).path), \(TrainingRun.logFileName) and \(TrainingRun.plotFileName)")
    }
}

/// Sends this process's standard output to /dev/null (ranks other than 0 of a data-parallel run:
/// their lines would repeat rank 0's). Errors still reach standard error.
func silenceOutput() throws {
    fflush(nil)
    let null = open("/dev/null", O_WRONLY)
    guard null >= 0 else { return }
    dup2(null, STDOUT_FILENO)
    close(null)
}
