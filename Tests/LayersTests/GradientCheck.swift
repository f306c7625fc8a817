import XCTest

/// Central finite differences in Double: for each coordinate of `point`, (f(x+h) − f(x−h)) / 2h,
/// compared with the analytic gradient by the relative error |a − n| / max(|a|, |n|, floor).
enum GradientCheck {
    struct Mismatch: CustomStringConvertible {
        let index: Int
        let analytic: Double
        let numeric: Double
        let relativeError: Double
        var description: String { "index \(index): analytic \(analytic), numeric \(numeric), rel \(relativeError)" }
    }

    /// Checks `analytic` against the numeric gradient of `loss` at `point`. `loss` must restore
    /// nothing: it receives the perturbed point and returns the scalar loss.
    static func compare(point: [Double], analytic: [Double], step: Double = 1e-6, tolerance: Double = 1e-6,
                        floor: Double = 1e-7, loss: ([Double]) -> Double,
                        file: StaticString = #filePath, line: UInt = #line, label: String = "") {
        XCTAssertEqual(point.count, analytic.count, "\(label): gradient length", file: file, line: line)
        var worst: Mismatch?
        var x = point
        for i in 0..<point.count {
            x[i] = point[i] + step
            let up = loss(x)
            x[i] = point[i] - step
            let down = loss(x)
            x[i] = point[i]
            let numeric = (up - down) / (2 * step)
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
