import EmberCore
import EmberNN
import XCTest

/// `StateValue` as Python's repr would show the plain objects (`torch.load(weights_only=True)`'s
/// view): dict keys in order, ints without a point, floats with one, `True`/`False`/`None`.
func pythonRepr(_ v: StateValue) -> String {
    switch v {
    case .none: return "None"
    case .bool(let b): return b ? "True" : "False"
    case .int(let i): return "\(i)"
    case .double(let d): return d.isNaN ? "nan" : "\(d)"
    case .string(let s): return "'\(s)'"
    case .tensor(let t): return "tensor(\(t.shape))"
    case .list(let l): return "[" + l.map(pythonRepr).joined(separator: ", ") + "]"
    case .tuple(let l): return "(" + l.map(pythonRepr).joined(separator: ", ") + ")"
    case .dict(let d): return "{" + d.map { "'\($0.key)': \(pythonRepr($0.value))" }.joined(separator: ", ") + "}"
    }
}

/// The Codable ↔ StateValue codec (issue 12 item 3): the plain objects `torch.save` writes for a
/// Python dict of numbers, strings, bools and lists, keys in property order, snake-case on request.
final class StateValueCodingTests: XCTestCase {
    enum Schedule: String, Codable, Equatable { case cosine, linear }
    struct Inner: Codable, Equatable { var warmupSteps: Int; var peakLR: Double }
    struct Settings: Codable, Equatable {
        var learningRate: Double
        var numEpochs: Int
        var qkvBias: Bool
        var startContext: String
        var schedule: Schedule
        var inner: Inner
        var losses: [Double]
        var seed: Int?
        var steps: [UInt8]
    }

    let value = Settings(learningRate: 0.0004, numEpochs: 10, qkvBias: false, startContext: "Every effort moves you",
                         schedule: .cosine, inner: Inner(warmupSteps: 20, peakLR: 1), losses: [9.5, .nan, 1e-05],
                         seed: nil, steps: [0, 255])

    /// Rule: every property becomes one key, in declaration order; Int → int, Double → float (1.0
    /// stays a float), Bool → bool, enums → their raw values; a nil optional is left out.
    func testEncodesPlainObjectsInPropertyOrder() throws {
        let snake = try StateValueEncoder(keys: .snakeCase).encode(value)
        XCTAssertEqual(pythonRepr(snake), "{'learning_rate': 0.0004, 'num_epochs': 10, 'qkv_bias': False, 'start_context': 'Every effort moves you', 'schedule': 'cosine', 'inner': {'warmup_steps': 20, 'peak_lr': 1.0}, 'losses': [9.5, nan, 1e-05], 'steps': [0, 255]}")
        let plain = try StateValueEncoder().encode(value)
        XCTAssertEqual(plain.dict?.keys.map(\.description), ["learningRate", "numEpochs", "qkvBias", "startContext", "schedule", "inner", "losses", "steps"])
        XCTAssertEqual(pythonRepr(try StateValueEncoder().encode([1, 2, 3])), "[1, 2, 3]")
        XCTAssertEqual(pythonRepr(try StateValueEncoder().encode(Optional<Int>.none)), "None")
    }

    /// Rule: decoding inverts encoding (NaN stays NaN), with either key strategy.
    func testRoundTrip() throws {
        for keys in [StateValueEncoder.KeyStrategy.useDefaultKeys, .snakeCase] {
            var back = try StateValueDecoder(keys: keys).decode(Settings.self, from: try StateValueEncoder(keys: keys).encode(value))
            XCTAssertTrue(back.losses[1].isNaN)
            back.losses[1] = 0                                     // NaN ≠ NaN: compare the rest
            var expected = value
            expected.losses[1] = 0
            XCTAssertEqual(back, expected, "\(keys)")
        }
        XCTAssertEqual(StateValueEncoder.KeyStrategy.snakeCase.key("tokensSeen"), "tokens_seen")
        XCTAssertEqual(StateValueEncoder.KeyStrategy.snakeCase.key("vocab_size"), "vocab_size")
        XCTAssertEqual(StateValueEncoder.KeyStrategy.snakeCase.key("URLValue"), "url_value")
    }

    /// Rule: what Python writes decodes too — an int where a float is expected (`"lr": 1`), a tuple
    /// for a list; a float where an int is expected, a missing key or an out-of-range integer is a
    /// `DecodingError` that names the path.
    func testDecodesPythonValuesAndNamesBadPaths() throws {
        let python: StateValue = .dict(["warmupSteps": .int(5), "peakLR": .int(1)])
        XCTAssertEqual(try StateValueDecoder().decode(Inner.self, from: python), Inner(warmupSteps: 5, peakLR: 1))
        XCTAssertEqual(try StateValueDecoder().decode([Int].self, from: .tuple([.int(1), .int(2)])), [1, 2])

        XCTAssertThrowsError(try StateValueDecoder().decode(Inner.self, from: .dict(["warmupSteps": .double(5), "peakLR": .int(1)]))) { error in
            guard case DecodingError.typeMismatch(_, let ctx) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(ctx.codingPath.map(\.stringValue), ["warmupSteps"])
            XCTAssertEqual(ctx.debugDescription, "expected an integer, found a float")
        }
        XCTAssertThrowsError(try StateValueDecoder(keys: .snakeCase).decode(Inner.self, from: .dict(["warmup_steps": .int(5)]))) { error in
            guard case DecodingError.keyNotFound(let key, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(key.stringValue, "peakLR")
        }
        let badList: StateValue = .dict(["warmupSteps": .int(5), "peakLR": .int(1)])
        XCTAssertThrowsError(try StateValueDecoder().decode([Inner].self, from: .list([badList, .dict(["warmupSteps": .string("x")])]))) { error in
            guard case DecodingError.typeMismatch(_, let ctx) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(ctx.codingPath.map(\.stringValue), ["1", "warmupSteps"])
        }
        XCTAssertThrowsError(try StateValueDecoder().decode(UInt8.self, from: .int(256))) { error in
            guard case DecodingError.dataCorrupted = error else { return XCTFail("\(error)") }
        }
        XCTAssertThrowsError(try StateValueEncoder().encode(UInt64.max)) { error in
            guard case EncodingError.invalidValue = error else { return XCTFail("\(error)") }
        }
    }
}
