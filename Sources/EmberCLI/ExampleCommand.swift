import ArgumentParser
import Ember
import EmberExamples

/// `ember example [NAME]`: lists the examples, or runs one.
struct ExampleCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "example",
        abstract: "Run one of the book's examples (no name: list them).")

    @Argument(help: "The example to run.")
    var name: String?

    @Option(help: "Where the example moves its modules (examples that move them: buffers; e.g. vulkan:0, cpu, meta).")
    var device: String?

    func run() throws {
        guard let name else {
            print("Examples (run one with `ember example NAME`):")
            for e in allExamples { print("  \(e.name.padding(toLength: 12, withPad: " ", startingAt: 0)) \(e.summary)") }
            return
        }
        guard let example = allExamples.first(where: { $0.name == name }) else {
            throw ValidationError("unknown example '\(name)'; known: \(allExamples.map(\.name).joined(separator: ", "))")
        }
        guard let device else { return try example.run(nil) }
        guard example.takesDevice else {
            throw ValidationError("the '\(name)' example runs on the CPU only; --device applies to: \(allExamples.filter(\.takesDevice).map(\.name).joined(separator: ", "))")
        }
        try example.run(DeviceOption.resolve(device, allowMeta: true))
    }
}
