import ArgumentParser
import Ember
import Foundation

/// `ember download REPO_ID [--revision R] [--include GLOB ...]`: a Hugging Face Hub repository into the
/// Hugging Face cache (`$HF_HUB_CACHE`, `$HF_HOME/hub` or `~/.cache/huggingface/hub`), shared with Python's
/// `huggingface_hub`/`transformers`; prints the snapshot directory on standard output.
///
/// Progress goes to standard error: a bar with bytes/s and ETA redrawn in place on a terminal, otherwise a
/// line per file. Honours `HF_ENDPOINT`, `HF_TOKEN`, `HF_HOME`, `HF_HUB_CACHE` and `HF_HUB_OFFLINE`
/// (see ``HubClient``).
struct DownloadCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "download",
        abstract: "Download a Hugging Face Hub model repository into the Hugging Face cache.",
        discussion: """
            Without --include: the files a GPT-style model needs (config.json, generation_config.json, \
            *.safetensors and model.safetensors.index.json, or pytorch_model.bin when there is no safetensors \
            file, and the tokenizer files). A transfer that is cut resumes where it stopped when run again.
            """)

    @Argument(help: "The repository id, e.g. openai-community/gpt2.")
    var repoId: String
    @Option(help: "Branch, tag or commit sha.")
    var revision = "main"
    @Option(parsing: .upToNextOption, help: "Only the files matching these globs (fnmatch, e.g. '*.json' model.safetensors).")
    var include: [String] = []

    func run() throws {
        let console = DownloadConsole(live: isatty(STDERR_FILENO) != 0)
        let client = HubClient()
        let (repoId, revision, include) = (self.repoId, self.revision, self.include.isEmpty ? nil : self.include)
        let directory: URL
        do {
            directory = try awaitBlocking {
                try await client.snapshot(repoId: repoId, revision: revision, include: include, progress: console.report)
            }
        } catch let error as HubError {
            console.finish()
            throw DownloadError(description: error.description)
        }
        console.finish()
        print(directory.path)
    }
}

/// An `ember download` failure; ArgumentParser prints `Error: <description>` and exits with status 1.
struct DownloadError: Error, CustomStringConvertible {
    let description: String
}

/// Runs `body` on the concurrency pool and waits for it on this thread (the commands are synchronous).
func awaitBlocking<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
    let box = ResultBox<T>()
    let done = DispatchSemaphore(value: 0)
    Task {
        do { box.result = .success(try await body()) } catch { box.result = .failure(error) }
        done.signal()
    }
    done.wait()
    return try box.result!.get()
}

/// The result of an async body, handed from the task to the waiting thread (the semaphore orders the accesses).
private final class ResultBox<T>: @unchecked Sendable {
    var result: Result<T, Error>?
}

/// Draws ``HubProgress`` on standard error: on a terminal one bar line redrawn in place,
/// `model.safetensors [########------------]  210.4/548.1 MB  31.2 MB/s  ETA 0:11`; elsewhere a line per file.
final class DownloadConsole: @unchecked Sendable {
    let live: Bool
    private let lock = NSLock()
    private var barShown = false
    private let width = 20

    init(live: Bool) { self.live = live }

    /// The progress callback.
    var report: HubProgressHandler { { [self] in draw($0) } }

    private func draw(_ p: HubProgress) {
        lock.withLock {
            if live {
                guard p.event != .cached else { return }
                let fraction = p.totalBytes > 0 ? Double(p.bytesDone) / Double(p.totalBytes) : 1
                let filled = min(width, Int(fraction * Double(width)))
                let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
                let line = "\(p.filename) [\(bar)] \(Self.megabytes(p.bytesDone))/\(Self.megabytes(p.totalBytes)) MB  "
                    + "\(Self.megabytes(Int64(p.bytesPerSecond))) MB/s  ETA \(ProgressBar.duration(p.secondsLeft))"
                write("\r\u{1B}[K" + line)
                barShown = true
            } else {
                switch p.event {
                case .cached: write("\(p.filename): in the cache\n")
                case .finished: write("\(p.filename): \(p.fileBytes) bytes downloaded and verified\n")
                case .started, .progress: break
                }
            }
        }
    }

    /// Clears the bar (before the final path or an error is printed).
    func finish() {
        lock.withLock {
            if barShown { write("\r\u{1B}[K") }
            barShown = false
        }
    }

    private func write(_ text: String) {
        FileHandle.standardError.write(Data(text.utf8))
    }

    /// Bytes as megabytes (10^6) with one decimal.
    static func megabytes(_ bytes: Int64) -> String { String(format: "%.1f", Double(bytes) / 1e6) }
}
