import Foundation

/// Wall-clock timing helpers: medians of repeated runs, since single timings on a shared
/// 2-vCPU machine vary by ±30%.
enum Timing {
    static func seconds(_ body: () -> Void) -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        body()
        return Double(DispatchTime.now().uptimeNanoseconds - start) * 1e-9
    }

    /// Runs `body` once to warm up, then `afterWarmUp`, then `body` `repeats` times; returns the
    /// sorted durations.
    static func samples(repeats: Int, afterWarmUp: () -> Void = {}, _ body: () -> Void) -> [Double] {
        body()
        afterWarmUp()
        return (0..<repeats).map { _ in seconds(body) }.sorted()
    }

    static func median(_ sorted: [Double]) -> Double {
        let n = sorted.count
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2
    }
}
