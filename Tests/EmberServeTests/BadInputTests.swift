import Foundation
import XCTest
@testable import EmberServe

/// Bad requests answer a 4xx with OpenAI's error object (`{"error": {"message", "type", "param",
/// "code"}}`) and the server keeps serving (checked by a good request at the end of each test).
final class BadInputTests: XCTestCase {
    var server: TestServer!

    override func setUpWithError() throws { server = try TestServer(apiKey: nil, maxBodyBytes: 1 << 20) }
    override func tearDown() { server?.stop() }

    /// The reply's status and error fields, after checking the object's shape.
    func error(_ reply: HTTPTestClient.Reply, file: StaticString = #filePath, line: UInt = #line) throws -> (status: Int, message: String, type: String, param: String?, code: String?) {
        XCTAssertEqual(reply.headers["content-type"], "application/json", file: file, line: line)
        let json = try reply.json()
        let error = try XCTUnwrap(json["error"] as? [String: Any], "no error object in \(reply.text)", file: file, line: line)
        XCTAssertEqual(Set(error.keys), ["message", "type", "param", "code"], file: file, line: line)
        return (reply.status, error["message"] as? String ?? "", error["type"] as? String ?? "", error["param"] as? String, error["code"] as? String)
    }

    func assertStillServing(file: StaticString = #filePath, line: UInt = #line) throws {
        let ok = try server.client.post("/v1/completions", json: ["model": "tiny", "prompt": "ok", "max_tokens": 2, "temperature": 0])
        XCTAssertEqual(ok.status, 200, "the server stopped serving: \(ok.text)", file: file, line: line)
    }

    func testMalformedJSON() throws {
        for raw in ["{", "not json", "", "[1, 2]"] {
            let e = try error(try server.client.post("/v1/completions", raw: Data(raw.utf8)))
            XCTAssertEqual(e.status, 400, "body \(raw.debugDescription)")
            XCTAssertEqual(e.type, "invalid_request_error")
        }
        try assertStillServing()
    }

    func testWrongTypesNameTheField() throws {
        let cases: [([String: Any], String)] = [
            (["model": "tiny", "prompt": "x", "max_tokens": "ten"], "max_tokens"),
            (["model": "tiny", "prompt": 5], "prompt"),
            (["model": 3, "prompt": "x"], "model"),
            (["model": "tiny", "prompt": "x", "temperature": "hot"], "temperature"),
            (["model": "tiny", "prompt": "x", "stream": "yes"], "stream"),
            (["model": "tiny", "messages": "hello"], "messages"),
        ]
        for (body, field) in cases {
            let path = body["messages"] != nil ? "/v1/chat/completions" : "/v1/completions"
            let e = try error(try server.client.post(path, json: body))
            XCTAssertEqual(e.status, 400, "\(body)")
            XCTAssertEqual(e.param, field, "\(body): \(e.message)")
        }
        let missing = try error(try server.client.post("/v1/chat/completions", json: ["model": "tiny"]))
        XCTAssertEqual(missing.status, 400)
        XCTAssertEqual(missing.param, "messages")
        try assertStillServing()
    }

    func testUnknownModelIs404() throws {
        let e = try error(try server.client.post("/v1/completions", json: ["model": "gpt-4", "prompt": "x"]))
        XCTAssertEqual(e.status, 404)
        XCTAssertEqual(e.code, "model_not_found")
        XCTAssertEqual(e.param, "model")
    }

    func testOutOfRangeValues() throws {
        let cases: [([String: Any], String)] = [
            (["max_tokens": -1], "max_tokens"), (["max_tokens": 0], "max_tokens"), (["max_tokens": 1_000_000_000], "max_tokens"),
            (["temperature": -0.5], "temperature"), (["temperature": 9], "temperature"), (["top_p": 0], "top_p"), (["top_p": 1.5], "top_p"),
            (["top_k": -5], "top_k"), (["n": 2], "n"), (["stop": ["a", "b", "c", "d", "e"]], "stop"), (["stop": [""]], "stop"),
        ]
        for (extra, field) in cases {
            let body = ["model": "tiny", "prompt": "x"].merging(extra) { a, _ in a }
            let e = try error(try server.client.post("/v1/completions", json: body))
            XCTAssertEqual(e.status, 400, "\(extra)")
            XCTAssertEqual(e.param, field, "\(extra): \(e.message)")
        }
        try assertStillServing()
    }

    func testPromptLongerThanTheContext() throws {
        let prompt = Array(repeating: "word", count: 200).joined(separator: " ")   // 200 tokens > context 64
        let e = try error(try server.client.post("/v1/completions", json: ["model": "tiny", "prompt": prompt]))
        XCTAssertEqual(e.status, 400)
        XCTAssertEqual(e.code, "context_length_exceeded")
        let chat = try error(try server.client.post("/v1/chat/completions", json: ["model": "tiny", "messages": [["role": "user", "content": prompt]]]))
        XCTAssertEqual(chat.code, "context_length_exceeded")
        XCTAssertEqual(chat.param, "messages")
        let empty = try error(try server.client.post("/v1/completions", json: ["model": "tiny", "prompt": ""]))
        XCTAssertEqual(empty.status, 400)
        try assertStillServing()
    }

    func testTenMegabyteBodyIs413() throws {
        let big = Data("{\"model\": \"tiny\", \"prompt\": \"".utf8) + Data(repeating: UInt8(ascii: "a"), count: 10 << 20) + Data("\"}".utf8)
        let e = try error(try server.client.post("/v1/completions", raw: big))
        XCTAssertEqual(e.status, 413)
        try assertStillServing()
    }

    func testUnknownPathAndMethod() throws {
        let e = try error(try server.client.get("/v1/nothing"))
        XCTAssertEqual(e.status, 404)
        let wrongMethod = try server.client.get("/v1/completions")
        XCTAssertGreaterThanOrEqual(wrongMethod.status, 400)
        XCTAssertLessThan(wrongMethod.status, 500)
    }
}

/// `--api-key`: Bearer authentication on `/v1`, compared in constant time.
final class APIKeyTests: XCTestCase {
    func testKeyIsRequiredOnV1Only() throws {
        let server = try TestServer(apiKey: "s3cret")
        defer { server.stop() }
        let body: [String: Any] = ["model": "tiny", "prompt": "x", "max_tokens": 1]
        for headers in [[:], ["Authorization": "Bearer wrong"], ["Authorization": "Bearer s3cre"], ["Authorization": "s3cret"]] {
            let reply = try server.client.post("/v1/completions", json: body, headers: headers)
            XCTAssertEqual(reply.status, 401, "\(headers)")
            XCTAssertEqual(((try reply.json()["error"] as? [String: Any])?["code"] as? String), "invalid_api_key")
        }
        XCTAssertEqual(try server.client.get("/v1/models").status, 401)
        XCTAssertEqual(try server.client.post("/v1/completions", json: body, headers: ["Authorization": "Bearer s3cret"]).status, 200)
        XCTAssertEqual(try server.client.get("/health").status, 200, "/health needs no key")
    }

    func testConstantTimeEqual() {
        let eq = APIKeyMiddleware.constantTimeEqual
        XCTAssertTrue(eq(Array("abc".utf8), Array("abc".utf8)))
        XCTAssertFalse(eq(Array("abc".utf8), Array("abd".utf8)))
        XCTAssertFalse(eq(Array("abc".utf8), Array("ab".utf8)))
        XCTAssertFalse(eq([], Array("a".utf8)))
        XCTAssertTrue(eq([], []))
        XCTAssertFalse(eq(Array("ab\u{0}".utf8), Array("ab".utf8)), "a trailing NUL must not compare equal")
    }
}
