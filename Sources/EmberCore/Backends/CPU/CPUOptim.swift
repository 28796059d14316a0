#if canImport(CEmberKernels)
import CEmberKernels
#endif

/// The CPU backend's optimizer steps over contiguous float32 memory, elementwise as ATen's CPU
/// kernels compute them (lerp, addcmul and add-with-alpha are FMAs there), split across threads:
/// contiguous float32 parameters get PyTorch's bits (`Tests/EmberNNTests/Fixtures/optim`).
extension CPUBackend {
    func adam(_ p: Tensor, grad: Tensor, m: Tensor, v: Tensor, vMax: Tensor?, _ h: AdamStep) -> Bool {
        let all = [p, grad, m, v] + (vMax.map { [$0] } ?? [])
        guard all.allSatisfy({ $0.dtype == .float32 && $0.isContiguous && $0.numel == p.numel }) else { return false }
        cpuAdamFloat32(p: p.pointer(Float.self), g: grad.pointer(Float.self), m: m.pointer(Float.self),
                       v: v.pointer(Float.self), vMax: vMax?.pointer(Float.self), n: p.numel, h: h)
        return true
    }

    func sgd(_ p: Tensor, grad: Tensor, buffer: Tensor?, _ h: SGDStep) -> Bool {
        let all = [p, grad] + (buffer.map { [$0] } ?? [])
        guard all.allSatisfy({ $0.dtype == .float32 && $0.isContiguous && $0.numel == p.numel }) else { return false }
        cpuSGDFloat32(p: p.pointer(Float.self), g: grad.pointer(Float.self), buf: buffer?.pointer(Float.self), n: p.numel, h: h)
        return true
    }
}

/// One Adam/AdamW update over `n` contiguous floats (see ``AdamStep``).
private func cpuAdamFloat32(p: UnsafeMutablePointer<Float>, g: UnsafeMutablePointer<Float>,
                            m: UnsafeMutablePointer<Float>, v: UnsafeMutablePointer<Float>,
                            vMax: UnsafeMutablePointer<Float>?, n: Int, h: AdamStep) {
    let decay = Float(1 - h.lr * h.weightDecay)
    let wd = Float(h.weightDecay)
    let applyDecay = h.weightDecay != 0
    let decoupled = h.decoupled
    let maximize = h.maximize
    let w = Float(1 - h.beta1)
    // ATen's lerp: start + w·(end − start) for |w| < 0.5, else end − (end − start)·(1 − w), as an FMA.
    let smallWeight = Swift.abs(w) < 0.5
    let b2 = Float(h.beta2), c2 = Float(1 - h.beta2)
    let bc2 = Float(h.biasCorrection2Sqrt), eps = Float(h.eps), negStep = Float(-h.stepSize)
    let P = UncheckedSendable((p, g, m, v, vMax))
    #if canImport(CEmberKernels)
    if !maximize && vMax == nil && smallWeight && (decoupled || !applyDecay) {
        // The common case (Adam/AdamW, β1 > 0.5): the same formula in C (optim.c), FMA and 8-wide
        // sqrt/div, so the step runs at memory speed; without weight decay `p·1` is exact, as
        // PyTorch's skipped multiply.
        let factor = applyDecay ? decay : 1
        parallelFor(n, grain: 1 << 14) { r in
            let (p, g, m, v, _) = P.value
            ember_adam_step_f32(p + r.lowerBound, g + r.lowerBound, m + r.lowerBound, v + r.lowerBound, r.count,
                                w, b2, c2, factor, negStep, bc2, eps)
        }
        return
    }
    #endif
    parallelFor(n, grain: 1 << 14) { r in
        let (p, g, m, v, vMax) = P.value
        for i in r {
            var gi = g[i]
            if maximize { gi = -gi }
            var pi = p[i]
            if applyDecay {
                if decoupled { pi = pi * decay } else { gi = fmaf32(pi, wd, gi) }
            }
            let mi = smallWeight ? fmaf32(w, gi - m[i], m[i]) : fmaf32(w - 1, gi - m[i], gi)
            m[i] = mi
            let vi = fmaf32(c2 * gi, gi, v[i] * b2)
            v[i] = vi
            var second = vi
            if let vMax {
                let mx = Swift.max(vMax[i], vi)
                vMax[i] = mx
                second = mx
            }
            let denom = second.squareRoot() / bc2 + eps
            p[i] = pi + (negStep * mi) / denom
        }
    }
}

/// One SGD update over `n` contiguous floats (see ``SGDStep``).
private func cpuSGDFloat32(p: UnsafeMutablePointer<Float>, g: UnsafeMutablePointer<Float>, buf: UnsafeMutablePointer<Float>?,
                           n: Int, h: SGDStep) {
    let wd = Float(h.weightDecay), mom = Float(h.momentum), keep = Float(1 - h.dampening), negLR = Float(-h.lr)
    let maximize = h.maximize, nesterov = h.nesterov, fresh = h.freshBuffer
    let P = UncheckedSendable((p, g, buf))
    parallelFor(n, grain: 1 << 15) { r in
        let (p, g, buf) = P.value
        for i in r {
            var gi = g[i]
            if maximize { gi = -gi }
            if wd != 0 { gi = fmaf32(p[i], wd, gi) }
            if let buf {
                let b = fresh ? gi : fmaf32(gi, keep, buf[i] * mom)
                buf[i] = b
                gi = nesterov ? fmaf32(b, mom, gi) : b
            }
            p[i] = fmaf32(gi, negLR, p[i])
        }
    }
}

/// a·b + c with (almost always) one rounding, as ATen's vectorized FMA computes it. The float
/// product is exact in Double, so only a sum needing more than 53 bits that lands on a float tie
/// (about 2⁻²⁹ of cases) can differ; unlike `addingProduct`, which is a libm call on baseline
/// x86-64, this vectorizes.
@inline(__always)
func fmaf32(_ a: Float, _ b: Float, _ c: Float) -> Float { Float(Double(a) * Double(b) + Double(c)) }
