import Foundation
#if canImport(Glibc)
import Glibc
#endif

// ember-fuzz: a deterministic mutation fuzzer for EmberIO's readers.
//
// The driver mutates seed files (Mutator), writes each input to a scratch file and hands its path to a worker
// process (this executable in `worker` mode) over a pipe. The worker runs the reader and answers with the
// outcome. A worker that dies is a crash, one that does not answer within the time limit is a hang (it is
// killed); either way the input is saved under the output folder and a new worker is started. Running the
// readers in a child process is what lets one run survive crashes and enforce a per-input time limit.

let usage = """
usage: ember-fuzz run [--reader pth|tensors|safetensors|all] [--seconds N] [--timeout-ms T] [--seed S]
                      [--fixtures DIR] [--out DIR]
       ember-fuzz repro --reader R FILE...      run one reader on saved inputs in this process
       ember-fuzz worker --reader R             (internal) read paths from stdin, answer outcomes
defaults: --reader all --seconds 60 --timeout-ms 2000 --seed 1 --fixtures ../../shared/fixtures (or $EMBER_SHARED/fixtures)
          --out fuzz-out
"""

func option(_ name: String, in args: [String]) -> String? {
    guard let i = args.firstIndex(of: name), i + 1 < args.count else { return nil }
    return args[i + 1]
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data((message + "\n").utf8))
    exit(2)
}

let arguments = Array(CommandLine.arguments.dropFirst())
guard let mode = arguments.first else { fail(usage) }

switch mode {
case "worker":
    guard let reader = option("--reader", in: arguments).flatMap(Reader.init(rawValue:)) else { fail(usage) }
    // Bound memory so an unbounded allocation is a crash we see, not a machine that swaps.
    var limit = rlimit(rlim_cur: 8 << 30, rlim_max: 8 << 30)
    setrlimit(Int32(RLIMIT_AS.rawValue), &limit)
    var variant = 0
    while let line = readLine() {
        let outcome = reader.run(URL(fileURLWithPath: line), variant: variant)
        variant &+= 1
        FileHandle.standardOutput.write(Data((outcome + "\n").utf8))  // unbuffered: the driver waits for it
    }
case "repro":
    guard let reader = option("--reader", in: arguments).flatMap(Reader.init(rawValue:)) else { fail(usage) }
    let files = arguments.dropFirst().filter { !$0.hasPrefix("--") && $0 != reader.rawValue }
    for file in files {
        for variant in 0..<12 {
            print("\(file) variant \(variant): \(reader.run(URL(fileURLWithPath: file), variant: variant))")
        }
    }
case "run":
    let readers: [Reader]
    switch option("--reader", in: arguments) ?? "all" {
    case "all": readers = Reader.allCases
    case let name:
        guard let reader = Reader(rawValue: name) else { fail("unknown reader \(name)\n" + usage) }
        readers = [reader]
    }
    let seconds = Double(option("--seconds", in: arguments) ?? "60") ?? 60
    let timeoutMs = Int32(option("--timeout-ms", in: arguments) ?? "2000") ?? 2000
    let seed = UInt64(option("--seed", in: arguments) ?? "1") ?? 1
    let fixtures = option("--fixtures", in: arguments)
        ?? ProcessInfo.processInfo.environment["EMBER_SHARED"].map { $0 + "/fixtures" }
        ?? "../../shared/fixtures"
    let out = URL(fileURLWithPath: option("--out", in: arguments) ?? "fuzz-out")
    try? FileManager.default.createDirectory(at: out, withIntermediateDirectories: true)
    signal(SIGPIPE, SIG_IGN)
    var total = 0
    for reader in readers {
        let report = Campaign(reader: reader, fixtures: URL(fileURLWithPath: fixtures), out: out, seconds: seconds,
                              timeoutMs: timeoutMs, seed: seed).run()
        print(report)
        total += report.crashes + report.hangs
    }
    exit(total == 0 ? 0 : 1)
default:
    fail(usage)
}
