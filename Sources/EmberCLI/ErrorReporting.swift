import ArgumentParser
import EmberIO

/// How `ember` reports a failed command: one plain sentence after `Error: `, never Foundation's raw
/// `NSCocoaErrorDomain Code=…` text, and never a control character from a file (a checkpoint key with
/// `ESC[2J` must not clear the terminal). Exit status 1 (ArgumentParser's failure code).
struct ReportedError: Error, CustomStringConvertible {
    let description: String

    /// `error` as it should be printed; ArgumentParser's own errors and exit codes pass unchanged.
    static func presentable(_ error: any Error) -> any Error {
        if error is ExitCode || error is CleanExit || error is ValidationError { return error }
        let text = OSErrorText.sentence(error) ?? String(describing: error)
        return ReportedError(description: TerminalText.escaped(text, keepNewlines: true))
    }
}

extension EmberTool {
    /// ArgumentParser's `main` with run-time errors passed through ``ReportedError/presentable(_:)``.
    static func main() {
        var command: any ParsableCommand
        do { command = try parseAsRoot(nil) } catch { exit(withError: error) }
        do { try command.run() } catch { exit(withError: ReportedError.presentable(error)) }
    }
}
