import Ember
import Foundation

/// The book's printed lines plus, on a terminal, a progress bar redrawn in place under them;
/// elsewhere one plain progress line per epoch.
final class TrainingConsole {
    let live: Bool
    private let bar = ProgressBar()
    private var barShown = false

    init(live: Bool) { self.live = live }

    /// Prints a line above the bar.
    func line(_ text: String) {
        clearBar()
        print(text)
        fflush(nil)   // nil: every C stream (stdout itself is not concurrency-safe to name)
    }

    func progress(_ p: TrainingProgress) {
        if live {
            print("\r\u{1B}[K" + bar.line(p), terminator: "")
            barShown = true
        } else if p.step == p.stepsPerEpoch {
            print(bar.plainLine(p))
        }
        fflush(nil)   // nil: every C stream (stdout itself is not concurrency-safe to name)
    }

    func endProgress() { clearBar() }

    private func clearBar() {
        guard barShown else { return }
        print("\r\u{1B}[K", terminator: "")
        barShown = false
    }
}
