import XCTest

/// Central finite differences in Double with the fourth-order stencil
/// (f(x−2h) − 8f(x−h) + 8f(x+h) − f(x+2h)) / 12h, compared with the analytic gradient by the
/// relative error |a − n| / max(|a|, |n|, floor). The higher-order stencil allows a larger step,
/// which keeps rounding noise in the loss (≈ 1e-16·|f|/h) far below the 1e-6 threshold.
public enum GradientCheck {
    public struct Mismatch: CustomStringConvertible {
        let index: Int
        let analytic: Double
        let numeric: Double
        let relativeError: Double
        public var description: String { "index \(index): analytic \(analytic), numeric \(numeric), rel \(relativeError)" }
    }

    /// Checks `analytic` against the numeric gradient of `loss` at `point`. `loss` must restore
    /// nothing: it receives the perturbed point and returns the scalar loss.
    public static func compare(point: [Double], analytic: [Double], step: Double = 1e-3, tolerance: Double = 1e-6,
                        floor: Double = 1e-6, label: String = "",
                        file: StaticString = #filePath, line: UInt = #line, loss: ([Double]) -> Double) {
        XCTAssertEqual(point.count, analytic.count, "\(label): gradient length", file: file, line: line)
        var worst: Mismatch?
        var x = point
        for i in 0..<point.count {
            func at(_ offset: Double) -> Double {
                x[i] = point[i] + offset
                defer { x[i] = point[i] }
                return loss(x)
            }
            let numeric = (at(-2 * step) - 8 * at(-step) + 8 * at(step) - at(2 * step)) / (12 * step)
            let scale = max(abs(analytic[i]), abs(numeric), floor)
            let relative = abs(analytic[i] - numeric) / scale
            if relative > (worst?.relativeError ?? -1) {
                worst = Mismatch(index: i, analytic: analytic[i], numeric: numeric, relativeError: relative)
            }
        }
        if let worst {
            XCTAssertLessThan(worst.relativeError, tolerance, "\(label): worst \(worst)", file: file, line: line)
        }
    }
}
