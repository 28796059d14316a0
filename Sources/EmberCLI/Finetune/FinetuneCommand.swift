import ArgumentParser

/// `ember finetune`: the book's finetuning runs on a pretrained or trained GPT model.
struct FinetuneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "finetune",
        abstract: "Finetune a GPT model as the book's chapter 7 and its DPO bonus do.",
        subcommands: [FinetuneDPOCommand.self])
}
