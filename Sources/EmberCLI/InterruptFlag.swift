import Foundation

/// Ctrl-C as a flag: the first SIGINT asks the run to stop after the current step and save there
/// (between steps, atomically: nothing half written); a second one exits at once, unsaved.
///
/// A plain C signal handler rather than a dispatch signal source: on Linux those read a signalfd and
/// can miss a signal delivered to one of the compute threads.
final class InterruptFlag: Sendable {
    func isRaised() -> Bool { interruptCount > 0 }

    func install() {
        interruptCount = 0
        signal(SIGINT) { _ in
            // Only async-signal-safe calls here: a counter, write(2) and _exit.
            interruptCount += 1
            if interruptCount > 1 { _exit(130) }
            let note: StaticString = "\nStopping after this step to save (Ctrl-C again to quit at once, unsaved)...\n"
            _ = write(STDERR_FILENO, note.utf8Start, note.utf8CodeUnitCount)
        }
    }

    func uninstall() { signal(SIGINT, SIG_DFL) }
}

/// SIGINTs received since ``InterruptFlag/install()`` (written only by the handler, read between steps).
nonisolated(unsafe) private var interruptCount: sig_atomic_t = 0
