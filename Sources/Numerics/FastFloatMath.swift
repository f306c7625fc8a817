/// Branch-light single-precision `tanh`, `exp` and `log` that the compiler vectorises.
///
/// glibc's `tanhf` runs at about 70 M elements/s on the build machine; these run at several
/// G elements/s with a maximum relative error near 1e-7 (checked in `FastFloatMathTests`).
public enum FastFloatMath {
    /// Rational minimax approximation of degree 13/6 on [-7.9, 7.9]; tanh saturates to ±1 in
    /// Float beyond that. Near zero the ratio of the leading coefficients is 1 - 1.3e-7.
    @inlinable @inline(__always)
    public static func tanh(_ value: Float) -> Float {
        let x = value < -7.90531110763549805 ? -7.90531110763549805 : (value > 7.90531110763549805 ? 7.90531110763549805 : value)
        let x2 = x * x
        var p: Float = -2.76076847742355e-16
        p = p * x2 + 2.00018790482477e-13
        p = p * x2 + -8.60467152213735e-11
        p = p * x2 + 5.12229709037114e-08
        p = p * x2 + 1.48572235717979e-05
        p = p * x2 + 6.37261928875436e-04
        p = p * x2 + 4.89352455891786e-03
        p = p * x
        var q: Float = 1.19825839466702e-06
        q = q * x2 + 1.18534705686654e-04
        q = q * x2 + 2.26843463243900e-03
        q = q * x2 + 4.89352518554385e-03
        let r = p / q
        // Below 4e-4 the approximation loses relative precision and tanh(x) == x in Float.
        return (value < 0.0004 && value > -0.0004) ? value : r
    }

    /// exp(x) = 2^n · e^r with |r| ≤ ln2/2 and a degree-7 Taylor polynomial for e^r.
    /// Results below the smallest normal Float flush to zero; above Float's range they are +inf.
    ///
    /// Branch-free and vectorisable on baseline x86-64 (SSE2, no `roundps`): n is rounded to
    /// nearest-even by adding 1.5·2^23, which also leaves n in the low bits of the sum, so 2^n is
    /// built with integer adds and a shift on the bit pattern.
    @inlinable @inline(__always)
    public static func exp(_ value: Float) -> Float {
        let x = value < -87.33654 ? -87.33654 : (value > 88.72283 ? 88.72283 : value)
        let shifted = x * 1.44269504088896341 + 12582912  // 1.5·2^23 + n, exact for |n| < 2^22
        let n = shifted - 12582912
        let r = (x - n * 0.693359375) - n * -2.12194440e-4
        var p: Float = 1.0 / 5040
        p = p * r + 1.0 / 720
        p = p * r + 1.0 / 120
        p = p * r + 1.0 / 24
        p = p * r + 1.0 / 6
        p = p * r + 0.5
        p = p * r + 1
        p = p * r + 1
        // n + 127 lies in [1, 255] after the clamp above; 255 is only reached at the upper clamp.
        // The low bits of `shifted` are 0x40_0000 + n (two's complement within the mantissa).
        let scale = Float(bitPattern: (shifted.bitPattern &- 0x4B40_0000 &+ 127) &<< 23)
        let result = p * scale
        return value < -87.33654 ? 0 : (value > 88.72283 ? .infinity : result)
    }

    /// log(x) = e·ln2 + 2·atanh(s) with m = 1 + f in [√½, √2) and s = f / (2 + f), |s| ≤ 0.172.
    /// Non-positive input gives NaN (negative) or -inf (zero), as libm does.
    @inlinable @inline(__always)
    public static func log(_ value: Float) -> Float {
        let bits = value.bitPattern
        var exponent = Int32(bitPattern: (bits >> 23) & 0xff) - 127
        var mantissa = Float(bitPattern: (bits & 0x007f_ffff) | 0x3f80_0000)
        if mantissa > 1.41421356 { mantissa *= 0.5; exponent += 1 }
        let f = mantissa - 1
        let s = f / (2 + f)
        let s2 = s * s
        var p: Float = 2.0 / 9
        p = p * s2 + 2.0 / 7
        p = p * s2 + 2.0 / 5
        p = p * s2 + 2.0 / 3
        p = p * s2 + 2
        let e = Float(exponent)
        let result = e * 0.693359375 + (s * p + e * -2.12194440e-4)
        if value.isNormal && value > 0 { return result }
        if value == 0 { return -.infinity }
        if value == .infinity { return .infinity }
        if value > 0 { return Float(Foundation_logSubnormal(Double(value))) }
        return .nan
    }
}

import Foundation
@usableFromInline
func Foundation_logSubnormal(_ x: Double) -> Double { Foundation.log(x) }
