import EmberCore
import EmberNN
import Foundation

// Appendix A.9.3 of the book, `DDP-script.py`: the toy network of appendix A trained data-parallel,
// one process per rank. The book spawns one process per GPU with torch.multiprocessing; Ember's ranks
// are the processes of `mpirun -np 2 ember example ddp` (without mpirun: one rank).

/// Runs the script's `main(rank, world_size, num_epochs=3)` in this process: prints, per step,
/// `[GPU0] Epoch: 001/003 | Batchsize 002 | Train/Val Loss: 0.65` and at the end the training and
/// test accuracies, as the book's script does (its f-strings, "GPU" included). The book seeds only the
/// parent of `mp.spawn` (`torch.manual_seed(123)`), so its spawned processes start from nondeterministic
/// seeds and its numbers vary between runs; here every rank seeds 123 first, which makes the run
/// reproducible (DDP broadcasts rank 0's initial weights either way).
func runDDPExample() throws {
    manualSeed(123)
    let group = try ProcessGroup.fromEnvironment()
    let rank = group.rank
    let xTrain = Tensor([[-1.2, 3.1], [-0.9, 2.9], [-0.5, 2.6], [2.3, -1.1], [2.7, -1.5]])
    let yTrain = Tensor([0, 0, 0, 1, 1])
    let xTest = Tensor([[-0.8, 2.8], [2.6, -1.6]])
    let yTest = Tensor([0, 1])
    let trainDS = ToyDataset(features: xTrain, labels: yTrain)
    let testDS = ToyDataset(features: xTest, labels: yTest)
    // sampler=DistributedSampler(train_ds): shuffled with seed 0 + epoch, padded to a multiple of the ranks.
    let sampler = try DistributedSampler(count: trainDS.count, numReplicas: group.worldSize, rank: rank)
    let trainLoader = DataLoader(trainDS, batchSize: 2, sampler: sampler, dropLast: true)
    let testLoader = DataLoader(testDS, batchSize: 2, shuffle: false)

    let network = NeuralNetwork(numInputs: 2, numOutputs: 2)
    let optimizer = SGD(network.parameters(), lr: 0.5)
    let model = try DistributedDataParallel(network, group: group)   // the core model is model.module
    let numEpochs = 3
    for epoch in 0..<numEpochs {
        sampler.setEpoch(epoch)      // each epoch a different shuffle
        model.train()
        for (features, labels) in trainLoader {
            let logits = model(features)
            let loss = crossEntropy(logits, labels)
            optimizer.zeroGrad()
            try withErrorCapture { loss.backward() }
            optimizer.step()
            print(String(format: "[GPU%d] Epoch: %03d/%03d | Batchsize %03d | Train/Val Loss: %.2f",
                         rank, epoch + 1, numEpochs, labels.shape[0], loss.item()))
        }
    }
    model.eval()
    print("[GPU\(rank)] Training accuracy \(computeAccuracy(model, trainLoader))")
    print("[GPU\(rank)] Test accuracy \(computeAccuracy(model, testLoader))")
    fflush(nil)   // nil: every C stream (stdout itself is not concurrency-safe to name)
}

/// The script's `compute_accuracy`: correct predictions over examples, as float32 (`.item()`).
private func computeAccuracy<D: Dataset>(_ model: some UnaryLayer, _ loader: DataLoader<D>) -> Double {
    model.eval()
    var correct = 0, total = 0
    for (features, labels) in loader {
        let logits = noGrad { model(features) }
        let predictions = logits.argmax(1)
        correct += Int((predictions == labels).sum().item())
        total += labels.shape[0]
    }
    return Double(Float(correct) / Float(total))
}
