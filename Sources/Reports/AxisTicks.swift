import Foundation

/// Tick positions and labels for figure axes: "nice" steps (1, 2, 5 × 10^k) on linear axes,
/// powers of ten on logarithmic ones, and short number labels.
public enum AxisTicks {
    /// About `target` ticks covering `low…high` at a nice step, all inside the range.
    public static func linear(_ low: Double, _ high: Double, target: Int = 5) -> [Double] {
        guard low.isFinite, high.isFinite else { return [] }
        guard high > low else { return [low] }
        let step = niceStep((high - low) / Double(max(target, 1)))
        var ticks: [Double] = []
        var k = (low / step).rounded(.up)
        while k * step <= high + step * 1e-9 {
            // Printed to 12 significant digits and read back: 0.6, not 0.6000000000000001.
            let value = Double(String(format: "%.12g", k * step)) ?? k * step
            ticks.append(abs(value) < step * 1e-9 ? 0 : value)
            k += 1
        }
        return ticks
    }

    /// The nice step (1, 2, 2.5 or 5 × 10^k) nearest above `raw`.
    public static func niceStep(_ raw: Double) -> Double {
        guard raw > 0, raw.isFinite else { return 1 }
        let magnitude = pow(10, (log10(raw)).rounded(.down))
        for multiple in [1.0, 2, 2.5, 5, 10] where multiple * magnitude >= raw * (1 - 1e-9) { return multiple * magnitude }
        return 10 * magnitude
    }

    /// Integer ticks over indices 0..<count, at most about `target`, always including 0.
    public static func indices(_ count: Int, target: Int) -> [Int] {
        guard count > 1 else { return count == 1 ? [0] : [] }
        if count <= target { return Array(0..<count) }
        var step = Int(niceStep(Double(count - 1) / Double(max(target - 1, 1))))
        step = max(step, 1)
        return Array(stride(from: 0, to: count, by: step))
    }

    /// Ticks on a logarithmic axis over low…high (both positive): powers of ten, with 2 and 5
    /// between them when the range spans at most a factor of 300.
    public static func logarithmic(_ low: Double, _ high: Double) -> [Double] {
        guard low > 0, high >= low, low.isFinite, high.isFinite else { return [] }
        let first = Int(log10(low).rounded(.down)), last = Int(log10(high).rounded(.up))
        let multiples: [Double] = high / low <= 300 ? [1, 2, 5] : [1]
        var ticks: [Double] = []
        for exponent in first...last {
            for m in multiples {
                let value = Double(String(format: "%.12g", m * pow(10, Double(exponent)))) ?? m * pow(10, Double(exponent))
                if value >= low * (1 - 1e-9) && value <= high * (1 + 1e-9) { ticks.append(value) }
            }
        }
        return ticks
    }

    /// A short label: integers as such (with k/M above 10⁵), otherwise up to `digits`
    /// significant digits, scientific notation for very small or very large magnitudes.
    public static func label(_ value: Double, digits: Int = 3, scientific: Bool? = nil) -> String {
        guard value.isFinite else { return value.isNaN ? "nan" : (value > 0 ? "inf" : "-inf") }
        if value == 0 { return "0" }
        let magnitude = abs(value)
        if scientific ?? (magnitude >= 1e5 || magnitude < 1e-3) {
            var text = String(format: "%.\(max(digits - 1, 0))e", value)
            // 1.50e-04 → 1.5e-4
            if let e = text.firstIndex(of: "e") {
                var mantissa = String(text[..<e]), exponent = String(text[text.index(after: e)...])
                if mantissa.contains(".") {
                    while mantissa.hasSuffix("0") { mantissa.removeLast() }
                    if mantissa.hasSuffix(".") { mantissa.removeLast() }
                }
                let negative = exponent.hasPrefix("-")
                exponent = String(exponent.drop(while: { $0 == "-" || $0 == "+" || $0 == "0" }))
                text = mantissa + "e" + (negative ? "-" : "") + (exponent.isEmpty ? "0" : exponent)
            }
            return text
        }
        if value == value.rounded() { return String(Int(value)) }
        let decimals = max(0, digits - 1 - Int(log10(magnitude).rounded(.down)))
        var text = String(format: "%.\(decimals)f", value)
        if text.contains(".") {
            while text.hasSuffix("0") { text.removeLast() }
            if text.hasSuffix(".") { text.removeLast() }
        }
        return text
    }

    /// Labels for a set of ticks in one format: fixed with as many decimals as the finest tick
    /// needs (0.700, 0.705, 0.710), or scientific for very small or very large magnitudes.
    public static func labels(_ ticks: [Double]) -> [String] {
        let largest = ticks.map(abs).max() ?? 0
        if largest >= 1e5 || (largest > 0 && largest < 1e-2) {
            for digits in 1...10 {
                let labels = ticks.map { label($0, digits: digits, scientific: true) }
                if zip(labels, ticks).allSatisfy({ (Double($0.0) ?? .nan) == $0.1 || abs((Double($0.0) ?? .nan) - $0.1) <= abs($0.1) * 1e-9 }) {
                    return labels
                }
            }
            return ticks.map { label($0, digits: 10, scientific: true) }
        }
        var decimals = 0
        for tick in ticks {
            let text = String(format: "%.10f", tick)
            var fraction = text.split(separator: ".").last.map(String.init) ?? ""
            while fraction.hasSuffix("0") { fraction.removeLast() }
            decimals = max(decimals, fraction.count)
        }
        return ticks.map { String(format: "%.\(decimals)f", $0 == 0 ? 0 : $0) }
    }
}
