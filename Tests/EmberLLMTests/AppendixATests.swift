import EmberCore
import EmberLLM
import EmberNN
import XCTest

/// Book appendix A.7: `NeuralNetwork(2, 2)` trained with SGD(lr 0.5) for 3 epochs on the toy data,
/// `manual_seed(123)` before the loader and again before the model. The printed losses and logits are
/// the book's (`ember example appendix-a` prints the same run).
final class AppendixATests: XCTestCase {
    final class NeuralNetwork: Module, UnaryLayer {
        @Child var layers: Sequential
        init(numInputs: Int, numOutputs: Int) {
            layers = Sequential(Linear(numInputs, 30), ReLU(), Linear(30, 20), ReLU(), Linear(20, numOutputs))
            super.init()
        }
        func callAsFunction(_ x: Tensor) -> Tensor { layers(x) }
    }

    struct ToyDataset: Dataset {
        let features: Tensor, labels: Tensor
        var count: Int { labels.shape[0] }
        subscript(index: Int) -> (input: Tensor, target: Tensor) { (features[index], labels[index]) }
    }

    func testAppendixATrainingPrintsTheBooksLosses() {
        let xTrain = Tensor([[-1.2, 3.1], [-0.9, 2.9], [-0.5, 2.6], [2.3, -1.1], [2.7, -1.5]])
        let yTrain = Tensor([0, 0, 0, 1, 1])
        manualSeed(123)
        let loader = DataLoader(ToyDataset(features: xTrain, labels: yTrain), batchSize: 2, shuffle: true, dropLast: true)
        manualSeed(123)
        let model = NeuralNetwork(numInputs: 2, numOutputs: 2)
        XCTAssertEqual(model.numParameters(), 752, "exercise A.3")
        let optimizer = SGD(model.parameters(), lr: 0.5)
        var printed: [String] = []
        for _ in 0..<3 {
            model.train()
            for (features, labels) in loader {
                let loss = crossEntropy(model(features), labels)
                optimizer.zeroGrad()
                loss.backward()
                optimizer.step()
                printed.append(String(format: "%.2f", loss.item()))
            }
        }
        XCTAssertEqual(printed, ["0.75", "0.65", "0.44", "0.13", "0.03", "0.00"], "book appendix A.7 training losses")
        model.eval()
        let outputs = noGrad { model(xTrain) }
        XCTAssertEqual(outputs.description, """
            tensor([[ 2.8569, -4.1618],
                    [ 2.5382, -3.7548],
                    [ 2.0944, -3.1820],
                    [-1.4814,  1.4816],
                    [-1.7176,  1.7342]])
            """, "book appendix A.7 outputs after training")
        XCTAssertEqual(outputs.softmax(1).argmax(1).toInt64s(), [0, 0, 0, 1, 1])
    }
}
