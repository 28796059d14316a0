import EmberTestSupport
import Foundation
import XCTest
@testable import EmberCore
@testable import EmberNN

/// Data-parallel building blocks in one process (issue #19): the sampler against PyTorch's index
/// lists, the single-process group, and DistributedDataParallel's reduction logic with a group of
/// one. Several processes: EmberLLMTests' DistributedTrainingTests (under mpirun).
final class DistributedTests: XCTestCase {
    func testDistributedSamplerEqualsPyTorch() throws {
        guard let dir = Bundle.module.resourceURL else { throw XCTSkip("no resource bundle") }
        let data = try Data(contentsOf: dir.appendingPathComponent("Fixtures/distributed/distributed_sampler.json"))
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
        let cases = try XCTUnwrap(json["cases"] as? [[String: Any]])
        XCTAssertGreaterThan(cases.count, 300)
        for c in cases {
            let n = c["n"] as! Int, replicas = c["num_replicas"] as! Int, rank = c["rank"] as! Int
            let shuffle = c["shuffle"] as! Bool, dropLast = c["drop_last"] as! Bool
            let seed = c["seed"] as! Int, epoch = c["epoch"] as! Int
            let sampler = try DistributedSampler(count: n, numReplicas: replicas, rank: rank, shuffle: shuffle,
                                                 seed: seed, dropLast: dropLast)
            sampler.setEpoch(epoch)
            let what = "n \(n), replicas \(replicas), rank \(rank), shuffle \(shuffle), drop_last \(dropLast), seed \(seed), epoch \(epoch)"
            XCTAssertEqual(sampler.count, c["len"] as! Int, what)
            XCTAssertEqual(sampler.indices(), c["indices"] as! [Int], what)
        }
    }

    /// rasbt/LLMs-from-scratch PR #523: more processes than samples is an error, not a silent run on
    /// repeated samples; a bad rank is PyTorch's ValueError.
    func testDistributedSamplerRejectsMoreRanksThanSamples() {
        XCTAssertThrowsError(try DistributedSampler(count: 2, numReplicas: 3, rank: 0)) { error in
            XCTAssertTrue("\(error)".contains("the dataset has 2 sample(s) for 3 ranks"), "\(error)")
        }
        XCTAssertThrowsError(try DistributedSampler(count: 10, numReplicas: 2, rank: 2)) { error in
            XCTAssertEqual("\(error)", "ValueError: Invalid rank 2, rank should be in the interval [0, 1]")
        }
    }

    func testDataLoaderWithSamplerBatchesTheRanksShare() throws {
        let features = Tensor(array: (0..<10).map { Float($0) }, shape: [10, 1])
        let labels = Tensor(array: (0..<10).map { Int64($0) }, shape: [10])
        let dataset = TensorPairs(features: features, labels: labels)
        let sampler = try DistributedSampler(count: 10, numReplicas: 2, rank: 1, shuffle: false)
        let loader = DataLoader(dataset, batchSize: 2, sampler: sampler)
        XCTAssertEqual(loader.count, 3)
        let seen = loader.map { batch in (0..<batch.targets.shape[0]).map { Int(batch.targets[$0].item()) } }
        XCTAssertEqual(seen, [[1, 3], [5, 7], [9]])
    }

    func testSingleProcessGroupCollectivesLeaveTensorsAsTheyAre() throws {
        let group = ProcessGroup.single
        XCTAssertEqual(group.rank, 0)
        XCTAssertEqual(group.worldSize, 1)
        let t = Tensor([1.5, -2.0, 3.25])
        try group.allReduce(t, op: .sum)
        try group.allReduce(t, op: .avg)
        try group.broadcast(t, from: 0)
        try group.barrier()
        XCTAssertEqual(t.toArray(Float.self), [1.5, -2.0, 3.25])
        let gathered = try group.allGather(t)
        XCTAssertEqual(gathered.count, 1)
        XCTAssertEqual(gathered[0].toArray(Float.self), [1.5, -2.0, 3.25])
        XCTAssertTrue(try group.any(true))
        XCTAssertFalse(try group.all(false))
        XCTAssertThrowsError(try group.broadcast(t, from: 1))
        XCTAssertThrowsError(try group.allReduce(Tensor(array: [Int64(1)], shape: [1]), op: .avg)) { error in
            XCTAssertTrue("\(error)".contains("ReduceOp.AVG needs a floating-point tensor"), "\(error)")
        }
    }

    /// Two linear layers; the second is used only when `useSecond`.
    final class TwoLayers: Module, UnaryLayer {
        @Child var first = Linear(4, 3)
        @Child var second = Linear(3, 2)
        var useSecond = true
        func callAsFunction(_ x: Tensor) -> Tensor { useSecond ? second(first(x)) : first(x) }
    }

    /// With one rank, a synchronised backward leaves the gradients of a plain backward; buckets are
    /// filled in reverse parameter order; `noSync` skips the reduction.
    func testDDPWithOneRankKeepsTheGradients() throws {
        manualSeed(1)
        let model = TwoLayers()
        let reference = TwoLayers()
        try reference.loadStateDict(model.stateDict())
        let ddp = try DistributedDataParallel(model, group: .single, bucketCapMB: 0.000_01)
        XCTAssertEqual(ddp.bucketLayout.map(\.names).flatMap { $0 },
                       ["second.bias", "second.weight", "first.bias", "first.weight"])
        XCTAssertEqual(ddp.stateDict().keys.first, "module.first.weight")
        let x = Tensor.randn([5, 4])
        try withErrorCapture { ddp(x).sum().backward() }
        reference(x).sum().backward()
        for (a, b) in zip(model.parameters(), reference.parameters()) {
            XCTAssertEqual(a.grad!.toArray(Float.self), b.grad!.toArray(Float.self))
        }
        try ddp.noSync { try withErrorCapture { ddp(x).sum().backward() } }
        reference(x).sum().backward()
        for (a, b) in zip(model.parameters(), reference.parameters()) {
            XCTAssertEqual(a.grad!.toArray(Float.self), b.grad!.toArray(Float.self))
        }
    }

    /// A parameter without a gradient is an error naming it (not a hang), raised from backward.
    func testDDPNamesAParameterThatGotNoGradient() throws {
        let model = TwoLayers()
        model.useSecond = false
        let ddp = try DistributedDataParallel(model, group: .single)
        XCTAssertThrowsError(try withErrorCapture { ddp(Tensor.randn([2, 4])).sum().backward() }) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("Expected to have finished reduction in the prior iteration"), text)
            XCTAssertTrue(text.contains("second.weight, second.bias") || text.contains("second.bias, second.weight"), text)
        }
    }
}

/// (feature row, label) pairs for loader tests.
private struct TensorPairs: Dataset {
    let features: Tensor, labels: Tensor
    var count: Int { labels.shape[0] }
    subscript(index: Int) -> (input: Tensor, target: Tensor) { (features[index], labels[index]) }
}
