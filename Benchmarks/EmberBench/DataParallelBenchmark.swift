import EmberCore
import EmberLLM
import EmberNN
import Foundation

/// `ember-bench ddp`, run as `.build/release/ember-bench ddp` and as
/// `mpirun -np 2 .build/release/ember-bench ddp`: the book's chapter-5 training step (GPT-124M,
/// context 256, global batch 2 split over the ranks) for a few steps, reporting tokens/s of all
/// ranks together and — with several ranks — how much of the gradient all-reduce time the backward
/// pass hid (1 − time the end of backward waited / time the all-reduces took).
func runDataParallelBenchmark() {
    let group: ProcessGroup
    do { group = try ProcessGroup.fromEnvironment() } catch { print("\(error)"); return }
    let steps = quick ? 3 : 8
    let config = GPTConfig.gpt2(.small).with(contextLength: 256)
    let globalBatch = 2
    guard globalBatch % group.worldSize == 0 else { print("use 1 or 2 ranks"); return }
    let perRank = globalBatch / group.worldSize
    manualSeed(123)
    let model = GPTModel(config)
    let ddp = try! DistributedDataParallel(model, group: group)
    let optimizer = AdamW(model.parameters(), lr: 4e-4, weightDecay: 0.1)
    let tokens = Tensor.randint(0, 50257, [perRank, config.contextLength + 1])
    let x = tokens[0..., ..<config.contextLength].contiguous(), y = tokens[0..., 1...].contiguous()
    func step() {
        optimizer.zeroGrad()
        let loss = calcLossBatch(x, y, model: ddp)
        loss.backward()
        optimizer.step()
    }
    step()   // warm-up
    try? group.barrier()
    let before = ddp.communication
    let t0 = DispatchTime.now().uptimeNanoseconds
    for _ in 0..<steps { step() }
    try? group.barrier()
    let seconds = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
    let transfer = ddp.communication.transferSeconds - before.transferSeconds
    let wait = ddp.communication.waitSeconds - before.waitSeconds
    guard group.rank == 0 else { return }
    let tokensPerSecond = Double(steps * globalBatch * config.contextLength) / seconds
    print("ch05 training step, GPT-124M, context 256, global batch \(globalBatch), \(group.worldSize) rank(s) (\(group.backendName)), \(Threads.count) threads per rank")
    print(String(format: "  %.2f s/step, %.0f tokens/s", seconds / Double(steps), tokensPerSecond))
    if group.worldSize > 1 {
        print(String(format: "  all-reduce %.3f s/step, of which the end of backward waited %.3f s: %.0f%% hidden behind backward",
                     transfer / Double(steps), wait / Double(steps), transfer > 0 ? 100 * max(0, 1 - wait / transfer) : 0))
    }
}
