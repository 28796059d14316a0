import Foundation

/// The outcome of ``generateModelScores(_:endpoint:log:progress:)``: the book's two printed lines.
public struct JudgeReport: Sendable, Equatable {
    /// The integer scores, in entry order (unparsable answers left out, as the book's `continue`).
    public var scores: [Int]
    /// Entries judged (`len(test_data)`).
    public var total: Int
    /// The answers that were not integers, with their entry index.
    public var unparsable: [Unparsable]

    /// A report of the given scores.
    public init(scores: [Int], total: Int, unparsable: [Unparsable]) {
        self.scores = scores
        self.total = total
        self.unparsable = unparsable
    }

    /// An answer that `int()` refused.
    public struct Unparsable: Sendable, Equatable {
        /// The entry's index.
        public var index: Int
        /// What the judge answered.
        public var answer: String

        /// An entry's refused answer.
        public init(index: Int, answer: String) {
            self.index = index
            self.answer = answer
        }
    }

    /// `sum(scores) / len(scores)`, nil without scores.
    public var averageScore: Double? { scores.isEmpty ? nil : Double(scores.reduce(0, +)) / Double(scores.count) }

    /// `Number of scores: 108 of 110`.
    public var countLine: String { "Number of scores: \(scores.count) of \(total)" }

    /// `Average score: 50.32` (`f"{sum(scores)/len(scores):.2f}"`).
    /// - Throws: ``JudgeError/noScores(total:)`` when there is no score to average.
    public func averageLine() throws(JudgeError) -> String {
        guard let averageScore else { throw .noScores(total: total) }
        return String(format: "Average score: %.2f", averageScore)
    }
}

/// The book's `generate_model_scores` (ch. 7 §7.8): for each entry, ``judgePrompt(_:)`` sent to the
/// judge model, its answer read as an integer (``parseJudgeScore(_:)``); an answer that is not one is
/// logged as `Could not convert score: …` and skipped, as the book does.
/// - Parameters:
///   - log: receives the "Could not convert score" lines.
///   - progress: called after each entry with (entries done, total), for a progress bar.
/// - Throws: the first ``JudgeError`` of a request (an unreachable server, an HTTP error, an answer
///   that is not the API's JSON): judging stops there; the entries on disk are never touched.
public func generateModelScores(_ entries: [JudgeEntry], endpoint: ChatEndpoint, log: (String) -> Void = { print($0) },
                                progress: (Int, Int) -> Void = { _, _ in }) throws(JudgeError) -> JudgeReport {
    var report = JudgeReport(scores: [], total: entries.count, unparsable: [])
    for (index, item) in entries.enumerated() {
        let answer = try endpoint.complete(judgePrompt(item))
        if let score = parseJudgeScore(answer) {
            report.scores.append(score)
        } else {
            report.unparsable.append(.init(index: index, answer: answer))
            log("Could not convert score: \(answer)")
        }
        progress(index + 1, entries.count)
    }
    return report
}
