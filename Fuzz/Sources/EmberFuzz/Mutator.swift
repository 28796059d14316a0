/// Deterministic mutations of seed files: the same seed gives the same inputs on every machine.
///
/// Kinds (chosen uniformly, 1–3 stacked per input): bit flips, "interesting" bytes, truncation, splices of
/// two seeds, and length-field edits: little-endian 2/4/8-byte integers at random offsets, the size and
/// offset fields of zip local headers / central directory / end record (`.pth`), the 8-byte header length
/// and the numbers inside the JSON header (safetensors).
struct Mutator {
    /// SplitMix64 (Steele, Lea & Flood 2014): tiny, fast, and reproducible across platforms.
    struct Random {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        /// Uniform in `0..<n` (n > 0).
        mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    }

    let seeds: [[UInt8]]
    var random: Random

    init(seeds: [[UInt8]], seed: UInt64) {
        self.seeds = seeds
        random = Random(state: seed)
    }

    /// Values that sit on the edges length checks get wrong.
    static let interesting: [UInt64] = [0, 1, 2, 7, 8, 63, 64, 127, 128, 255, 256, 0x7FFF, 0x8000, 0xFFFF, 0x1_0000,
                                        0x7FFF_FFFF, 0x8000_0000, 0xFFFF_FFFF, 0x1_0000_0000, 0x7FFF_FFFF_FFFF_FFFF,
                                        0x8000_0000_0000_0000, 0xFFFF_FFFF_FFFF_FFFF, 100_000_000, 100_000_001]

    /// The next input: a copy of a random seed with 1–3 mutations.
    mutating func next() -> (input: [UInt8], seedIndex: Int) {
        let index = random.below(seeds.count)
        var data = seeds[index]
        for _ in 0...random.below(3) { mutate(&data) }
        return (data, index)
    }

    private mutating func mutate(_ d: inout [UInt8]) {
        switch random.below(8) {
        case 0: flipBits(&d)
        case 1: setInterestingByte(&d)
        case 2: truncate(&d)
        case 3: splice(&d)
        case 4: editInteger(&d, at: d.isEmpty ? 0 : random.below(d.count))
        case 5: editZipField(&d)
        case 6: editSafetensorsHeader(&d)
        default: duplicateOrDeleteRange(&d)
        }
    }

    private mutating func flipBits(_ d: inout [UInt8]) {
        guard !d.isEmpty else { return }
        for _ in 0...random.below(8) {
            let i = random.below(d.count)
            d[i] ^= UInt8(1) << UInt8(random.below(8))
        }
    }

    private mutating func setInterestingByte(_ d: inout [UInt8]) {
        guard !d.isEmpty else { return }
        let values: [UInt8] = [0, 1, 0x7F, 0x80, 0xFF, 0x2E, 0x2F, 0x5C]
        d[random.below(d.count)] = values[random.below(values.count)]
    }

    private mutating func truncate(_ d: inout [UInt8]) {
        guard !d.isEmpty else { return }
        d.removeLast(1 + random.below(min(d.count, random.below(2) == 0 ? 16 : d.count)))
    }

    /// A prefix of this input followed by a suffix of another seed.
    private mutating func splice(_ d: inout [UInt8]) {
        let other = seeds[random.below(seeds.count)]
        let cut = d.isEmpty ? 0 : random.below(d.count + 1)
        let from = other.isEmpty ? 0 : random.below(other.count + 1)
        d = Array(d[..<cut]) + Array(other[from...])
    }

    private mutating func duplicateOrDeleteRange(_ d: inout [UInt8]) {
        guard d.count > 1 else { return }
        let start = random.below(d.count), length = 1 + random.below(min(64, d.count - start))
        if random.below(2) == 0 {
            d.insert(contentsOf: d[start..<(start + length)], at: start)
        } else {
            d.removeSubrange(start..<(start + length))
        }
    }

    /// Overwrites a little-endian integer of 2, 4 or 8 bytes at `offset` with an interesting value, or the
    /// current value ± a small delta.
    private mutating func editInteger(_ d: inout [UInt8], at offset: Int, width: Int? = nil) {
        let w = width ?? [2, 4, 8][random.below(3)]
        guard offset >= 0, offset + w <= d.count else { return }
        var current: UInt64 = 0
        for i in 0..<w { current |= UInt64(d[offset + i]) << (8 * UInt64(i)) }
        let value: UInt64
        switch random.below(3) {
        case 0: value = Mutator.interesting[random.below(Mutator.interesting.count)]
        case 1: value = current &+ UInt64(1 + random.below(64))
        default: value = current &- UInt64(1 + random.below(64))
        }
        for i in 0..<w { d[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt64(i))) }
    }

    /// Edits a size/offset/length field of a zip record (local header `PK\3\4`, central directory `PK\1\2`,
    /// end record `PK\5\6`); falls back to a random integer edit when the input has no such record.
    private mutating func editZipField(_ d: inout [UInt8]) {
        var found: [(offset: Int, kind: UInt8)] = []
        if d.count >= 4 {
            for i in 0..<(d.count - 3) where d[i] == 0x50 && d[i + 1] == 0x4B && d[i + 3] == d[i + 2] &+ 1 {
                if [3, 1, 5].contains(d[i + 2]) { found.append((i, d[i + 2])) }
            }
        }
        guard !found.isEmpty else { return editInteger(&d, at: d.isEmpty ? 0 : random.below(d.count)) }
        let record = found[random.below(found.count)]
        // (field offset, width) per record kind, from the zip APPNOTE.
        let fields: [(Int, Int)]
        switch record.kind {
        case 3: fields = [(8, 2), (14, 4), (18, 4), (22, 4), (26, 2), (28, 2)]           // method, crc, csize, usize, name, extra
        case 1: fields = [(10, 2), (16, 4), (20, 4), (24, 4), (28, 2), (30, 2), (32, 2), (42, 4)] // + comment, local offset
        default: fields = [(8, 2), (10, 2), (12, 4), (16, 4), (20, 2)]                  // entries, cd size, cd offset, comment
        }
        let (field, width) = fields[random.below(fields.count)]
        editInteger(&d, at: record.offset + field, width: width)
    }

    /// Edits the safetensors header length or a number inside the JSON header (shape, data_offsets).
    private mutating func editSafetensorsHeader(_ d: inout [UInt8]) {
        guard d.count >= 8 else { return }
        if random.below(3) == 0 { return editInteger(&d, at: 0, width: 8) }
        var n = 0
        for i in 0..<8 { n |= Int(d[i]) << (8 * i) }
        let end = min(d.count, 8 + max(0, min(n, d.count)))
        var runs: [Range<Int>] = []
        var i = 8
        while i < end {
            if (0x30...0x39).contains(d[i]) {
                let start = i
                while i < end, (0x30...0x39).contains(d[i]) { i += 1 }
                runs.append(start..<i)
            } else { i += 1 }
        }
        guard !runs.isEmpty else { return flipBits(&d) }
        let run = runs[random.below(runs.count)]
        let replacements = ["0", "1", "-1", "18446744073709551615", "18446744073709551616", "9223372036854775807",
                            "99999999999999999999999", "1e3", "1.5", "00", "2147483648", "\((Int(String(decoding: d[run], as: UTF8.self)) ?? 0) &+ 1)"]
        let text = Array(replacements[random.below(replacements.count)].utf8)
        d.replaceSubrange(run, with: text)
    }
}
