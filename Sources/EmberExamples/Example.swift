import EmberCore

/// A runnable example from the book or its notebooks, printed as the notebook prints it.
public struct Example: Sendable {
    public let name: String
    public let summary: String
    /// Whether the example moves its modules to a device chosen with `ember example NAME --device`.
    public let takesDevice: Bool
    /// Runs the example; the device is nil when none was chosen (the example's default).
    public let run: @Sendable (_ device: Device?) throws -> Void
}

/// All examples `ember example NAME` can run, in the book's order.
public let allExamples: [Example] = [
    Example(name: "attention", summary: "Chapter 3 / seed notebook: causal self-attention on a batch of two (case C22)",
            takesDevice: false, run: { _ in runAttentionExample() }),
    Example(name: "appendix-a", summary: "Appendix A.7: a small MLP trained with SGD on the toy data (prints the losses)",
            takesDevice: false, run: { _ in try runAppendixAExample() }),
    Example(name: "buffers", summary: "Seed notebook \"Understanding PyTorch Buffers\": devices, state dicts, save/load (case C27); --device vulkan:0 runs it on the accelerator (default meta)",
            takesDevice: true, run: { try runBuffersExample(device: $0 ?? buffersDefaultDevice) }),
    Example(name: "ddp", summary: "Appendix A.9.3 (DDP-script.py): the toy network trained data-parallel; run as `mpirun -np 2 ember example ddp`",
            takesDevice: false, run: { _ in try runDDPExample() }),
]
