import CEmberKernels
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// OpenBLAS (or Apple's Accelerate), loaded at run time: an optional alternative to Ember's built-in
/// GEMM (`Sources/CEmberKernels/sgemm.c`), chosen by `EMBER_BLAS` (see ``GEMMSelection``).
///
/// On Linux it loads OpenBLAS (`libopenblas.so.0`, Debian's `libopenblas0`/`libopenblas-dev`) with
/// `RTLD_LOCAL | RTLD_DEEPBIND`, so no second BLAS in the process can intercept its symbols
/// (with two BLAS libraries in one process, a dlopened BLIS's `cblas_sgemm` was measured silently
/// calling the linked OpenBLAS's `sgemm_` until `RTLD_DEEPBIND`). OpenBLAS runs single-threaded;
/// Ember splits the work across its own threads (see GEMM.swift).
enum BLAS {
    typealias SGEMM = @convention(c) (Int32, Int32, Int32, Int32, Int32, Int32, Float, UnsafePointer<Float>?, Int32,
                                      UnsafePointer<Float>?, Int32, Float, UnsafeMutablePointer<Float>?, Int32) -> Void
    typealias DGEMM = @convention(c) (Int32, Int32, Int32, Int32, Int32, Int32, Double, UnsafePointer<Double>?, Int32,
                                      UnsafePointer<Double>?, Int32, Double, UnsafeMutablePointer<Double>?, Int32) -> Void
    typealias SetThreads = @convention(c) (Int32) -> Void
    typealias CoreName = @convention(c) () -> UnsafeMutablePointer<CChar>?

    struct Library: @unchecked Sendable {
        let sgemm: SGEMM
        let dgemm: DGEMM
        let name: String
    }

    static let rowMajor: Int32 = 101
    static let noTrans: Int32 = 111
    static let trans: Int32 = 112

    /// OpenBLAS when it is installed (loaded on first use, whatever `EMBER_BLAS` says), else nil.
    static let openBLAS: Library? = {
        #if os(macOS)
        let candidates = ["/System/Library/Frameworks/Accelerate.framework/Accelerate"]
        let flags = RTLD_NOW | RTLD_LOCAL
        #else
        let candidates = ["libopenblas.so.0", "libopenblas.so", "/usr/lib/x86_64-linux-gnu/libopenblas.so.0",
                          "/usr/lib/aarch64-linux-gnu/libopenblas.so.0"]
        let flags = RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND
        #endif
        for path in candidates {
            guard let h = dlopen(path, flags) else { continue }
            guard let s = dlsym(h, "cblas_sgemm"), let d = dlsym(h, "cblas_dgemm") else { continue }
            if let t = dlsym(h, "openblas_set_num_threads") {
                unsafeBitCast(t, to: SetThreads.self)(1)
            }
            var name = path
            if let c = dlsym(h, "openblas_get_corename"), let p = unsafeBitCast(c, to: CoreName.self)() {
                name = "OpenBLAS (\(String(cString: p)))"
            }
            return Library(sgemm: unsafeBitCast(s, to: SGEMM.self), dgemm: unsafeBitCast(d, to: DGEMM.self), name: name)
        }
        return nil
    }()

    /// The library the GEMM calls: OpenBLAS only when `EMBER_BLAS=openblas` selected it.
    static var library: Library? { GEMMSelection.current == .openBLAS ? openBLAS : nil }

    /// A one-line description of the GEMM in use, for benchmarks and `ember` diagnostics.
    static var description: String {
        if let lib = library { return lib.name }
        let isa: String
        switch ember_gemm_best_isa() {
        case Int32(EMBER_GEMM_ISA_AVX512): isa = "AVX-512F"
        case Int32(EMBER_GEMM_ISA_AVX2): isa = "AVX2+FMA"
        default: isa = "portable C"
        }
        return "Ember's built-in GEMM (\(isa))"
    }
}

/// Which GEMM Ember uses, from the `EMBER_BLAS` environment variable, read once per process:
/// unset or `builtin`/`none`: Ember's built-in kernels (measured as fast as OpenBLAS on this
/// project's development machines, see the README's speed section); `openblas`: OpenBLAS, which must
/// then be installed. `EMBER_NO_BLAS` (any value) is the older spelling of `EMBER_BLAS=none`.
public enum GEMMSelection: String, Sendable {
    case builtIn = "builtin"
    case openBLAS = "openblas"

    /// The selection from the environment; an unknown value or `openblas` without OpenBLAS
    /// installed stops the process with a message saying what to do (a run must not silently
    /// measure or use another GEMM than the one asked for).
    public static let current: GEMMSelection = {
        let env = ProcessInfo.processInfo.environment
        switch parse(env["EMBER_BLAS"], noBLAS: env["EMBER_NO_BLAS"] != nil) {
        case .success(let s):
            if s == .openBLAS && BLAS.openBLAS == nil {
                configurationError("EMBER_BLAS=openblas but OpenBLAS is not installed (libopenblas.so.0 not found): "
                    + "install it (Debian: apt-get install libopenblas0-pthread) or unset EMBER_BLAS to use Ember's built-in GEMM")
            }
            return s
        case .failure(let error):
            configurationError(error.message)
        }
    }()

    /// Parses an `EMBER_BLAS` value (nil: unset).
    static func parse(_ value: String?, noBLAS: Bool = false) -> Result<GEMMSelection, GEMMSelectionError> {
        guard let raw = value?.trimmingCharacters(in: .whitespaces).lowercased(), !raw.isEmpty else { return .success(.builtIn) }
        switch raw {
        case "none", "builtin", "built-in", "ember": return .success(.builtIn)
        case "openblas": return noBLAS ? .failure(GEMMSelectionError(message: "EMBER_BLAS=openblas contradicts EMBER_NO_BLAS")) : .success(.openBLAS)
        default:
            return .failure(GEMMSelectionError(message: "EMBER_BLAS=\(raw) is not one of none, builtin, openblas"))
        }
    }

    private static func configurationError(_ message: String) -> Never {
        FileHandle.standardError.write(Data("error: \(message)\n".utf8))
        exit(2)
    }
}

/// A bad `EMBER_BLAS` value.
struct GEMMSelectionError: Error, Equatable { let message: String }

/// Which GEMM Ember uses: `"Ember's built-in GEMM (AVX2+FMA)"` or `"OpenBLAS (Haswell)"`.
public var blasDescription: String { BLAS.description }

/// Portable row-major GEMM for float64 (and a reference): C = op(A)·op(B) (+C), an i-p-j loop the
/// compiler vectorises, rows split across threads. Correct for every layout.
func fallbackGEMM<T: BinaryFloatingPoint>(m: Int, n: Int, k: Int, a: UnsafePointer<T>, lda: Int, transA: Bool,
                                         b: UnsafePointer<T>, ldb: Int, transB: Bool,
                                         c: UnsafeMutablePointer<T>, ldc: Int, accumulate: Bool) {
    // Pack op(B) into a contiguous k×n block so the inner loop streams.
    let bp = UnsafeMutablePointer<T>.allocate(capacity: k * n)
    defer { bp.deallocate() }
    for p in 0..<k { for j in 0..<n { bp[p * n + j] = transB ? b[j * ldb + p] : b[p * ldb + j] } }
    let P = UncheckedSendable((a, c, bp))
    parallelFor(m, grain: Swift.max(1, 4096 / Swift.max(n, 1))) { r in
        let (a, c, bp) = P.value
        for i in r {
            let crow = c + i * ldc
            if !accumulate { for j in 0..<n { crow[j] = 0 } }
            for p in 0..<k {
                let av = transA ? a[p * lda + i] : a[i * lda + p]
                if av == 0 { continue }
                let brow = bp + p * n
                for j in 0..<n { crow[j] += av * brow[j] }
            }
        }
    }
}
