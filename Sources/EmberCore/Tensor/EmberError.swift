import Foundation

/// An error raised by a tensor operation, worded as PyTorch words it.
///
/// Tensor operations do not throw, so expressions read like the book's Python (`a.matmul(b) + c`).
/// A mistake (mismatched shapes, devices or dtypes; reading values of a `meta` tensor) is handled as
/// mlx-swift does:
/// - inside ``withErrorCapture(_:)`` the first error is recorded, the failing op returns a placeholder
///   `meta` tensor so the rest of the closure runs harmlessly, and the error is thrown when the closure
///   returns, where a `do`/`catch` can show it and the program goes on;
/// - outside such a scope the process stops with the error's message (like an uncaught Python
///   exception).
/// File and state-dict functions throw ordinary Swift errors instead.
public struct EmberError: Error, LocalizedError, CustomStringConvertible, Equatable, Sendable {
    public enum Kind: String, Sendable {
        case runtime = "RuntimeError"
        case index = "IndexError"
        case value = "ValueError"
        case type = "TypeError"
        case notImplemented = "NotImplementedError"
    }
    public var kind: Kind
    public var message: String

    public init(_ kind: Kind = .runtime, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { "\(kind.rawValue): \(message)" }
    public var errorDescription: String? { description }
}

/// Per-thread stack of capture scopes (a scope holds the first error raised inside it).
final class ErrorScope {
    var error: EmberError?
}

enum ErrorCapture {
    private static let key = "ember.errorScopes"

    static var scopes: [ErrorScope] {
        get { (Thread.current.threadDictionary[key] as? [ErrorScope]) ?? [] }
        set { Thread.current.threadDictionary[key] = newValue }
    }

    /// Records `error` in the innermost scope, or stops the process when there is none.
    static func raise(_ error: EmberError) {
        guard let scope = scopes.last else {
            fatalError(error.description)
        }
        if scope.error == nil { scope.error = error }
    }

    static var hasPendingError: Bool { scopes.last?.error != nil }
}

/// Runs `body`, turning the first tensor-op error raised inside it into a thrown ``EmberError``.
///
/// ```swift
/// do {
///     try withErrorCapture { _ = model(batch) }
/// } catch {
///     print(error)   // RuntimeError: expected self and mask to be on the same device, ...
/// }
/// ```
/// - Throws: the first ``EmberError`` raised by an operation in `body`, or what `body` throws.
@discardableResult
public func withErrorCapture<R>(_ body: () throws -> R) throws -> R {
    let scope = ErrorScope()
    ErrorCapture.scopes.append(scope)
    defer { ErrorCapture.scopes.removeLast() }
    let result = try body()
    if let e = scope.error { throw e }
    return result
}

/// Raises a tensor-op error (see ``EmberError``) and returns a placeholder meta tensor of `shape`.
@usableFromInline
func raiseError(_ error: EmberError, shape: [Int] = [], dtype: DType = .float32) -> Tensor {
    ErrorCapture.raise(error)
    return Tensor(metaShape: shape, dtype: dtype)
}

@usableFromInline
func raiseError(_ kind: EmberError.Kind, _ message: String, shape: [Int] = [], dtype: DType = .float32) -> Tensor {
    raiseError(EmberError(kind, message), shape: shape, dtype: dtype)
}

@usableFromInline
func raiseError(_ message: String, shape: [Int] = [], dtype: DType = .float32) -> Tensor {
    raiseError(EmberError(.runtime, message), shape: shape, dtype: dtype)
}

extension EmberError {
    /// Raises this error the way tensor ops do: recorded by the innermost ``withErrorCapture(_:)``,
    /// or stopping the process outside one. For libraries built on EmberCore.
    public func raise() { ErrorCapture.raise(self) }

    /// Raises this error and returns a placeholder `meta` tensor for the failed op's result.
    public func raise(shape: [Int], dtype: DType = .float32) -> Tensor {
        raiseError(self, shape: shape, dtype: dtype)
    }

    /// Whether an error is pending in the innermost capture scope (later ops may skip work).
    public static var isPending: Bool { ErrorCapture.hasPendingError }
}
