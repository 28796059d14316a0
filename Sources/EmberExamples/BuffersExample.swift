import EmberCore
import EmberIO
import EmberNN
import Foundation

// The seed notebook "Understanding PyTorch Buffers" (book ch. 3, case C27), written the Swift way.

/// The notebook's first class: the mask is a plain property, so it is neither moved by `to(_:)`
/// nor saved by `stateDict()`.
final class CausalAttentionWithoutBuffers: Module {
    @Child var W_query: Linear
    @Child var W_key: Linear
    @Child var W_value: Linear
    @Child var dropout: Dropout
    var mask: Tensor                                    // plain property: the pitfall

    init(dIn: Int, dOut: Int, contextLength: Int, dropout p: Double, qkvBias: Bool = false) {
        W_query = Linear(dIn, dOut, bias: qkvBias)
        W_key = Linear(dIn, dOut, bias: qkvBias)
        W_value = Linear(dIn, dOut, bias: qkvBias)
        dropout = Dropout(p)
        mask = Tensor.ones([contextLength, contextLength]).triu(diagonal: 1)
        super.init()
    }

    func callAsFunction(_ x: Tensor) -> Tensor {          // x: [batch, numTokens, dIn]
        let numTokens = x.shape[1]
        let keys = W_key(x), queries = W_query(x), values = W_value(x)
        let scores = queries.matmul(keys.transpose(1, 2))   // [batch, numTokens, numTokens]
        scores.maskedFill_(mask.bool()[..<numTokens, ..<numTokens], -Double.infinity)
        let weights = dropout(softmax(scores / Double(keys.shape[keys.ndim - 1]).squareRoot(), dim: -1))
        return weights.matmul(values)                       // [batch, numTokens, dOut]
    }
}

/// The notebook's fix: the mask is a registered buffer.
final class CausalAttentionWithBuffer: Module {
    @Child var W_query: Linear
    @Child var W_key: Linear
    @Child var W_value: Linear
    @Child var dropout: Dropout
    @Buffer var mask: Tensor                            // moves with to(_:), saved in stateDict()

    init(dIn: Int, dOut: Int, contextLength: Int, dropout p: Double, qkvBias: Bool = false) {
        W_query = Linear(dIn, dOut, bias: qkvBias)
        W_key = Linear(dIn, dOut, bias: qkvBias)
        W_value = Linear(dIn, dOut, bias: qkvBias)
        dropout = Dropout(p)
        mask = Tensor.ones([contextLength, contextLength]).triu(diagonal: 1)
        super.init()
    }

    func callAsFunction(_ x: Tensor) -> Tensor {
        let numTokens = x.shape[1]
        let keys = W_key(x), queries = W_query(x), values = W_value(x)
        let scores = queries.matmul(keys.transpose(1, 2))
        scores.maskedFill_(mask.bool()[..<numTokens, ..<numTokens], -Double.infinity)
        let weights = dropout(softmax(scores / Double(keys.shape[keys.ndim - 1]).squareRoot(), dim: -1))
        return weights.matmul(values)
    }
}

/// A state dict as PyTorch prints an `OrderedDict` of tensors.
func stateDictDescription(_ sd: OrderedDictionaryOfTensors) -> String {
    "OrderedDict([" + sd.map { "('\($0.key)', \($0.value))" }.joined(separator: ", ") + "])"
}
typealias OrderedDictionaryOfTensors = [(key: String, value: Tensor)]

/// The device the notebook's moves go to when none is chosen: `meta` (shapes only, no data), so the
/// default output is the same on every machine; `ember example buffers --device vulkan:0` runs the
/// notebook on the accelerator, as the notebook does on CUDA.
let buffersDefaultDevice = Device.meta

/// The seed notebook, step by step (case C27), with its moves going to `device`.
/// - Parameters:
///   - device: where the modules and the batch are moved (default `meta`); must be available.
///   - output: receives each printed line (default `print`).
func runBuffersExample(device: Device = buffersDefaultDevice,
                       saveDirectory: URL = URL(fileURLWithPath: FileManager.default.currentDirectoryPath),
                       output: (String) -> Void = { print($0) }) throws {
    let inputs = bookInputs()
    let batch = Tensor.stack([inputs, inputs], dim: 0)
    // The note about the plain mask is part of what this example shows.
    Module.warnsAboutUnregisteredTensors = true

    manualSeed(123)
    let caWithoutBuffer = CausalAttentionWithoutBuffers(dIn: 3, dOut: 2, contextLength: 6, dropout: 0.0)
    output("\(noGrad { caWithoutBuffer(batch) })")
    // On `meta` keep CPU copies of the weights: it has no data, and the save/load part needs values.
    // (Elsewhere the first state-dict call comes later, so Ember's note on the plain mask says it was not moved.)
    let withoutState = device == .meta ? caWithoutBuffer.stateDict().mapValues { $0.clone() } : [:]

    output("\nMachine has \(device == .meta ? "no accelerator; using the meta device" : "\(device)").")
    caWithoutBuffer.to(device)
    let batchOnDevice = batch.to(device)
    do {
        try withErrorCapture { _ = noGrad { caWithoutBuffer(batchOnDevice) } }
    } catch {
        output("\(error)")
    }
    output("W_query.device: \(caWithoutBuffer.W_query.weight.device)")
    output("mask.device: \(caWithoutBuffer.mask.device)")
    output(String(describing: type(of: caWithoutBuffer.mask)))
    caWithoutBuffer.mask = caWithoutBuffer.mask.to(device)
    output("mask.device: \(caWithoutBuffer.mask.device)")
    output("\(noGrad { caWithoutBuffer(batchOnDevice) })")

    let caWithBuffer = CausalAttentionWithBuffer(dIn: 3, dOut: 2, contextLength: 6, dropout: 0.0)
    let withState = device == .meta ? caWithBuffer.stateDict().mapValues { $0.clone() } : [:]
    caWithBuffer.to(device)
    output("W_query.device: \(caWithBuffer.W_query.weight.device)")
    output("mask.device: \(caWithBuffer.mask.device)")
    output("\(noGrad { caWithBuffer(batchOnDevice) })")

    if device == .meta {
        // Materialise the modules again on the CPU (PyTorch: to_empty + load_state_dict).
        output("\nBack on the CPU (toEmpty(device: .cpu) + loadStateDict) to show the saved state:")
        caWithoutBuffer.toEmpty(device: .cpu)
        try caWithoutBuffer.loadStateDict(withoutState)
        caWithoutBuffer.mask = Tensor.ones([6, 6]).triu(diagonal: 1)
        caWithBuffer.toEmpty(device: .cpu)
        try caWithBuffer.loadStateDict(withState)
        output("\(noGrad { caWithBuffer(batch) })")
    }

    output(stateDictDescription(caWithoutBuffer.stateDict().map { ($0.key, $0.value) }))
    output(stateDictDescription(caWithBuffer.stateDict().map { ($0.key, $0.value) }))

    // torch.save(ca.state_dict(), "model.pth"): in the working directory, as the notebook, so the last
    // one written (the model without the buffer) can be opened in PyTorch afterwards.
    let path = saveDirectory.appendingPathComponent("model.pth")

    // On an accelerator the edit happens there; save() writes CPU copies, and the new instances
    // (built on the CPU) load them, as the notebook's torch.save/torch.load round trip.
    caWithBuffer.mask[caWithBuffer.mask == 1.0] = 2.0
    output("\(caWithBuffer.mask)")
    try save(caWithBuffer.stateDict(), to: path)
    let newCaWithBuffer = CausalAttentionWithBuffer(dIn: 3, dOut: 2, contextLength: 6, dropout: 0.0)
    try newCaWithBuffer.loadStateDict(load(path))
    output("\(newCaWithBuffer.mask)")

    caWithoutBuffer.mask[caWithoutBuffer.mask == 1.0] = 2.0
    try save(caWithoutBuffer.stateDict(), to: path)
    let newCaWithoutBuffer = CausalAttentionWithoutBuffers(dIn: 3, dOut: 2, contextLength: 6, dropout: 0.0)
    try newCaWithoutBuffer.loadStateDict(load(path))
    output("\(newCaWithoutBuffer.mask)")
}
