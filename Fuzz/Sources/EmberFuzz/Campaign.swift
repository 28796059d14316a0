import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One reader fuzzed for a number of seconds: runs, outcomes by kind, crashes and hangs.
struct CampaignReport: CustomStringConvertible {
    var reader: Reader
    var seeds = 0
    var runs = 0
    var crashes = 0
    var hangs = 0
    var outcomes: [String: Int] = [:]
    var seconds = 0.0
    var saved: [String] = []

    var description: String {
        let kinds = outcomes.sorted { $0.value > $1.value }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        return """
        reader \(reader.rawValue): \(runs) runs in \(String(format: "%.0f", seconds)) s (\(String(format: "%.0f", Double(runs) / max(seconds, 0.001))) /s) \
        from \(seeds) seeds; crashes \(crashes), hangs \(hangs)
          outcomes: \(kinds)
        """ + (saved.isEmpty ? "" : "\n  saved: " + saved.joined(separator: "\n         "))
    }
}

/// Drives a worker process (this executable, `worker` mode) with mutated inputs.
struct Campaign {
    let reader: Reader
    let fixtures: URL
    let out: URL
    let seconds: Double
    let timeoutMs: Int32
    let seed: UInt64

    func run() -> CampaignReport {
        var report = CampaignReport(reader: reader)
        var seeds: [[UInt8]] = []
        for folder in reader.seedFolders {
            let dir = fixtures.appendingPathComponent(folder)
            let names = ((try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []).sorted()
            for name in names where name.hasSuffix(".pth") || name.hasSuffix(".safetensors") {
                if let d = try? Data(contentsOf: dir.appendingPathComponent(name)) { seeds.append([UInt8](d)) }
            }
        }
        guard !seeds.isEmpty else {
            print("no seed files under \(fixtures.path) for \(reader.rawValue)")
            return report
        }
        report.seeds = seeds.count
        var mutator = Mutator(seeds: seeds, seed: seed &* 31 &+ UInt64(Reader.allCases.firstIndex(of: reader)!))
        let scratchRoot = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
        let ext = reader == .safetensors ? "safetensors" : "pth"
        let scratch = URL(fileURLWithPath: scratchRoot).appendingPathComponent("ember-fuzz-\(getpid())-\(reader.rawValue).\(ext)")
        defer { try? FileManager.default.removeItem(at: scratch) }
        var worker = Worker(reader: reader)
        let start = Date()
        while Date().timeIntervalSince(start) < seconds {
            let (input, _) = mutator.next()
            // Every seed is also run once unmutated first.
            let data = report.runs < seeds.count ? seeds[report.runs] : input
            guard (try? Data(data).write(to: scratch)) != nil else { fatalError("cannot write \(scratch.path)") }
            report.runs += 1
            switch worker.run(scratch.path, timeoutMs: timeoutMs) {
            case .outcome(let kind):
                report.outcomes[kind, default: 0] += 1
            case .crashed(let status):
                report.crashes += 1
                report.saved.append(save(data, "crash", status, &report))
                worker = Worker(reader: reader)
            case .hung:
                report.hangs += 1
                report.saved.append(save(data, "hang", "timeout \(timeoutMs) ms", &report))
                worker = Worker(reader: reader)
            }
        }
        worker.stop()
        report.seconds = Date().timeIntervalSince(start)
        return report
    }

    private func save(_ data: [UInt8], _ what: String, _ detail: String, _ report: inout CampaignReport) -> String {
        let name = "\(what)-\(reader.rawValue)-\(report.runs).\(reader == .safetensors ? "safetensors" : "pth")"
        let url = out.appendingPathComponent(name)
        try? Data(data).write(to: url)
        return "\(url.path) (\(detail))"
    }
}

/// A worker child process and its pipes.
struct Worker {
    enum Result { case outcome(String), crashed(String), hung }

    let process = Process()
    let input = Pipe(), output = Pipe()
    private var buffer: [UInt8] = []

    init(reader: Reader) {
        process.executableURL = URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL
        if !FileManager.default.isExecutableFile(atPath: process.executableURL!.path) {
            process.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        }
        process.arguments = ["worker", "--reader", reader.rawValue]
        process.standardInput = input
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { fatalError("cannot start a worker: \(error)") }
    }

    /// Sends one path and waits for the answer line.
    mutating func run(_ path: String, timeoutMs: Int32) -> Result {
        let line = Array((path + "\n").utf8)
        let written = line.withUnsafeBytes { write(input.fileHandleForWriting.fileDescriptor, $0.baseAddress, $0.count) }
        guard written == line.count else { return .crashed(exitStatus()) }
        let fd = output.fileHandleForReading.fileDescriptor
        let deadline = Date().addingTimeInterval(Double(timeoutMs) / 1000)
        while true {
            if let newline = buffer.firstIndex(of: 0x0A) {
                let answer = String(decoding: buffer[..<newline], as: UTF8.self)
                buffer.removeSubrange(...newline)
                return .outcome(answer)
            }
            let left = Int32(deadline.timeIntervalSinceNow * 1000)
            guard left > 0 else { kill(process.processIdentifier, SIGKILL); process.waitUntilExit(); return .hung }
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            let ready = poll(&pfd, 1, left)
            if ready < 0 && errno == EINTR { continue }
            guard ready > 0 else { continue }
            var chunk = [UInt8](repeating: 0, count: 4096)
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { return .crashed(exitStatus()) }
            buffer += chunk[..<n]
        }
    }

    private func exitStatus() -> String {
        process.waitUntilExit()
        switch process.terminationReason {
        case .uncaughtSignal: return "signal \(process.terminationStatus)"
        default: return "exit \(process.terminationStatus)"
        }
    }

    func stop() {
        try? input.fileHandleForWriting.close()
        process.waitUntilExit()
    }
}
