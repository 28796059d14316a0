extension GPT2Tokenizer {
    /// tiktoken's `byte_pair_merge`: start from single bytes, repeatedly merge the adjacent pair whose
    /// concatenation has the lowest id (leftmost on ties) until no pair is a token. Appends the ids.
    func bytePairMerge(_ piece: UnsafeBufferPointer<UInt8>, into out: inout [Int32]) {
        let n = piece.count
        if n == 0 { return }
        if n > Self.heapMergeThreshold {
            bytePairMergeLong(piece, into: &out)
            return
        }
        withUnsafeTemporaryAllocation(of: Int32.self, capacity: 2 * n) { storage in
            let parts = UnsafeMutableBufferPointer(rebasing: storage[0..<n])
            let ranks = UnsafeMutableBufferPointer(rebasing: storage[n..<(2 * n)])  // pair (k, k + 1)
            byteIDs.withUnsafeBufferPointer { byteIDs in
                for k in 0..<n { parts[k] = byteIDs[Int(piece[k])] }
            }
            var m = n
            for k in 0..<(m - 1) { ranks[k] = pairs.merged(parts[k], parts[k + 1]) }
            while m > 1 {
                var best = Int32.max
                var at = -1
                for k in 0..<(m - 1) where ranks[k] < best {
                    best = ranks[k]
                    at = k
                }
                if at < 0 { break }
                parts[at] = best
                // Drop part at + 1 and pair at + 1; later entries move down by one.
                var k = at + 1
                while k < m - 1 {
                    parts[k] = parts[k + 1]
                    if k < m - 2 { ranks[k] = ranks[k + 1] }
                    k += 1
                }
                m -= 1
                if at < m - 1 { ranks[at] = pairs.merged(parts[at], parts[at + 1]) }
                if at > 0 { ranks[at - 1] = pairs.merged(parts[at - 1], parts[at]) }
            }
            for k in 0..<m { out.append(parts[k]) }
        }
    }

    /// Above this many bytes a piece is merged with a heap (O(n log n)) instead of rescanning
    /// (O(n²)); both pick the same pair at every step. Long pieces come from runs of one class
    /// (e.g. a megabyte of spaces or digits-free symbols).
    static let heapMergeThreshold = 96

    func bytePairMergeLong(_ piece: UnsafeBufferPointer<UInt8>, into out: inout [Int32]) {
        let n = piece.count
        var ids = piece.map { byteIDs[Int($0)] }
        var next = Array(1...n)           // next live part (n = none)
        var prev = Array(-1..<(n - 1))     // previous live part (-1 = none)
        var alive = [Bool](repeating: true, count: n)
        // Heap entries (rank, position) where position is the index of the left part; stale entries
        // (left or right part changed) are skipped by checking the stored right id and rank.
        var heap = MinHeap()
        func push(_ left: Int) {
            let right = next[left]
            guard right < n else { return }
            let rank = pairs.merged(ids[left], ids[right])
            if rank != Int32.max { heap.push(rank: rank, position: left) }
        }
        for k in 0..<(n - 1) { push(k) }
        while let (rank, left) = heap.pop() {
            guard alive[left], next[left] < n, pairs.merged(ids[left], ids[next[left]]) == rank else { continue }
            let right = next[left]
            ids[left] = rank
            alive[right] = false
            next[left] = next[right]
            if next[right] < n { prev[next[right]] = left }
            if prev[left] >= 0 { push(prev[left]) }
            push(left)
        }
        var k = 0
        while k < n {
            out.append(ids[k])
            k = next[k]
        }
    }
}

/// Binary min-heap of `(rank, position)` ordered by rank, then position (leftmost first).
private struct MinHeap {
    private var items: [UInt64] = []

    mutating func push(rank: Int32, position: Int) {
        items.append((UInt64(UInt32(bitPattern: rank)) << 32) | UInt64(position))
        var i = items.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            if items[parent] <= items[i] { break }
            items.swapAt(parent, i)
            i = parent
        }
    }

    mutating func pop() -> (Int32, Int)? {
        guard let top = items.first else { return nil }
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var i = 0
            while true {
                let l = 2 * i + 1, r = l + 1
                var smallest = i
                if l < items.count, items[l] < items[smallest] { smallest = l }
                if r < items.count, items[r] < items[smallest] { smallest = r }
                if smallest == i { break }
                items.swapAt(i, smallest)
                i = smallest
            }
        }
        return (Int32(bitPattern: UInt32(top >> 32)), Int(top & 0xFFFF_FFFF))
    }
}
