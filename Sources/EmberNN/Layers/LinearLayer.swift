import EmberCore

/// A layer that computes `y = x · weightᵀ + bias` from a base `weight` `[outFeatures, inFeatures]`
/// and optional `bias` `[outFeatures]`: ``Linear`` and ``LinearWithLoRA`` (whose `weight` and `bias`
/// are those of its frozen base layer, as PEFT's `lora.Linear.weight` forwards to its base layer).
///
/// Models whose linear layers may be wrapped for LoRA (the book's `GPTModel`) declare them
/// `@Child var W_query: any LinearLayer`, so ``replaceLinearWithLoRA(_:rank:alpha:generator:)`` can
/// swap a `LinearWithLoRA` in and ``mergeLoRA(_:)`` swap a plain `Linear` back, while
/// `model.out_head.weight` keeps reading the base weight.
/// Input `[*, inFeatures]`, output `[*, outFeatures]`.
public protocol LinearLayer: UnaryLayer {
    /// Input size.
    var inFeatures: Int { get }
    /// Output size.
    var outFeatures: Int { get }
    /// The (base) weight `[outFeatures, inFeatures]`.
    var weight: Tensor { get set }
    /// The (base) bias `[outFeatures]`, nil without one.
    var bias: Tensor? { get set }
}

extension Linear: LinearLayer {}
