import Foundation

/// Which files of a repository a snapshot downloads: `fnmatch`-style globs as `huggingface_hub`'s
/// `allow_patterns` (Python's `fnmatch.fnmatchcase`: `*` matches any run of characters including `/`, `?`
/// one character, `[abc]`/`[!abc]` a set; a pattern ending in `/` means everything under that folder), or
/// the default selection for a model.
/// Sources: https://docs.python.org/3/library/fnmatch.html, `huggingface_hub/utils/_paths.py`
/// (`filter_repo_objects`).
enum HubFilePatterns {
    /// True when `name` matches the glob `pattern` (case-sensitive, as on POSIX).
    static func matches(_ name: String, _ pattern: String) -> Bool {
        let pattern = pattern.hasSuffix("/") ? pattern + "*" : pattern
        return match(Array(name.unicodeScalars)[...], Array(pattern.unicodeScalars)[...])
    }

    /// True when `pattern` has no glob characters (it names one file).
    static func isLiteral(_ pattern: String) -> Bool {
        !pattern.contains(where: { "*?[".contains($0) }) && !pattern.hasSuffix("/")
    }

    /// The files of `filenames` that match any of `patterns`, in the listing's order.
    static func select(_ filenames: [String], include patterns: [String]) -> [String] {
        filenames.filter { name in patterns.contains { matches(name, $0) } }
    }

    /// The files a GPT-style model needs, from the repository's top level: `config.json`,
    /// `generation_config.json`, the weights (every `*.safetensors` with `model.safetensors.index.json`, or
    /// `pytorch_model.bin` + `pytorch_model.bin.index.json` only when there is no safetensors file) and the
    /// tokenizer files (`vocab.json`, `merges.txt`, `tokenizer.json`, `tokenizer_config.json`,
    /// `special_tokens_map.json`). Other formats (TF, Flax, ONNX, Rust) are left out.
    static func defaultModelFiles(_ filenames: [String]) -> [String] {
        let top = filenames.filter { !$0.contains("/") }
        let hasSafetensors = top.contains { $0.hasSuffix(".safetensors") }
        var wanted: Set<String> = ["config.json", "generation_config.json", "vocab.json", "merges.txt", "tokenizer.json",
                                   "tokenizer_config.json", "special_tokens_map.json"]
        if hasSafetensors {
            wanted.insert("model.safetensors.index.json")
        } else {
            wanted.formUnion(["pytorch_model.bin", "pytorch_model.bin.index.json"])
        }
        return top.filter { name in
            wanted.contains(name) || (hasSafetensors && name.hasSuffix(".safetensors"))
                || (!hasSafetensors && name.hasPrefix("pytorch_model-") && name.hasSuffix(".bin"))
        }
    }

    private static func match(_ s: ArraySlice<Unicode.Scalar>, _ p: ArraySlice<Unicode.Scalar>) -> Bool {
        var s = s, p = p
        // Backtracking to the last `*` only: linear in practice, like fnmatch's translated regex.
        var star: (p: ArraySlice<Unicode.Scalar>, s: ArraySlice<Unicode.Scalar>)?
        while true {
            if let c = p.first {
                if c == "*" {
                    p = p.dropFirst()
                    star = (p, s)
                    continue
                }
                if let sc = s.first, let rest = single(c, p, sc) {
                    p = rest
                    s = s.dropFirst()
                    continue
                }
            } else if s.isEmpty {
                return true
            }
            guard let (sp, ss) = star, !ss.isEmpty else { return false }
            star = (sp, ss.dropFirst())
            p = sp
            s = ss.dropFirst()
        }
    }

    /// Matches one character `sc` against the pattern element at the head of `p` (`c` is its first
    /// character); returns the pattern after that element, or nil when it does not match.
    private static func single(_ c: Unicode.Scalar, _ p: ArraySlice<Unicode.Scalar>, _ sc: Unicode.Scalar) -> ArraySlice<Unicode.Scalar>? {
        if c == "?" { return p.dropFirst() }
        if c == "[", let set = bracket(p) {
            return set.contains(sc) ? set.rest : nil
        }
        return c == sc ? p.dropFirst() : nil
    }

    /// Parses `[...]` at the head of `p`; nil when there is no closing `]` (then `[` is a plain character).
    private static func bracket(_ p: ArraySlice<Unicode.Scalar>) -> (contains: (Unicode.Scalar) -> Bool, rest: ArraySlice<Unicode.Scalar>)? {
        var i = p.index(after: p.startIndex)
        var negate = false
        if i < p.endIndex, p[i] == "!" { negate = true; i = p.index(after: i) }
        var ranges: [ClosedRange<Unicode.Scalar>] = []
        var first = true
        while i < p.endIndex, p[i] != "]" || first {
            first = false
            let lo = p[i]
            if p.index(i, offsetBy: 2, limitedBy: p.endIndex).map({ $0 < p.endIndex }) == true,
               p[p.index(after: i)] == "-", p[p.index(i, offsetBy: 2)] != "]" {
                let hi = p[p.index(i, offsetBy: 2)]
                if lo <= hi { ranges.append(lo...hi) }
                i = p.index(i, offsetBy: 3)
            } else {
                ranges.append(lo...lo)
                i = p.index(after: i)
            }
        }
        guard i < p.endIndex else { return nil }
        let rest = p[p.index(after: i)...]
        return ({ c in ranges.contains { $0.contains(c) } != negate }, rest)
    }
}
