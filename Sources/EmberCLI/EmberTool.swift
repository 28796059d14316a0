import ArgumentParser

/// `ember`: Ember's command-line tool. Thin: it parses arguments and calls the libraries.
@main
struct EmberTool: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ember",
        abstract: "Build, train and run GPT-style language models the way the book does, in Swift.",
        subcommands: [TrainCommand.self, GenerateCommand.self, EvalCommand.self, DownloadCommand.self, TokenizeCommand.self,
                      InspectCommand.self, ExportCommand.self, ExampleCommand.self, FinetuneCommand.self, ClassifyCommand.self, JudgeCommand.self, ServeCommand.self])
}
