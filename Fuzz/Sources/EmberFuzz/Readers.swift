import EmberCore
import EmberIO
import Foundation

/// The readers under test. Each reads one file and touches every byte it returns (so a record that points
/// outside its buffer would fault here, not later); a refusal is an `EmberIOError`, anything else that
/// escapes is a bug.
enum Reader: String, CaseIterable {
    /// `PthCheckpoint.load` with and without CRC checks (so mutated pickles reach the unpickler) and mmap,
    /// then every tensor record's bytes, plus `PthInspector.json` (the `ember inspect --json` path).
    case pth
    /// `load(_:)`: the Tensor bridge on top of `PthCheckpoint.load` (copied, then memory-mapped).
    case tensors
    /// `SafetensorsFile.load` and `loadSafetensors` (mapped and copied).
    case safetensors

    /// Seed folders (under the shared fixtures folder) whose files this reader mutates.
    var seedFolders: [String] {
        switch self {
        case .pth, .tensors: return ["pth", "pth/hostile", "buffers"]
        case .safetensors: return ["safetensors", "safetensors/hostile"]
        }
    }

    /// Runs the reader on `url`; returns "ok" or the kind of the refusal. `variant` picks the options.
    func run(_ url: URL, variant: Int) -> String {
        do {
            switch self {
            case .pth:
                var options = PthLoadOptions(mmap: variant % 3 == 2, mapLocation: .cpu)
                options.verifyChecksums = variant % 3 == 0
                options.keepUnsupported = variant % 2 == 0
                let checkpoint = try PthCheckpoint.load(contentsOf: url, options: options)
                var sum = 0
                for (_, t) in checkpoint.tensors() { sum &+= checksum(t.contiguousBytes()) }
                if variant % 4 == 1 { sum &+= try PthInspector.json(contentsOf: url, maxNodes: 100_000).utf8.count }
                _ = try? checkpoint.stateDict()
                blackHole(sum)
            case .tensors:
                let value = try load(url, mapLocation: .cpu, mmap: variant % 2 == 1)
                var sum = 0
                visit(value) { t in
                    let c = t.contiguous()
                    if let p = c.storage.data, c.numel > 0 {
                        sum &+= checksum(Data(bytes: p + c.storageOffset * c.dtype.itemSize, count: c.numel * c.dtype.itemSize))
                    }
                }
                blackHole(sum)
            case .safetensors:
                let file = try SafetensorsFile.load(contentsOf: url, mapped: variant % 2 == 0)
                var sum = 0
                for t in file.tensors.values { sum &+= checksum(t.bytes) }
                let (tensors, _) = try loadSafetensors(url, mapped: variant % 2 == 1)
                for t in tensors.values where t.numel > 0 { sum &+= Int(t.storage.byteCount) }
                blackHole(sum)
            }
            return "ok"
        } catch let error as EmberIOError {
            return error.kind.rawValue
        } catch {
            return "other-error"
        }
    }

    private func visit(_ v: StateValue, _ body: (Tensor) -> Void) {
        switch v {
        case .tensor(let t): body(t)
        case .list(let l), .tuple(let l): for x in l { visit(x, body) }
        case .dict(let d): for x in d.values { visit(x, body) }
        default: break
        }
    }
}

/// Reads every byte (a cheap sum), so out-of-bounds views fault inside the run.
func checksum(_ d: Data) -> Int { d.withUnsafeBytes { $0.reduce(0) { $0 &+ Int($1) } } }

@inline(never) func blackHole(_ x: Int) { if x == 0x5EED_F00D { print("") } }
