import EmberCore
import EmberIO
import EmberLLM
import EmberNN
import EmberTestSupport
import Foundation
import XCTest

/// Chapter 6's data preparation (§6.2–6.3) against `shared/fixtures/finetune` section `ch06_data`
/// (pandas 3.1.1, numpy 2.4.6, torch 2.15): the TSV as pandas reads it, `create_balanced_dataset`,
/// `random_split`, the CSV bytes, `SpamDataset` and the loaders — all exact.
final class ClassificationDataTests: XCTestCase {
    static func expected() throws -> [String: Any] {
        let url = try SharedFolder.file("fixtures/finetune/expected.json")
        return try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
    }

    static func data() throws -> [String: Any] { jsonObject(try expected()["ch06_data"]) }

    // MARK: numpy's RandomState

    func testRandomStateStreamAndLegacyPermutation() throws {
        let exp = try Self.data()
        let rs = RandomState(seed: 123)
        XCTAssertEqual((0..<4).map { _ in Int(rs.nextUInt32()) }, jsonInts(exp["numpy_mt19937_first4_u32"]))
        XCTAssertEqual(Array(RandomState(seed: 123).permutation(4825).prefix(10)), jsonInts(exp["ham_permutation_first10"]))
        XCTAssertEqual(Array(RandomState(seed: 123).permutation(1494).prefix(10)), jsonInts(exp["balanced_permutation_first10"]))
        // choice(n, size, replace=False) = permutation(n)[:size]; a permutation holds every index once.
        XCTAssertEqual(try RandomState(seed: 7).choice(10, size: 3), Array(RandomState(seed: 7).permutation(10).prefix(3)))
        XCTAssertEqual(RandomState(seed: 5).permutation(100).sorted(), Array(0..<100))
        XCTAssertThrowsError(try RandomState(seed: 1).choice(3, size: 4))
        XCTAssertEqual(RandomState(seed: 1).permutation(0), [])
        XCTAssertEqual(RandomState(seed: 1).permutation(1), [0])
    }

    // MARK: pandas' reader and writer

    func testDelimitedTextFollowsPandasQuotingRules() throws {
        let text = "ham\t\"quoted\ttab\nand line\" then\nspam\tsay \"hi\"\r\n\nham\t\"a \"\"b\"\"\"\rham\t"
        let rows = try DelimitedText.rows(Data(text.utf8), delimiter: UInt8(ascii: "\t"))
        XCTAssertEqual(rows, [["ham", "quoted\ttab\nand line then"], ["spam", "say \"hi\""], ["ham", "a \"b\""], ["ham", ""]])
        XCTAssertThrowsError(try DelimitedText.rows(Data("ham\t\"open\nspam\tx\n".utf8), delimiter: UInt8(ascii: "\t"))) { error in
            XCTAssertEqual("\(error)", "EOF inside string starting at row 0")
        }
        XCTAssertEqual(DelimitedText.csvLine(["1", "a, \"b\"\nc"]), "1,\"a, \"\"b\"\"\nc\"\n")
        XCTAssertEqual(DelimitedText.csvLine(["0", "plain text; no quotes"]), "0,plain text; no quotes\n")
        XCTAssertEqual(try DelimitedText.rows(Data(DelimitedText.csvLine(["1", "a, \"b\"\nc"]).utf8), delimiter: UInt8(ascii: ",")),
                       [["1", "a, \"b\"\nc"]])
    }

    func testBadFilesGiveClearErrors() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ember-spam-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let three = dir.appendingPathComponent("three.tsv")
        try Data("ham\tok\nspam\ta\tb\n".utf8).write(to: three)
        XCTAssertThrowsError(try SpamData.read(three)) { XCTAssertTrue("\($0)".contains("row 1: expected 2 fields"), "\($0)") }
        XCTAssertThrowsError(try SpamData.read(dir.appendingPathComponent("missing.tsv"))) { XCTAssertTrue("\($0)".contains("cannot read"), "\($0)") }
        let csv = dir.appendingPathComponent("bad.csv")
        try Data("label,text\n0,x\n".utf8).write(to: csv)
        XCTAssertThrowsError(try SpamData.readCSV(csv)) { XCTAssertTrue("\($0)".contains("expected the header Label,Text"), "\($0)") }
        let few = dir.appendingPathComponent("few.tsv")
        try Data("spam\ta\nspam\tb\nham\tc\n".utf8).write(to: few)
        XCTAssertThrowsError(try SpamData.createBalancedDataset(SpamData.read(few))) { XCTAssertTrue("\($0)".contains("cannot balance"), "\($0)") }
    }

    // MARK: The book's splits

    func testCh06DataBalancedSplitAndCSVBytes() throws {
        let exp = try Self.data()
        let tsv = try SharedFolder.file("data/sms_spam_collection/SMSSpamCollection.tsv")
        let df = try SpamData.read(tsv)
        XCTAssertEqual(df.count, exp["tsv_rows"] as? Int)
        XCTAssertEqual(df.filter { $0.label == "ham" }.count, jsonObject(exp["tsv_counts"])["ham"] as? Int)
        XCTAssertEqual(df.filter { $0.label == "spam" }.count, jsonObject(exp["tsv_counts"])["spam"] as? Int)
        // The bundled copy is the same file.
        XCTAssertEqual(try SpamData.read(BundledResource.smsSpamCollection()), df)

        let balanced = SpamData.mapLabels(try SpamData.createBalancedDataset(df))
        XCTAssertEqual(balanced.map(\.index), jsonInts(exp["balanced_index"]))
        XCTAssertEqual(balanced.filter { $0.label == "1" }.count, 747)

        let splits = try SpamSplits(tsv: tsv)
        XCTAssertEqual(splits.balanced, balanced)
        let shuffled = RandomState(seed: 123).permutation(balanced.count).map { balanced[$0].index }
        XCTAssertEqual(shuffled, jsonInts(exp["shuffled_tsv_rows"]))

        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ember-splits-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let urls = try splits.write(to: dir)
        for ((name, part), url) in zip([("train", splits.train), ("validation", splits.validation), ("test", splits.test)], urls) {
            let e = jsonObject(jsonObject(exp["splits"])[name])
            XCTAssertEqual(part.count, e["rows"] as? Int, name)
            let counts = jsonObject(e["counts"])
            XCTAssertEqual(part.filter { $0.label == "0" }.count, counts["0"] as? Int, name)
            XCTAssertEqual(part.filter { $0.label == "1" }.count, counts["1"] as? Int, name)
            for (i, row) in (e["first3"] as? [[String: Any]] ?? []).enumerated() {
                XCTAssertEqual(part[i].label, "\(row["Label"] as? Int ?? -1)", "\(name) row \(i)")
                XCTAssertEqual(part[i].text, row["Text"] as? String, "\(name) row \(i)")
            }
            let bytes = try Data(contentsOf: url)
            XCTAssertEqual(bytes.count, e["csv_bytes"] as? Int, "\(name).csv size")
            XCTAssertEqual(SHA256Digest.hex(bytes), e["csv_sha256"] as? String, "\(name).csv sha256")
            XCTAssertEqual(bytes, try Data(contentsOf: SharedFolder.file("data/sms_spam_collection/\(name).csv")), "\(name).csv bytes")
            XCTAssertEqual(try SpamData.readCSV(url), part, "\(name).csv read back")
        }
    }

    // MARK: SpamDataset and loaders

    func testCh06SpamDatasetAndLoaders() throws {
        let exp = try Self.data()
        let tokenizer = try GPT2Tokenizer.gpt2()
        let csv = { (name: String) in try SharedFolder.file("data/sms_spam_collection/\(name).csv") }
        let train = try SpamDataset(csv: csv("train"), tokenizer: tokenizer)
        let validation = try SpamDataset(csv: csv("validation"), tokenizer: tokenizer, maxLength: train.maxLength)
        let test = try SpamDataset(csv: csv("test"), tokenizer: tokenizer, maxLength: train.maxLength)
        let ds = jsonObject(exp["spam_dataset"])
        XCTAssertEqual(train.maxLength, ds["train_max_length"] as? Int)
        XCTAssertEqual([validation.maxLength, test.maxLength], [ds["val_max_length"] as? Int, ds["test_max_length"] as? Int])
        let longest = jsonObject(ds["longest_encoded"])
        for name in ["train", "validation", "test"] {
            XCTAssertEqual(try SpamDataset.longestEncodedLength(SpamData.readCSV(csv(name)), tokenizer: tokenizer), longest[name] as? Int, name)
        }
        let lens = jsonObject(ds["len"])
        XCTAssertEqual([train.count, validation.count, test.count], ["train", "validation", "test"].map { lens[$0] as? Int ?? -1 })
        let item0 = jsonObject(ds["train_item0"])
        XCTAssertEqual(train[0].input.toInt64s().map(Int.init), jsonInts(item0["input_ids"]))
        XCTAssertEqual(train[0].target.shape, [])
        XCTAssertEqual(Int(train[0].target.item()), item0["label"] as? Int)

        let loaders = jsonObject(exp["loaders"])
        manualSeed(123)
        let rng = jsonObject(loaders["rng"])
        XCTAssertEqual(Generator.default.nextNonNegativeInt64(), (rng["base_seed"] as? NSNumber)?.int64Value)
        XCTAssertEqual(Generator.default.nextNonNegativeInt64(), (rng["sampler_seed"] as? NSNumber)?.int64Value)

        manualSeed(123)
        let recording = RecordingDataset(train)
        let l = ClassificationLoaders(train: recording, validation: validation, test: test, batchSize: 8)
        let counts = jsonObject(loaders["num_batches"])
        XCTAssertEqual([l.train.count, l.validation.count, l.test.count], ["train", "validation", "test"].map { counts[$0] as? Int ?? -1 })
        var iterator = l.train.makeIterator()
        let (inputs, labels) = try XCTUnwrap(iterator.next())
        let first = jsonObject(loaders["first_train_batch"])
        XCTAssertEqual(recording.log.indices, jsonInts(first["dataset_indices"]))
        XCTAssertEqual(inputs.shape, [8, 120])
        XCTAssertEqual(inputs.toInt64s().map(Int.init), jsonInts(jsonObject(first["input_ids"])["values"]))
        XCTAssertEqual(labels.toInt64s().map(Int.init), jsonInts(jsonObject(first["labels"])["values"]))
        _ = iterator.next()
        _ = iterator.next()
        XCTAssertEqual(recording.log.indices, jsonInts(rng["perm_first_batches"]))
    }
}

/// The fixture's "thin wrapper that returns the items unchanged": records which dataset positions
/// each batch read, in order.
final class IndexLog: @unchecked Sendable {
    var indices: [Int] = []
}

struct RecordingDataset<Base: Dataset>: Dataset where Base.Sample == (input: Tensor, target: Tensor) {
    let base: Base
    let log = IndexLog()
    init(_ base: Base) { self.base = base }
    var count: Int { base.count }
    subscript(index: Int) -> (input: Tensor, target: Tensor) {
        log.indices.append(index)
        return base[index]
    }
}
