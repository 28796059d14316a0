import Foundation
import XCTest
@testable import EmberCore

/// `manualSeed(123)` then a sequence of `Tensor.rand/randn/randint/randperm/multinomial` calls on
/// the default generator equals PyTorch 2.13.0+cpu's sequence bit for bit (`op_fixtures.json`
/// section `random`): values and the generator state carried between calls.
final class RandomTensorTests: XCTestCase {
    func testSeededSequenceMatchesPyTorch() {
        let seq = OpFixtures.sections["random"]!["sequence"] as! [[String: Any]]
        let probs = OpFixtures.tensor(OpFixtures.sections["random"]!["probs"]!)
        let calls: [(String, () -> Tensor)] = [
            ("rand_3x4", { Tensor.rand([3, 4]) }),
            ("randn_2x5", { Tensor.randn([2, 5]) }),
            ("randn_20", { Tensor.randn([20]) }),
            ("rand_7", { Tensor.rand([7]) }),
            ("randint_0_10_6", { Tensor.randint(0, 10, [6]) }),
            ("randint_m5_5_2x3", { Tensor.randint(-5, 5, [2, 3]) }),
            ("randperm_8", { Tensor.randperm(8) }),
            ("multinomial_repl_5", { probs.multinomial(5, replacement: true) }),
            ("multinomial_norepl_3", { probs.multinomial(3) }),
            ("multinomial_1d", { Tensor([0.25, 0.25, 0.5]).multinomial(1) }),
            ("randn_after", { Tensor.randn([3]) }),
        ]
        XCTAssertEqual(calls.map(\.0), seq.map { $0["id"] as! String }, "calls in the fixture's order")
        manualSeed(123)
        for ((id, f), c) in zip(calls, seq) {
            assertTensor(captured("random/\(id)", f), c["out"]!, "random/\(id) (after manualSeed(123) and the calls before it)")
        }
    }
}
