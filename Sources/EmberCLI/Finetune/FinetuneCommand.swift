import ArgumentParser

/// `ember finetune`: the book's finetuning chapters, one subcommand each (chapter 7's `instruct`).
struct FinetuneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "finetune",
        abstract: "Finetune a pretrained GPT model as the book's later chapters do.",
        subcommands: [FinetuneInstructCommand.self])
}
