import Foundation

/// The book's `plot_losses` (chapter 5.2) as a dependency-free SVG: training loss (solid) and
/// validation loss (dash-dot) against epochs on the bottom axis, with a second "Tokens seen"
/// axis on top; without epochs, tokens seen is the bottom axis. With ``valueLabel`` and
/// ``seenLabel`` it is chapter 6's `plot_values` (`label="accuracy"`, "Examples seen").
///
/// ```swift
/// let log = try trainModelSimple(...)
/// try LossPlot(log, numEpochs: 10).write(to: URL(fileURLWithPath: "loss-plot.svg"))
/// ```
public struct LossPlot: Sendable {
    /// Training loss per evaluation.
    public var trainLosses: [Double]
    /// Validation loss per evaluation.
    public var valLosses: [Double]
    /// Tokens seen at each evaluation.
    public var tokensSeen: [Int]
    /// Bottom-axis positions (`torch.linspace(0, num_epochs, len(train_losses))`); nil plots
    /// against tokens seen only.
    public var epochsSeen: [Double]?
    /// What is plotted, lower case (the book's `label`): "loss" (y axis "Loss", legend "Training loss") or "accuracy".
    public var valueLabel: String
    /// The seen-axis title: "Tokens seen" (chapter 5) or "Examples seen" (chapter 6).
    public var seenLabel: String

    /// - Parameters: all arrays have one entry per evaluation (``TrainingLog``).
    public init(trainLosses: [Double], valLosses: [Double], tokensSeen: [Int], epochsSeen: [Double]? = nil,
                valueLabel: String = "loss", seenLabel: String = "Tokens seen") {
        self.trainLosses = trainLosses
        self.valLosses = valLosses
        self.tokensSeen = tokensSeen
        self.epochsSeen = epochsSeen
        self.valueLabel = valueLabel
        self.seenLabel = seenLabel
    }

    /// A plot of `log`; with `numEpochs`, epochs on the bottom axis and tokens seen on top (the book's layout).
    public init(_ log: TrainingLog, numEpochs: Int? = nil, label: String = "loss") {
        self.init(trainLosses: log.trainLosses, valLosses: log.valLosses, tokensSeen: log.tokensSeen,
                  epochsSeen: numEpochs.map { log.epochsSeen(numEpochs: $0) }, valueLabel: label)
    }

    /// The SVG document (`width` × `height` user units; the book's figure is 5 × 3 inches).
    public func svg(width: Double = 500, height: Double = 300) -> String {
        let (left, right, top, bottom) = (60.0, 15.0, epochsSeen == nil ? 15.0 : 45.0, 45.0)
        let plotW = width - left - right, plotH = height - top - bottom
        let xs = epochsSeen ?? tokensSeen.map(Double.init)
        let losses = (trainLosses + valLosses).filter { $0.isFinite }
        let (xLo, xHi) = Self.range(xs), (yLo, yHi) = Self.range(losses)
        func px(_ x: Double) -> Double { left + (x - xLo) / (xHi - xLo) * plotW }
        func py(_ y: Double) -> Double { top + (1 - (y - yLo) / (yHi - yLo)) * plotH }
        func line(_ ys: [Double], _ style: String) -> String {
            let points = zip(xs, ys).filter { $0.1.isFinite }.map { "\(Self.fmt(px($0.0))),\(Self.fmt(py($0.1)))" }
            return "<polyline fill=\"none\" stroke-width=\"1.5\" \(style) points=\"\(points.joined(separator: " "))\"/>"
        }
        var s = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Self.fmt(width))\" height=\"\(Self.fmt(height))\" viewBox=\"0 0 \(Self.fmt(width)) \(Self.fmt(height))\" font-family=\"sans-serif\" font-size=\"11\">\n"
        s += "<rect x=\"\(Self.fmt(left))\" y=\"\(Self.fmt(top))\" width=\"\(Self.fmt(plotW))\" height=\"\(Self.fmt(plotH))\" fill=\"none\" stroke=\"black\"/>\n"
        let integerTicks = epochsSeen != nil        // MaxNLocator(integer=True) on the epoch axis
        for t in Self.ticks(xLo, xHi, integer: integerTicks) {
            s += "<line x1=\"\(Self.fmt(px(t)))\" y1=\"\(Self.fmt(top + plotH))\" x2=\"\(Self.fmt(px(t)))\" y2=\"\(Self.fmt(top + plotH + 4))\" stroke=\"black\"/>"
            s += "<text x=\"\(Self.fmt(px(t)))\" y=\"\(Self.fmt(top + plotH + 16))\" text-anchor=\"middle\">\(Self.label(t))</text>\n"
        }
        for t in Self.ticks(yLo, yHi, integer: false) {
            s += "<line x1=\"\(Self.fmt(left - 4))\" y1=\"\(Self.fmt(py(t)))\" x2=\"\(Self.fmt(left))\" y2=\"\(Self.fmt(py(t)))\" stroke=\"black\"/>"
            s += "<text x=\"\(Self.fmt(left - 6))\" y=\"\(Self.fmt(py(t) + 4))\" text-anchor=\"end\">\(Self.label(t))</text>\n"
        }
        s += "<text x=\"\(Self.fmt(left + plotW / 2))\" y=\"\(Self.fmt(height - 8))\" text-anchor=\"middle\">\(epochsSeen == nil ? seenLabel : "Epochs")</text>\n"
        s += "<text transform=\"translate(14 \(Self.fmt(top + plotH / 2))) rotate(-90)\" text-anchor=\"middle\">\(valueLabel.prefix(1).uppercased() + valueLabel.dropFirst())</text>\n"
        if epochsSeen != nil, let first = tokensSeen.first, let last = tokensSeen.last {
            // ax2 = ax1.twiny(): tokens seen on top, over the same horizontal extent.
            let (tLo, tHi) = Self.range([Double(first), Double(last)])
            for t in Self.ticks(tLo, tHi, integer: true) {
                let x = left + (t - tLo) / (tHi - tLo) * plotW
                s += "<line x1=\"\(Self.fmt(x))\" y1=\"\(Self.fmt(top - 4))\" x2=\"\(Self.fmt(x))\" y2=\"\(Self.fmt(top))\" stroke=\"black\"/>"
                s += "<text x=\"\(Self.fmt(x))\" y=\"\(Self.fmt(top - 7))\" text-anchor=\"middle\">\(Self.label(t))</text>\n"
            }
            s += "<text x=\"\(Self.fmt(left + plotW / 2))\" y=\"12\" text-anchor=\"middle\">\(seenLabel)</text>\n"
        }
        s += line(trainLosses, "stroke=\"#1f77b4\"") + "\n"
        s += line(valLosses, "stroke=\"#ff7f0e\" stroke-dasharray=\"6 3 1.5 3\"") + "\n"
        let legendW = Swift.max(122.0, 50 + 6.5 * Double(("Validation " + valueLabel).count))
        let lx = left + plotW - legendW - 8, ly = top + 8
        s += "<rect x=\"\(Self.fmt(lx))\" y=\"\(Self.fmt(ly))\" width=\"\(Self.fmt(legendW))\" height=\"38\" fill=\"white\" stroke=\"#cccccc\"/>\n"
        s += "<line x1=\"\(Self.fmt(lx + 6))\" y1=\"\(Self.fmt(ly + 12))\" x2=\"\(Self.fmt(lx + 30))\" y2=\"\(Self.fmt(ly + 12))\" stroke=\"#1f77b4\" stroke-width=\"1.5\"/><text x=\"\(Self.fmt(lx + 36))\" y=\"\(Self.fmt(ly + 16))\">Training \(valueLabel)</text>\n"
        s += "<line x1=\"\(Self.fmt(lx + 6))\" y1=\"\(Self.fmt(ly + 28))\" x2=\"\(Self.fmt(lx + 30))\" y2=\"\(Self.fmt(ly + 28))\" stroke=\"#ff7f0e\" stroke-width=\"1.5\" stroke-dasharray=\"6 3 1.5 3\"/><text x=\"\(Self.fmt(lx + 36))\" y=\"\(Self.fmt(ly + 32))\">Validation \(valueLabel)</text>\n"
        return s + "</svg>\n"
    }

    /// Writes ``svg(width:height:)`` to `url` (UTF-8).
    /// - Throws: the file system's error.
    public func write(to url: URL, width: Double = 500, height: Double = 300) throws {
        try Data(svg(width: width, height: height).utf8).write(to: url, options: .atomic)
    }

    /// Data range, widened when empty or flat so the scale never divides by zero.
    static func range(_ values: [Double]) -> (Double, Double) {
        guard let lo = values.min(), let hi = values.max() else { return (0, 1) }
        return lo < hi ? (lo, hi) : (lo - 0.5, hi + 0.5)
    }

    /// About five ticks at 1, 2 or 5 × 10^k inside [lo, hi].
    static func ticks(_ lo: Double, _ hi: Double, integer: Bool) -> [Double] {
        let raw = (hi - lo) / 5
        let magnitude = Foundation.pow(10, Foundation.floor(Foundation.log10(raw)))
        var step = [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? 10 * magnitude
        if integer { step = Swift.max(1, step.rounded()) }
        var out: [Double] = []
        var t = (lo / step).rounded(.up) * step
        while t <= hi + step * 1e-9 { out.append(t); t += step }
        return out
    }

    static func label(_ v: Double) -> String {
        v == v.rounded() && Swift.abs(v) < 1e15 ? String(Int(v)) : String(format: "%g", v)
    }

    static func fmt(_ v: Double) -> String { String(format: "%.1f", v) }
}
