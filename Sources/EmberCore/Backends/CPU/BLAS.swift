import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The BLAS Ember's GEMM calls, loaded at run time so Ember builds and runs on a machine without
/// one (then a portable Swift kernel computes the products, slower).
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

    /// The loaded library, or nil when none was found (the Swift fallback is used).
    static let library: Library? = {
        if ProcessInfo.processInfo.environment["EMBER_NO_BLAS"] != nil { return nil }
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

    /// A one-line description of the GEMM in use, for benchmarks and `ember` diagnostics.
    static var description: String { library?.name ?? "portable Swift GEMM (no BLAS library found; install libopenblas0)" }
}

/// Which GEMM Ember uses: `"OpenBLAS (Cooperlake)"` or the portable fallback.
public var blasDescription: String { BLAS.description }

/// Portable row-major GEMM used without a BLAS: C = op(A)·op(B) (+C), an i-p-j loop the compiler
/// vectorises. Correct for every layout; about a quarter of OpenBLAS's speed.
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
