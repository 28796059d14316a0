import EmberCore
import EmberNN
import Foundation

// Appendix A.7 of the book: a small multilayer perceptron trained with SGD on the toy data set.

/// The book's `NeuralNetwork(num_inputs, num_outputs)` (appendix A.5): two hidden layers (30, 20)
/// with ReLU.
final class NeuralNetwork: Module, UnaryLayer {
    @Child var layers: Sequential

    init(numInputs: Int, numOutputs: Int) {
        layers = Sequential(
            Linear(numInputs, 30), ReLU(),   // 1st hidden layer
            Linear(30, 20), ReLU(),          // 2nd hidden layer
            Linear(20, numOutputs))          // output layer
        super.init()
    }

    func callAsFunction(_ x: Tensor) -> Tensor { layers(x) }   // x: [batch, numInputs] -> logits
}

/// The book's `ToyDataset`: feature rows and integer class labels.
struct ToyDataset: Dataset {
    let features: Tensor   // [n, 2] float32
    let labels: Tensor     // [n] int64
    var count: Int { labels.shape[0] }
    subscript(index: Int) -> (input: Tensor, target: Tensor) { (features[index], labels[index]) }
}

func runAppendixAExample() throws {
    let xTrain = Tensor([[-1.2, 3.1], [-0.9, 2.9], [-0.5, 2.6], [2.3, -1.1], [2.7, -1.5]])
    let yTrain = Tensor([0, 0, 0, 1, 1])
    let trainDS = ToyDataset(features: xTrain, labels: yTrain)

    manualSeed(123)
    let trainLoader = DataLoader(trainDS, batchSize: 2, shuffle: true, dropLast: true)

    manualSeed(123)
    let model = NeuralNetwork(numInputs: 2, numOutputs: 2)
    let optimizer = SGD(model.parameters(), lr: 0.5)
    let numEpochs = 3
    for epoch in 0..<numEpochs {
        model.train()
        for (batchIdx, (features, labels)) in trainLoader.enumerated() {
            let logits = model(features)
            let loss = crossEntropy(logits, labels)
            optimizer.zeroGrad()
            loss.backward()
            optimizer.step()
            // The book's f-string, label included ("Train/Val Loss" although it is the training loss).
            print(String(format: "Epoch: %03d/%03d | Batch %03d/%03d | Train/Val Loss: %.2f",
                         epoch + 1, numEpochs, batchIdx, trainLoader.count, loss.item()))
        }
        model.eval()
    }
    model.eval()
    let outputs = noGrad { model(xTrain) }
    print(outputs)
    setPrintOptions(sciMode: false)             // torch.set_printoptions(sci_mode=False), as the notebook
    defer { setPrintOptions(profile: .default) }
    let probas = outputs.softmax(1)
    print(probas)
    let predictions = probas.argmax(1)
    print(predictions)
    print(predictions == yTrain)
    print(Int((predictions == yTrain).sum().item()))
}
