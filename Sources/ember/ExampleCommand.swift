import ArgumentParser
import EmberExamples

/// `ember example [NAME]`: lists the examples, or runs one.
struct ExampleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "example",
        abstract: "Run one of the book's examples (no name: list them).")

    @Argument(help: "The example to run.")
    var name: String?

    func run() throws {
        guard let name else {
            print("Examples (run one with `ember example NAME`):")
            for e in allExamples { print("  \(e.name.padding(toLength: 12, withPad: " ", startingAt: 0)) \(e.summary)") }
            return
        }
        guard let example = allExamples.first(where: { $0.name == name }) else {
            throw ValidationError("unknown example '\(name)'; known: \(allExamples.map(\.name).joined(separator: ", "))")
        }
        try example.run()
    }
}
