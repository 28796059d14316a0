import EmberLLM
import Foundation
import XCTest
@testable import EmberServe

/// The pieces a request goes through before and after the model: decoding, validation, the chat
/// template and the stop-sequence cut.
final class RequestPartsTests: XCTestCase {
    func testStopMatcherHoldsBackPossibleStarts() {
        var m = StopSequenceMatcher(["###", "END"])
        XCTAssertEqual(m.push("Hello #").emit, "Hello ")
        XCTAssertEqual(m.push("#").emit, "")
        let r = m.push("# rest")
        XCTAssertEqual(r.emit, "")
        XCTAssertTrue(r.stopped)
        var n = StopSequenceMatcher(["END"])
        XCTAssertEqual(n.push("the E").emit, "the ")
        XCTAssertEqual(n.push("nd").emit, "End", "E-n-d is not the stop sequence")
        XCTAssertEqual(n.push("EN").emit, "")
        XCTAssertEqual(n.finish(), "EN")
        var none = StopSequenceMatcher([])
        XCTAssertEqual(none.push("abc").emit, "abc")
        var multi = StopSequenceMatcher(["é!"])
        XCTAssertEqual(multi.push("café").emit, "caf")
        let cut = multi.push("!x")
        XCTAssertEqual(cut.emit, "")
        XCTAssertTrue(cut.stopped)
    }

    func testSamplingDefaultsAndRanges() throws {
        let p = try SamplingParameters(SamplingFields(), contextLength: 64)
        XCTAssertEqual(p, SamplingParameters(maxTokens: 256, temperature: 1, topP: nil, topK: nil, stop: [], seed: nil))
        var f = SamplingFields()
        f.max_completion_tokens = 5; f.max_tokens = 9; f.top_k = 0; f.top_p = 1; f.seed = -1; f.stop = ["x"]
        let q = try SamplingParameters(f, contextLength: 64)
        XCTAssertEqual(q, SamplingParameters(maxTokens: 5, temperature: 1, topP: nil, topK: nil, stop: ["x"], seed: UInt64.max))
        f.max_completion_tokens = 65
        XCTAssertThrowsError(try SamplingParameters(f, contextLength: 64)) { XCTAssertEqual(($0 as? APIError)?.param, "max_completion_tokens") }
    }

    func testStopDecodesAStringOrAnArray() throws {
        let one = try JSONDecoder().decode(CompletionRequest.self, from: Data(#"{"model":"m","prompt":["p"],"stop":"\n"}"#.utf8))
        XCTAssertEqual(one.sampling.stop, ["\n"])
        XCTAssertEqual(one.prompt, "p")
        let many = try JSONDecoder().decode(CompletionRequest.self, from: Data(#"{"model":"m","prompt":"p","stop":["a","b"]}"#.utf8))
        XCTAssertEqual(many.sampling.stop, ["a", "b"])
        let parts = try JSONDecoder().decode(ChatCompletionRequest.self, from: Data(
            #"{"model":"m","messages":[{"role":"user","content":[{"type":"text","text":"Hi "},{"type":"text","text":"there"}]}]}"#.utf8))
        XCTAssertEqual(parts.messages, [ChatMessage(role: "user", content: "Hi there")])
    }

    func testAlpacaTemplateIsTheBooksPrompt() throws {
        let messages = [ChatMessage(role: "system", content: "ignored"), ChatMessage(role: "user", content: "Old question"),
                        ChatMessage(role: "assistant", content: "Old answer"), ChatMessage(role: "user", content: "Rewrite the sentence using a simile.")]
        // Book chapter 7.2: format_input(entry) + "\n\n### Response:\n" for the last instruction.
        XCTAssertEqual(try ChatTemplate.alpaca.prompt(for: messages),
                       "Below is an instruction that describes a task. Write a response that appropriately completes the request."
                       + "\n\n### Instruction:\nRewrite the sentence using a simile.\n\n### Response:\n")
        XCTAssertEqual(try ChatTemplate.plain.prompt(for: Array(messages.suffix(2))), "Old answer\n\nRewrite the sentence using a simile.")
        XCTAssertThrowsError(try ChatTemplate.alpaca.prompt(for: [ChatMessage(role: "system", content: "x")]))
        XCTAssertThrowsError(try ChatTemplate.plain.prompt(for: []))
    }

    func testErrorBodyHasNullFields() throws {
        let data = try JSONEncoder().encode(APIError.invalidRequest("bad").body)
        let json = try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: [String: Any]])
        XCTAssertEqual(json["error"]?["message"] as? String, "bad")
        XCTAssertTrue(json["error"]?["param"] is NSNull)
        XCTAssertTrue(json["error"]?["code"] is NSNull)
    }
}
