import EmberCore
import EmberNN
import EmberTestSupport
import Foundation
import XCTest
@testable import EmberLLM

/// Data-parallel training across processes (issue #19), under Open MPI's `mpirun` (CI installs
/// openmpi-bin; skipped with a message where mpirun is absent). Each test starts a bounded job:
/// appendix A's DDP script, `ember train` on several ranks, and this test bundle itself as the
/// worker of the equivalence checks (``testWorkerProcess``).
final class DistributedTrainingTests: XCTestCase {
    // MARK: - Launching

    static var mpirun: URL? {
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":") {
            let url = URL(fileURLWithPath: String(dir)).appendingPathComponent("mpirun")
            if FileManager.default.isExecutableFile(atPath: url.path) { return url }
        }
        return nil
    }

    /// Runs `program args` on `np` ranks; the job is killed after `timeout` seconds (a hang fails the
    /// test instead of blocking the suite).
    static func runMPI(np: Int, _ program: URL, _ args: [String], env: [String: String] = [:],
                       timeout: TimeInterval = 240) throws -> (status: Int32, out: String, err: String) {
        guard let mpirun else {
            throw XCTSkip("mpirun is not installed (Debian: apt-get install openmpi-bin); .ci/run installs it")
        }
        let p = Process()
        p.executableURL = mpirun
        var environment = ProcessInfo.processInfo.environment
        // Containers often forbid the cross-memory-attach copies of Open MPI's shared-memory transport.
        environment["OMPI_MCA_btl_vader_single_copy_mechanism"] = "none"
        // Waiting ranks yield the core instead of polling (ranks may outnumber cores).
        environment["OMPI_MCA_mpi_yield_when_idle"] = "1"
        for (k, v) in env { environment[k] = v }
        p.environment = environment
        p.arguments = ["--allow-run-as-root", "--oversubscribe", "-np", "\(np)"]
            + env.keys.sorted().flatMap { ["-x", $0] } + [program.path] + args
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let timer = DispatchWorkItem { if p.isRunning { p.terminate() } }
        DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: timer)
        let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        timer.cancel()
        return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }

    static var emberBinary: URL {
        get throws {
            guard let url = TrainCommandTests.emberBinary else { throw XCTSkip("the ember binary is not built next to the tests") }
            return url
        }
    }

    /// This test bundle, to run ``testWorkerProcess`` on every rank.
    static var testBundle: URL {
        get throws {
            #if os(Linux)
            return URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
            #else
            throw XCTSkip("the worker is started through the Linux test runner")
            #endif
        }
    }

    // MARK: - Appendix A's script

    /// `mpirun -np 2 ember example ddp` prints, per rank, the lines of the book's DDP-script.py as
    /// PyTorch (gloo, 2 CPU processes, each rank seeded 123) printed them: losses to two decimals and
    /// the accuracies.
    func testDDPScriptPrintsPyTorchsLines() throws {
        guard let dir = Bundle.module.resourceURL else { throw XCTSkip("no resource bundle") }
        let data = try Data(contentsOf: dir.appendingPathComponent("Fixtures/distributed/ddp_script.json"))
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
        let ranks = try XCTUnwrap(json["ranks"] as? [[String: Any]])
        let run = try Self.runMPI(np: 2, Self.emberBinary, ["example", "ddp"])
        XCTAssertEqual(run.status, 0, run.err)
        let lines = run.out.split(separator: "\n").map(String.init)
        for (r, expected) in ranks.enumerated() {
            let mine = lines.filter { $0.hasPrefix("[GPU\(r)]") }
            XCTAssertEqual(mine, expected["lines"] as? [String], "rank \(r):\n\(run.out)")
        }
    }

    // MARK: - Equivalence with one process

    /// Two ranks with half of every batch each end, after 5 AdamW steps of a small GPT, with the
    /// parameters of one process that trains on the whole batches (≤ 1e-5 relative), and the ranks
    /// hold bit-identical parameters after every step.
    func testTwoRanksEqualOneProcessWithTheWholeBatch() throws {
        let out = try CheckpointTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: out) }
        let run = try Self.runMPI(np: 2, Self.testBundle, ["EmberLLMTests.DistributedTrainingTests/testWorkerProcess"],
                                  env: ["EMBER_DDP_WORKER_OUT": out.path, "EMBER_DDP_WORKER_MODE": "gpt"])
        XCTAssertEqual(run.status, 0, run.out + run.err)
        let reference = Self.trainReference(ranks: 2)
        for r in 0..<2 {
            let result = try Self.workerResult(out, rank: r)
            XCTAssertEqual(result["identical"] as? [Bool], [Bool](repeating: true, count: Self.steps), "rank \(r)")
            let params = try XCTUnwrap(result["params"] as? [[Double]])
            XCTAssertEqual(params.count, reference.params.count)
            // Per tensor: the largest difference relative to the tensor's largest value (Adam's
            // normalised steps turn rounding-level differences of near-zero gradients into
            // differences of ~lr on single elements, so element-wise ratios would measure noise).
            for (i, (a, b)) in zip(params, reference.params).enumerated() {
                let scale = b.map { abs(Double($0)) }.max() ?? 0
                let worst = zip(a, b).map { abs($0 - Double($1)) }.max() ?? 0
                XCTAssertLessThanOrEqual(worst, 1e-5 * scale, "rank \(r), parameter \(i): max difference \(worst), largest value \(scale)")
            }
            let losses = try XCTUnwrap(result["global_losses"] as? [Double])
            for (a, b) in zip(losses, reference.losses) { XCTAssertEqual(a, b, accuracy: 1e-5 * abs(b), "rank \(r)") }
        }
    }

    /// Three ranks over data that does not divide evenly (the sampler pads): the run completes and
    /// the ranks stay bit-identical.
    func testThreeRanksUnevenSplitStayIdentical() throws {
        let out = try CheckpointTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: out) }
        let run = try Self.runMPI(np: 3, Self.testBundle, ["EmberLLMTests.DistributedTrainingTests/testWorkerProcess"],
                                  env: ["EMBER_DDP_WORKER_OUT": out.path, "EMBER_DDP_WORKER_MODE": "gpt"])
        XCTAssertEqual(run.status, 0, run.out + run.err)
        let first = try XCTUnwrap(Self.workerResult(out, rank: 0)["params"] as? [[Double]])
        for r in 0..<3 {
            let result = try Self.workerResult(out, rank: r)
            XCTAssertEqual(result["identical"] as? [Bool], [Bool](repeating: true, count: Self.steps), "rank \(r)")
            XCTAssertEqual(result["params"] as? [[Double]], first, "rank \(r)")
        }
    }

    /// A parameter that gets no gradient on one rank ends every rank with the error naming it,
    /// instead of a hang.
    func testAParameterWithoutGradientOnOneRankIsAnErrorNotAHang() throws {
        let out = try CheckpointTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: out) }
        let run = try Self.runMPI(np: 2, Self.testBundle, ["EmberLLMTests.DistributedTrainingTests/testWorkerProcess"],
                                  env: ["EMBER_DDP_WORKER_OUT": out.path, "EMBER_DDP_WORKER_MODE": "unused"], timeout: 120)
        XCTAssertEqual(run.status, 0, run.out + run.err)
        for r in 0..<2 {
            let message = try XCTUnwrap(Self.workerResult(out, rank: r)["error"] as? String)
            XCTAssertTrue(message.contains("Expected to have finished reduction in the prior iteration"), message)
            if r == 1 { XCTAssertTrue(message.contains("out_head.weight"), message) }
        }
    }

    // MARK: - ember train

    /// `mpirun -np 2 ember train`: the global batch is split over the ranks, only rank 0 prints and
    /// writes, and `--resume` continues the saved run on two ranks.
    func testEmberTrainOnTwoRanksWritesOnceAndResumes() throws {
        let dir = try CheckpointTests.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let data = dir.appendingPathComponent("text.txt")
        try Data(TrainCommandTests.text.utf8).write(to: data)
        let output = dir.appendingPathComponent("out")
        let first = try Self.runMPI(np: 2, Self.emberBinary, ["train", "--preset", "tiny", "--data", data.path, "--epochs", "1",
                                                              "--batch-size", "4", "--output", output.path])
        XCTAssertEqual(first.status, 0, first.err)
        XCTAssertEqual(first.out.components(separatedBy: "Data-parallel over 2 processes").count, 2, first.out)
        XCTAssertEqual(first.out.components(separatedBy: "Ep 1 (Step 000000)").count, 2, first.out)
        let checkpoint = output.appendingPathComponent(TrainingRun.checkpointFileName)
        XCTAssertTrue(FileManager.default.fileExists(atPath: checkpoint.path))
        let resumed = try Self.runMPI(np: 2, Self.emberBinary, ["train", "--resume", checkpoint.path, "--epochs", "2",
                                                                "--data", data.path, "--output", output.path])
        XCTAssertEqual(resumed.status, 0, resumed.err)
        XCTAssertTrue(resumed.out.contains("Resuming from"), resumed.out)
        XCTAssertTrue(resumed.out.contains("Training completed"), resumed.out)
        let odd = try Self.runMPI(np: 2, Self.emberBinary, ["train", "--preset", "tiny", "--data", data.path, "--batch-size", "3",
                                                            "--output", output.path])
        XCTAssertNotEqual(odd.status, 0)
        XCTAssertTrue(odd.err.contains("batch size 3 cannot be split evenly over 2 processes"), odd.err)
    }

    // MARK: - The worker (runs on every rank under mpirun)

    static let steps = 5
    static let config = GPTConfig.tiny.with(vocabSize: 512, contextLength: 8, embDim: 32, nHeads: 2, nLayers: 2, dropRate: 0)
    static let windows = 12
    static let globalBatch = 4

    /// Deterministic token windows `[windows, contextLength + 1]`.
    static func tokenWindows() -> [[Int64]] {
        (0..<windows).map { w in (0...config.contextLength).map { t in Int64((w * 7919 + t * 104_729) % 512) } }
    }

    struct Windows: Dataset {
        let rows: [[Int64]]
        var count: Int { rows.count }
        subscript(index: Int) -> (input: Tensor, target: Tensor) {
            (Tensor(array: Array(rows[index].dropLast())), Tensor(array: Array(rows[index].dropFirst())))
        }
    }

    /// One process, whole batches in the order the ranks' shares make up.
    static func trainReference(ranks: Int) -> (params: [[Float]], losses: [Double]) {
        manualSeed(123)
        let model = GPTModel(config)
        let optimizer = AdamW(model.parameters(), lr: 1e-3, weightDecay: 0.1)
        let sampler = try! DistributedSampler(count: windows, numReplicas: 1, rank: 0, seed: 7)
        let loader = DataLoader(Windows(rows: tokenWindows()), batchSize: globalBatch, sampler: sampler, dropLast: true)
        var losses: [Double] = []
        var epoch = 0
        while losses.count < steps {
            sampler.setEpoch(epoch)
            for (x, y) in loader where losses.count < steps {
                optimizer.zeroGrad()
                let loss = calcLossBatch(x, y, model: model)
                loss.backward()
                optimizer.step()
                losses.append(loss.item())
            }
            epoch += 1
        }
        return (model.parameters().map { $0.toArray(Float.self) }, losses)
    }

    static func workerResult(_ dir: URL, rank: Int) throws -> [String: Any] {
        let data = try Data(contentsOf: dir.appendingPathComponent("rank\(rank).json"))
        return try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    /// Not a test of its own: the program each rank runs for the tests above (it skips when not
    /// started by them).
    func testWorkerProcess() throws {
        let env = ProcessInfo.processInfo.environment
        guard let outPath = env["EMBER_DDP_WORKER_OUT"], let mode = env["EMBER_DDP_WORKER_MODE"] else {
            throw XCTSkip("runs only as the mpirun worker of the other DistributedTrainingTests")
        }
        let group = try ProcessGroup.mpi()
        var result: [String: Any] = ["rank": group.rank, "world_size": group.worldSize]
        manualSeed(123)
        let model = GPTModel(Self.config)
        if mode == "unused" {
            // Rank 1 computes its loss without the output head: its weight gets no gradient there.
            let ddp = try DistributedDataParallel(model, group: group)
            let x = Tensor(array: Array(Self.tokenWindows()[0].dropLast()), shape: [1, Self.config.contextLength])
            do {
                try withErrorCapture {
                    let loss = group.rank == 1 ? ddp.module.final_norm(ddp.module.tok_emb(x)).sum() : ddp(x).sum()
                    loss.backward()
                }
            } catch {
                result["error"] = "\(error)"
            }
        } else {
            let ddp = try DistributedDataParallel(model, group: group)
            let optimizer = AdamW(model.parameters(), lr: 1e-3, weightDecay: 0.1)
            let sampler = try DistributedSampler(count: Self.windows, numReplicas: group.worldSize, rank: group.rank, seed: 7)
            let perRank = 2
            let loader = DataLoader(Windows(rows: Self.tokenWindows()), batchSize: perRank, sampler: sampler, dropLast: true)
            var identical: [Bool] = [], losses: [Double] = []
            var epoch = 0
            while losses.count < Self.steps {
                sampler.setEpoch(epoch)
                for (x, y) in loader where losses.count < Self.steps {
                    optimizer.zeroGrad()
                    let loss = calcLossBatch(x, y, model: ddp)
                    try withErrorCapture { loss.backward() }
                    optimizer.step()
                    let global = loss.detach().clone()
                    try group.allReduce(global, op: .avg)
                    losses.append(global.item())
                    // Bit-identical replicas: the same hash of every parameter's bytes on every rank.
                    var hash: Int64 = 0
                    for p in model.parameters() {
                        for v in p.toArray(Float.self) { hash = hash &* 1_000_003 &+ Int64(v.bitPattern) }
                    }
                    let hashes = try group.allGather(Tensor(array: [hash])).map { $0.toArray(Int64.self)[0] }
                    identical.append(try group.all(hashes.allSatisfy { $0 == hash }))
                }
                epoch += 1
            }
            result["identical"] = identical
            result["global_losses"] = losses
            result["params"] = model.parameters().map { $0.toArray(Float.self).map(Double.init) }
        }
        let data = try JSONSerialization.data(withJSONObject: result)
        try data.write(to: URL(fileURLWithPath: outPath).appendingPathComponent("rank\(group.rank).json"))
    }
}
