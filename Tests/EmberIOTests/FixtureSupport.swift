import EmberIO
import EmberTestSupport
import Foundation
import XCTest

/// Locates fixtures: small ones are copied into this target's `Fixtures/` (Bundle.module); the shared
/// folder (EmberTestSupport's `SharedFolder`) is used for tools.
enum Fixtures {
    static func url(_ relative: String) -> URL {
        Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.appendingPathComponent(relative)
    }

    static func files(in folder: String, ext: String) -> [URL] {
        let dir = url(folder)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        return names.filter { $0.hasSuffix("." + ext) }.sorted().map { dir.appendingPathComponent($0) }
    }

    static func json(_ relative: String) throws -> [String: Any] {
        let data = try Data(contentsOf: url(relative))
        return try XCTUnwrap(JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    static func temporaryDirectory() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("emberio-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }
}

/// Runs `python3 pth_inspect.py FILE` (the shared tool that accepts what `torch.load(weights_only=True)`
/// accepts) and returns its stdout; `XCTSkip` when python3, numpy or the tool is missing.
enum PthInspectTool {
    static func run(_ file: URL, patchMetadata: Bool = false) throws -> (status: Int32, stdout: String, stderr: String) {
        let tool = try SharedFolder.file("tools/pth_inspect.py")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        if patchMetadata {
            // pth_inspect.py maps OrderedDict to the builtin dict, whose instances cannot take BUILD's
            // `_metadata` attribute, so it refuses every real state dict. This shim runs the same tool with
            // a pickle BUILD that accepts attributes on dicts (what torch does); nothing else changes.
            let shim = """
            import sys, pickle; sys.path.insert(0, sys.argv[1]); sys.argv = ['pth_inspect.py', sys.argv[2]]
            import pth_inspect as t
            class U(pickle._Unpickler):
                dispatch = dict(pickle._Unpickler.dispatch)
                def _build(self):
                    state = self.stack.pop(); inst = self.stack[-1]
                    if isinstance(inst, dict) and isinstance(state, dict) and set(state) <= {'_metadata'}: return
                    self.stack.append(state); pickle._Unpickler.load_build(self)
                dispatch[pickle.BUILD[0]] = _build
            t.pickle = type(sys)('p'); t.pickle.Unpickler = U
            t.main()
            """
            process.arguments = ["python3", "-c", shim, tool.deletingLastPathComponent().path, file.path]
        } else {
            process.arguments = ["python3", tool.path, file.path]
        }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        do { try process.run() } catch { throw XCTSkip("python3 not available: \(error)") }
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let stderr = String(decoding: e, as: UTF8.self)
        if stderr.contains("No module named 'numpy'") || process.terminationStatus == 127 {
            throw XCTSkip("python3 with numpy is needed to run pth_inspect.py")
        }
        return (process.terminationStatus, String(decoding: o, as: UTF8.self), stderr)
    }
}

extension TensorRecord {
    var sha256: String { SHA256Digest.hex(contiguousBytes()) }
}
