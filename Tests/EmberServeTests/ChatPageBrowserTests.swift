import EmberLLM
import Foundation
import XCTest
@testable import EmberServe

/// The chat page in a real browser: headless Chromium (Debian's `chromium`, installed by `.ci/run`)
/// driven over the DevTools protocol against an in-process server with a small random model. It
/// types a message, sees streamed text appear, presses stop, and reloads (the conversation stays).
/// Skipped with a message where no Chromium is installed.
final class ChatPageBrowserTests: XCTestCase {
    func testTypeStreamStopReload() throws {
        guard let chromium = HeadlessChromium.executable() else {
            throw XCTSkip("chromium not found on PATH: install Debian's chromium package (.ci/run does) to run the browser test")
        }
        // Big enough that 1000 tokens take a while (the stop must land mid-stream), small enough to build at once.
        let metrics = ServerMetrics()
        let model = ServedModel(name: "tiny", model: tinyModel(contextLength: 1024), tokenizer: try GPT2Tokenizer.gpt2(),
                                maxBatch: 2, maxQueue: 2, metrics: metrics)
        let server = try TestServer(models: [model])
        defer { server.stop() }
        let browser = try HeadlessChromium(executable: chromium, url: "http://127.0.0.1:\(server.port)/")
        defer { browser.stop() }
        let page = try browser.page()
        try page.call("Runtime.enable")
        try page.call("Page.enable")

        XCTAssertTrue(try page.waitFor("document.querySelectorAll('#model option').length === 1"), "the model picker did not fill")
        XCTAssertEqual(try page.evaluate("document.getElementById('model').value") as? String, "tiny")
        _ = try page.evaluate("document.getElementById('max-tokens').value = '1000'; document.getElementById('temperature').value = '0'; true")

        // Type a message and press Enter, as a user does.
        _ = try page.evaluate("document.getElementById('prompt').focus(); true")
        try page.call("Input.insertText", ["text": "Hello Ember"])
        for type in ["keyDown", "keyUp"] {
            try page.call("Input.dispatchKeyEvent", ["type": type, "key": "Enter", "code": "Enter", "windowsVirtualKeyCode": 13,
                                                     "nativeVirtualKeyCode": 13, "text": "\r"])
        }
        XCTAssertTrue(try page.waitFor("document.querySelector('.msg.user .text')?.textContent === 'Hello Ember'"), "the message was not sent")
        let assistantText = "(document.querySelector('.msg.assistant .text')?.textContent ?? '')"
        XCTAssertTrue(try page.waitFor("\(assistantText).length > 0"), "no streamed text appeared")
        let early = try page.evaluate(assistantText) as? String ?? ""
        XCTAssertTrue(try page.waitFor("\(assistantText).length > \(early.count)"), "the text did not grow while streaming")
        XCTAssertEqual(try page.evaluate("document.getElementById('stop').disabled") as? Bool, false, "stop must be enabled while streaming")

        _ = try page.evaluate("document.getElementById('stop').click(); true")
        XCTAssertTrue(try page.waitFor("document.getElementById('status').textContent === 'stopped'"), "stop did not stop the stream")
        XCTAssertEqual(try page.evaluate("document.getElementById('send').disabled") as? Bool, false)
        let shown = try page.evaluate(assistantText) as? String ?? ""
        XCTAssertFalse(shown.isEmpty)
        // The server notices the aborted request and frees its row.
        var running = 1
        for _ in 0..<600 where running > 0 { usleep(50_000); running = model.scheduler.running }
        XCTAssertEqual(running, 0, "the server kept generating after the page pressed stop")

        if let dir = ProcessInfo.processInfo.environment["EMBER_SCREENSHOT_DIR"] {
            let shot = try page.call("Page.captureScreenshot", ["format": "png"])
            if let data = (shot["data"] as? String).flatMap({ Data(base64Encoded: $0) }) {
                try data.write(to: URL(fileURLWithPath: dir).appendingPathComponent("chat-page.png"))
            }
        }

        try page.call("Page.reload")
        XCTAssertTrue(try page.waitFor("document.querySelectorAll('#model option').length === 1"), "the page did not come back after reload")
        XCTAssertEqual(try page.evaluate("document.querySelector('.msg.user .text')?.textContent") as? String, "Hello Ember",
                       "the conversation was not kept across the reload")
        XCTAssertEqual(try page.evaluate(assistantText) as? String, shown)
    }
}
