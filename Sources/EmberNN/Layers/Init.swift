import EmberCore
import Foundation

/// Parameter initialisation as `torch.nn.init`: same gains, fan rules and draw order, so seeded
/// models match PyTorch's bit for bit. All functions fill in place without recording autograd and
/// return the tensor. Source: https://pytorch.org/docs/stable/nn.init.html
public enum Init {
    /// `calculate_gain(nonlinearity, param)`.
    public static func calculateGain(_ nonlinearity: String, param: Double? = nil) -> Double {
        switch nonlinearity {
        case "linear", "conv1d", "conv2d", "conv3d", "sigmoid": return 1
        case "tanh": return 5.0 / 3
        case "relu": return 2.0.squareRoot()
        case "leaky_relu":
            let a = param ?? 0.01
            return (2.0 / (1 + a * a)).squareRoot()
        case "selu": return 3.0 / 4
        default:
            EmberError(.value, "Unsupported nonlinearity \(nonlinearity)").raise()
            return 1
        }
    }

    /// `_calculate_fan_in_and_fan_out`: fan-in = size(1)·receptive field, fan-out = size(0)·receptive field.
    public static func fans(_ t: Tensor) -> (fanIn: Int, fanOut: Int) {
        guard t.ndim >= 2 else {
            EmberError(.value, "Fan in and fan out can not be computed for tensor with fewer than 2 dimensions").raise()
            return (0, 0)
        }
        let receptive = t.shape.dropFirst(2).reduce(1, *)
        return (t.shape[1] * receptive, t.shape[0] * receptive)
    }

    @discardableResult public static func uniform_(_ t: Tensor, _ a: Double = 0, _ b: Double = 1, generator: Generator? = nil) -> Tensor {
        noGrad { t.uniform_(a, b, generator: generator) }
    }
    @discardableResult public static func normal_(_ t: Tensor, mean: Double = 0, std: Double = 1, generator: Generator? = nil) -> Tensor {
        noGrad { t.normal_(mean, std, generator: generator) }
    }
    @discardableResult public static func constant_(_ t: Tensor, _ value: Double) -> Tensor { noGrad { t.fill_(value) } }
    @discardableResult public static func zeros_(_ t: Tensor) -> Tensor { constant_(t, 0) }
    @discardableResult public static func ones_(_ t: Tensor) -> Tensor { constant_(t, 1) }

    /// `kaiming_uniform_(t, a, mode, nonlinearity)`: `uniform_(±gain·√(3/fan))`.
    @discardableResult
    public static func kaimingUniform_(_ t: Tensor, a: Double = 0, mode: String = "fan_in", nonlinearity: String = "leaky_relu", generator: Generator? = nil) -> Tensor {
        if t.numel == 0 { return t }
        let (fi, fo) = fans(t)
        let gain = calculateGain(nonlinearity, param: a)
        let std = gain / Double(mode == "fan_in" ? fi : fo).squareRoot()
        let bound = 3.0.squareRoot() * std
        return uniform_(t, -bound, bound, generator: generator)
    }

    /// `kaiming_normal_(t, a, mode, nonlinearity)`: `normal_(0, gain/√fan)`.
    @discardableResult
    public static func kaimingNormal_(_ t: Tensor, a: Double = 0, mode: String = "fan_in", nonlinearity: String = "leaky_relu", generator: Generator? = nil) -> Tensor {
        if t.numel == 0 { return t }
        let (fi, fo) = fans(t)
        let std = calculateGain(nonlinearity, param: a) / Double(mode == "fan_in" ? fi : fo).squareRoot()
        return normal_(t, mean: 0, std: std, generator: generator)
    }

    /// `xavier_uniform_(t, gain)`: `uniform_(±gain·√(6/(fan_in+fan_out)))`.
    @discardableResult
    public static func xavierUniform_(_ t: Tensor, gain: Double = 1, generator: Generator? = nil) -> Tensor {
        let (fi, fo) = fans(t)
        let std = gain * (2.0 / Double(fi + fo)).squareRoot()
        let a = 3.0.squareRoot() * std
        return uniform_(t, -a, a, generator: generator)
    }

    /// `xavier_normal_(t, gain)`: `normal_(0, gain·√(2/(fan_in+fan_out)))`.
    @discardableResult
    public static func xavierNormal_(_ t: Tensor, gain: Double = 1, generator: Generator? = nil) -> Tensor {
        let (fi, fo) = fans(t)
        return normal_(t, mean: 0, std: gain * (2.0 / Double(fi + fo)).squareRoot(), generator: generator)
    }

    /// `trunc_normal_(t, mean, std, a, b)`: PyTorch's inverse-CDF method — `uniform_(2l−1, 2u−1)`,
    /// then `erfinv`, scale by `std·√2`, shift by `mean`, clamp to [a, b].
    @discardableResult
    public static func truncNormal_(_ t: Tensor, mean: Double = 0, std: Double = 1, a: Double = -2, b: Double = 2, generator: Generator? = nil) -> Tensor {
        func normCDF(_ x: Double) -> Double { (1 + Foundation.erf(x / 2.0.squareRoot())) / 2 }
        let l = normCDF((a - mean) / std), u = normCDF((b - mean) / std)
        noGrad {
            t.uniform_(2 * l - 1, 2 * u - 1, generator: generator)
            let v = t.toDoubles().map { erfinv($0) * std * 2.0.squareRoot() + mean }
            t.copy_(Tensor(array: v, shape: t.shape).to(t.dtype))
            t.clamp_(min: a, max: b)
        }
        return t
    }

    /// Inverse error function (Giles' approximation refined by two Newton steps; double precision).
    static func erfinv(_ y: Double) -> Double {
        if y <= -1 { return -.infinity }
        if y >= 1 { return .infinity }
        var w = -Foundation.log((1 - y) * (1 + y))
        var x: Double
        if w < 5 {
            w -= 2.5
            var p = 2.81022636e-08
            for c in [3.43273939e-07, -3.5233877e-06, -4.39150654e-06, 0.00021858087, -0.00125372503, -0.00417768164, 0.246640727, 1.50140941] { p = c + p * w }
            x = p * y
        } else {
            w = w.squareRoot() - 3
            var p = -0.000200214257
            for c in [0.000100950558, 0.00134934322, -0.00367342844, 0.00573950773, -0.0076224613, 0.00943887047, 1.00167406, 2.83297682] { p = c + p * w }
            x = p * y
        }
        for _ in 0..<2 {
            let err = Foundation.erf(x) - y
            x -= err / (2 / Double.pi.squareRoot() * Foundation.exp(-x * x))
        }
        return x
    }
}
