/// Generic strided elementwise loops for the CPU backend. Operands arrive already converted to the
/// compute type and expanded (stride 0) to the output's shape; the output is contiguous.

@inline(__always)
func binaryLoop<T, O>(_ a: Tensor, _ b: Tensor, _ out: Tensor, _ f: (T, T) -> O) {
    let n = out.numel
    if n == 0 { return }
    let ap = a.pointer(T.self), bp = b.pointer(T.self), op = out.pointer(O.self)
    let layout = CollapsedLayout(shape: out.shape, strides: [out.strides, a.strides, b.strides])
    let inner = layout.shape.last!
    let sa = layout.strides[1].last!, sb = layout.strides[2].last!
    let runs = n / inner
    let P = UncheckedSendable((ap, bp, op))
    withoutActuallyEscaping(f) { f in
        let F = UncheckedSendable(f)
        if runs == 1 {
            // One long run: split it across threads.
            let bOff = 0
            parallelFor(inner, grain: 1 << 15) { r in
                let (ap, bp, op) = P.value
                let f = F.value
                if sa == 1 && sb == 1 {
                    for i in r { op[i] = f(ap[i], bp[i + bOff]) }
                } else if sa == 1 && sb == 0 {
                    let y = bp[0]
                    for i in r { op[i] = f(ap[i], y) }
                } else if sa == 0 && sb == 1 {
                    let x = ap[0]
                    for i in r { op[i] = f(x, bp[i]) }
                } else {
                    for i in r { op[i] = f(ap[i * sa], bp[i * sb]) }
                }
            }
            return
        }
        parallelFor(runs, grain: Swift.max(1, (1 << 15) / inner)) { r in
            let (ap, bp, op) = P.value
            let f = F.value
            forEachRun(layout, startRun: r.lowerBound, endRun: r.upperBound) { _, off in
                let o = op + off[0], x = ap + off[1], y = bp + off[2]
                if sa == 1 && sb == 1 {
                    for i in 0..<inner { o[i] = f(x[i], y[i]) }
                } else if sa == 1 && sb == 0 {
                    let yv = y[0]
                    for i in 0..<inner { o[i] = f(x[i], yv) }
                } else if sa == 0 && sb == 1 {
                    let xv = x[0]
                    for i in 0..<inner { o[i] = f(xv, y[i]) }
                } else {
                    for i in 0..<inner { o[i] = f(x[i * sa], y[i * sb]) }
                }
            }
        }
    }
}

@inline(__always)
func unaryLoop<T, O>(_ a: Tensor, _ out: Tensor, _ f: (T) -> O) {
    let n = out.numel
    if n == 0 { return }
    let ap = a.pointer(T.self), op = out.pointer(O.self)
    let P = UncheckedSendable((ap, op))
    withoutActuallyEscaping(f) { f in
        let F = UncheckedSendable(f)
        if a.isContiguous && a.shape == out.shape {
            parallelFor(n, grain: 1 << 14) { r in
                let (ap, op) = P.value
                let f = F.value
                for i in r { op[i] = f(ap[i]) }
            }
            return
        }
        let layout = CollapsedLayout(shape: out.shape, strides: [out.strides, a.strides])
        let inner = layout.shape.last!
        let sa = layout.strides[1].last!
        parallelFor(n / inner, grain: Swift.max(1, (1 << 14) / inner)) { r in
            let (ap, op) = P.value
            let f = F.value
            forEachRun(layout, startRun: r.lowerBound, endRun: r.upperBound) { _, off in
                let o = op + off[0], x = ap + off[1]
                for i in 0..<inner { o[i] = f(x[i * sa]) }
            }
        }
    }
}

/// Three-operand loop (`where`, `clamp` with tensor bounds, fused optimizer updates).
@inline(__always)
func ternaryLoop<A, B, C, O>(_ a: Tensor, _ b: Tensor, _ c: Tensor, _ out: Tensor, _ f: (A, B, C) -> O) {
    let n = out.numel
    if n == 0 { return }
    let ap = a.pointer(A.self), bp = b.pointer(B.self), cp = c.pointer(C.self), op = out.pointer(O.self)
    let layout = CollapsedLayout(shape: out.shape, strides: [out.strides, a.strides, b.strides, c.strides])
    let inner = layout.shape.last!
    let sa = layout.strides[1].last!, sb = layout.strides[2].last!, sc = layout.strides[3].last!
    forEachRun(layout) { _, off in
        let o = op + off[0], x = ap + off[1], y = bp + off[2], z = cp + off[3]
        for i in 0..<inner { o[i] = f(x[i * sa], y[i * sb], z[i * sc]) }
    }
}

/// A binary function known at compile time, so the loops below are specialised per function and
/// the compiler inlines and vectorises it (a closure would cost a call per element).
protocol StaticBinaryFunction {
    associatedtype Scalar
    static func apply(_ x: Scalar, _ y: Scalar) -> Scalar
}
enum AddF<T: FloatingPoint>: StaticBinaryFunction { @inline(__always) static func apply(_ x: T, _ y: T) -> T { x + y } }
enum SubF<T: FloatingPoint>: StaticBinaryFunction { @inline(__always) static func apply(_ x: T, _ y: T) -> T { x - y } }
enum MulF<T: FloatingPoint>: StaticBinaryFunction { @inline(__always) static func apply(_ x: T, _ y: T) -> T { x * y } }
enum DivF<T: FloatingPoint>: StaticBinaryFunction { @inline(__always) static func apply(_ x: T, _ y: T) -> T { x / y } }

/// `binaryLoop` for a static function: same layouts and threading, no per-element call.
func staticBinaryLoop<F: StaticBinaryFunction>(_: F.Type, _ a: Tensor, _ b: Tensor, _ out: Tensor) {
    typealias T = F.Scalar
    let n = out.numel
    if n == 0 { return }
    let ap = a.pointer(T.self), bp = b.pointer(T.self), op = out.pointer(T.self)
    let layout = CollapsedLayout(shape: out.shape, strides: [out.strides, a.strides, b.strides])
    let inner = layout.shape.last!
    let sa = layout.strides[1].last!, sb = layout.strides[2].last!
    let runs = n / inner
    let P = UncheckedSendable((ap, bp, op))
    @inline(__always) func run(_ o: UnsafeMutablePointer<T>, _ x: UnsafeMutablePointer<T>, _ y: UnsafeMutablePointer<T>, _ count: Int) {
        if sa == 1 && sb == 1 {
            for i in 0..<count { o[i] = F.apply(x[i], y[i]) }
        } else if sa == 1 && sb == 0 {
            let yv = y[0]
            for i in 0..<count { o[i] = F.apply(x[i], yv) }
        } else if sa == 0 && sb == 1 {
            let xv = x[0]
            for i in 0..<count { o[i] = F.apply(xv, y[i]) }
        } else {
            for i in 0..<count { o[i] = F.apply(x[i * sa], y[i * sb]) }
        }
    }
    if runs == 1 {
        parallelFor(inner, grain: 1 << 15) { r in
            let (ap, bp, op) = P.value
            let lo = r.lowerBound
            run(op + lo, ap + lo * sa, bp + lo * sb, r.count)
        }
        return
    }
    parallelFor(runs, grain: Swift.max(1, (1 << 15) / inner)) { r in
        let (ap, bp, op) = P.value
        forEachRun(layout, startRun: r.lowerBound, endRun: r.upperBound) { _, off in
            run(op + off[0], ap + off[1], bp + off[2], inner)
        }
    }
}
