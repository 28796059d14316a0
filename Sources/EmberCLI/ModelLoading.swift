import ArgumentParser
import Ember
import Foundation

/// Where `ember generate` / `ember eval` take their model from: `--checkpoint FILE` (an `ember train`
/// checkpoint, the book's `model_and_optimizer.pth`, a bare state dict) or `--model M` (pretrained
/// weights: a Hub repo id, a GPT-2 size name, a local model directory or weights file).
struct ModelSourceOptions: ParsableArguments {
    @Option(help: "A checkpoint from `ember train`, the book's model_and_optimizer.pth, or a model state dict.")
    var checkpoint: String?
    @Option(help: ArgumentHelp(
        "Pretrained weights: a Hugging Face Hub id (openai-community/gpt2), a GPT-2 size (gpt2-small … gpt2-xl), a model directory, or a .safetensors/.pth/.bin file.",
        discussion: "A Hub id is downloaded into the Hugging Face cache on first use (see `ember download`)."))
    var model: String?
    @Option(help: "Hub branch, tag or commit for --model.")
    var revision = "main"

    func validate() throws {
        switch (checkpoint, model) {
        case (nil, nil): throw ValidationError("give the model: --checkpoint FILE (an ember train checkpoint) or --model M (pretrained weights)")
        case (.some, .some): throw ValidationError("--checkpoint and --model are alternatives; give one")
        default: break
        }
    }
}

/// The one place `ember generate` and `ember eval` turn their options into a model.
enum ModelLoading {
    /// The model the options name, in eval mode on the CPU. For `--checkpoint`:
    /// ``TrainingCheckpoint/loadModel(contentsOf:fallbackConfig:)`` (for files without a config the model
    /// is the `--preset`/dimension options, default the book's chapter-5 GPT-2 small with context 256),
    /// with a note on standard error when the file's own config overrides given model options (except
    /// those in `alsoUsed`, which the command reads for something else too). For `--model`:
    /// ``GPTModel/fromPretrained(_:config:dtype:tieWeights:dropRate:)``, after a Hub download when the
    /// name is no local path.
    /// - Throws: ``TrainingError``, ``PretrainedError`` or ``HubError`` with their messages;
    ///   `ValidationError` for bad model options.
    ///   `tieWeights` is passed to `fromPretrained` for `--model` (false: the book's `load_weights_into_gpt`,
    ///   two equal Parameters, as finetuning wants them).
    static func load(_ source: ModelSourceOptions, options: ModelOptions, alsoUsed: Set<String> = [],
                     tieWeights: Bool? = nil) throws -> GPTModel {
        if let name = source.model {
            return try pretrained(name, revision: source.revision, tieWeights: tieWeights)
        }
        return try checkpoint(source.checkpoint!, options: options, alsoUsed: alsoUsed)
    }

    /// A model from a checkpoint file, as ``load(_:options:alsoUsed:)`` reads `--checkpoint`.
    static func checkpoint(_ path: String, options: ModelOptions, alsoUsed: Set<String> = []) throws -> GPTModel {
        let fallback = try options.config(contextDefault: 256)
        let (model, fromFile) = try TrainingCheckpoint.loadModel(contentsOf: URL(fileURLWithPath: path), fallbackConfig: fallback)
        let ignored = options.givenOptions.filter { !alsoUsed.contains($0) }
        if fromFile && !ignored.isEmpty {
            FileHandle.standardError.write(Data("note: the checkpoint has its own config; \(ignored.joined(separator: ", ")) ignored\n".utf8))
        }
        return model
    }

    /// Pretrained weights by name: an existing path, else a GPT-2 size (`gpt2-medium`) or a Hub repo id,
    /// downloaded (or found in the cache) with progress on standard error. `tieWeights` as
    /// ``GPTModel/fromPretrained(_:config:dtype:tieWeights:dropRate:)`` (false: the book's two equal Parameters).
    static func pretrained(_ name: String, revision: String, tieWeights: Bool? = nil) throws -> GPTModel {
        if FileManager.default.fileExists(atPath: name) {
            return try loadPretrained(URL(fileURLWithPath: name), tieWeights: tieWeights)
        }
        let repoId = GPT2Size(named: name).map(\.hubRepoId) ?? name
        guard HubClient.looksLikeRepoId(repoId) else {
            throw ValidationError("--model \(name): no such file or directory, and not a Hugging Face repo id (ORG/NAME)")
        }
        let console = DownloadConsole(live: isatty(STDERR_FILENO) != 0)
        let client = HubClient()
        let directory: URL
        do {
            directory = try awaitBlocking { try await client.snapshot(repoId: repoId, revision: revision, progress: console.report) }
        } catch let error as HubError {
            console.finish()
            throw DownloadError(description: error.description)
        }
        console.finish()
        return try loadPretrained(directory, tieWeights: tieWeights)
    }

    static func loadPretrained(_ url: URL, tieWeights: Bool? = nil) throws -> GPTModel {
        do { return try GPTModel.fromPretrained(url, tieWeights: tieWeights) } catch {
            throw DownloadError(description: error.description)
        }
    }
}
