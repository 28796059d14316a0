import ArgumentParser

/// `ember finetune`: the book's finetuning chapters on a pretrained (or Ember-trained) GPT model.
struct FinetuneCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "finetune",
        abstract: "Finetune a GPT model as the book's chapters 6 and 7 (and its DPO bonus) do.",
        subcommands: [FinetuneClassifyCommand.self, FinetuneInstructCommand.self, FinetuneDPOCommand.self])
}
