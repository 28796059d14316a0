import ArgumentParser
import EmberIO
import Foundation

/// `ember inspect FILE [--json]`: the tensors of a `.pth` or `.safetensors` file, read without executing
/// anything (the same loaders as `load` / `loadSafetensors`).
///
/// Without `--json`: a tree of the saved object (dict keys and list indices as nested lines), one line per
/// tensor with its dtype, shape and bytes, scalar values inline, then the totals. With `--json`: exactly
/// what `python3 tools/pth_inspect.py FILE` prints (``PthInspector/json(contentsOf:maxNodes:)``).
/// A damaged, hostile or unreadable file ends with a message naming the file and a non-zero exit status.
struct InspectCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "List the tensors (key, dtype, shape, bytes) of a .pth or .safetensors file.")

    @Argument(help: "A .pth checkpoint (torch.save) or a .safetensors file.")
    var file: String

    @Flag(help: "Print the JSON that tools/pth_inspect.py prints for the same file.")
    var json = false

    func run() throws {
        let url = URL(fileURLWithPath: file)
        do {
            if json {
                print(try PthInspector.json(contentsOf: url), terminator: "")
            } else {
                print(try InspectListing(contentsOf: url).text, terminator: "")
            }
        } catch let error as EmberIOError {
            throw InspectError(description: error.description)
        }
    }
}

/// An `ember inspect` failure; ArgumentParser prints `Error: <description>` and exits with status 1.
struct InspectError: Error, CustomStringConvertible {
    let description: String
}
