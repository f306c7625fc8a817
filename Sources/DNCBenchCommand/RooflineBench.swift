import DNCNumerics
import Foundation

/// `--only roofline`: where a DNC training step's time goes, per product class, against the
/// peak of the core measured on the spot.
///
/// For each DNC configuration (`DNCBenchConfiguration.all`): two warm-up steps, then `repeats`
/// pairs of steps, one with `ProductAccounting` off and one with it on, in turn (so a drift of
/// the machine's speed touches both alike). The breakdown is that of the median accounted step
/// (the upper middle one for an even count): per class the products' calls, FLOPs (2·m·n·k),
/// wall time, share of the step and GFLOP/s; "element-wise and other" is the rest of the step
/// (the step minus its products: non-linearities, the memory's element-wise work, the loss,
/// clipping, Adam, copies). The peak is a 64×64×64 A·B with its operands in cache through
/// `Kernels.gemm`, the path the model's products take (`ProductBench`), measured before and
/// after each configuration's steps: the higher of the two (a shared machine's load can drag
/// one down). The median step without accounting shows what the clocks cost.
enum RooflineBench {
    static let peakSize = 64

    /// The configurations `--only NAME` asks for: all for `roofline`, one for `roofline-<configuration>`.
    static func configurations(_ name: String) -> [DNCBenchConfiguration]? {
        if name == "roofline" { return DNCBenchConfiguration.all }
        return DNCBenchConfiguration.all.first { "roofline-\($0.name)" == name }.map { [$0] }
    }

    static func run(_ configurations: [DNCBenchConfiguration], repeats: Int, json: Bool) throws {
        var results: [[String: Any]] = []
        for configuration in configurations {
            let result = try measure(configuration, repeats: repeats)
            if json {
                print(String(decoding: try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys]), as: UTF8.self))
            }
            results.append(result)
        }
        if !json { printTable(results) }
    }

    /// One configuration's roofline as a `--json` object.
    static func measure(_ configuration: DNCBenchConfiguration, repeats: Int) throws -> [String: Any] {
        let peakBefore = measurePeak()
        let step = try trainingStep(configuration.dncConfiguration, batch: configuration.batch,
                                    copyLength: configuration.copyLength)
        // Warm-up: the first step JIT-compiles the products' kernels and allocates the tapes.
        step()
        step()
        var unaccounted: [Double] = []
        var accounted: [(seconds: Double, tallies: [ProductClass: ProductTally])] = []
        for _ in 0..<repeats {
            unaccounted.append(Timing.seconds(step))
            ProductAccounting.start()
            let seconds = Timing.seconds(step)
            ProductAccounting.stop()
            accounted.append((seconds, ProductAccounting.snapshot()))
        }
        ProductAccounting.reset()
        let peakAfter = measurePeak()
        let peak = Swift.max(peakBefore, peakAfter)
        let median = accounted.sorted { $0.seconds < $1.seconds }[accounted.count / 2]
        let stepSeconds = median.seconds
        let unaccountedSeconds = Timing.median(unaccounted.sorted())

        var classes: [String: Any] = [:]
        var products = ProductTally()
        for productClass in ProductClass.allCases {
            let tally = median.tallies[productClass] ?? ProductTally()
            products = products + tally
            classes[productClass.key] = entry(tally, stepSeconds: stepSeconds, peak: peak)
        }
        let rest = Swift.max(stepSeconds - products.seconds, 0)
        let controller = median.tallies[.controller] ?? ProductTally()
        return [
            "name": "roofline", "configuration": configuration.name,
            "blas": BLASRuntime.summary, "products": ProductPath.summary,
            "openblas_coretype": ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"] ?? "",
            "hidden": configuration.hiddenSize, "controller_layers": configuration.controllerDepth,
            "cells": configuration.cells, "cell_width": configuration.width, "read_heads": configuration.readHeads,
            "batch": configuration.batch, "steps": 2 * configuration.copyLength + 1, "repeats": repeats,
            "peak_gflops": peak, "peak_gflops_before": peakBefore, "peak_gflops_after": peakAfter, "peak_shape": "\(peakSize)x\(peakSize)x\(peakSize)",
            "step_ms": stepSeconds * 1e3, "step_ms_without_accounting": unaccountedSeconds * 1e3,
            "accounting_overhead": stepSeconds / unaccountedSeconds - 1,
            "classes": classes,
            "all_products": entry(products, stepSeconds: stepSeconds, peak: peak),
            "elementwise_and_other": ["us": rest * 1e6, "share": rest / stepSeconds] as [String: Any],
            "controller_fraction_of_peak": controller.gflops / peak,
        ]
    }

    /// GFLOP/s of the 64³ product through `Kernels.gemm` (median of `ProductBench`'s samples).
    static func measurePeak() -> Double {
        let seconds = ProductBench.measure(transA: false, transB: false, m: peakSize, n: peakSize, k: peakSize, path: .configured)
        return 2 * Double(peakSize * peakSize * peakSize) / seconds * 1e-9
    }

    static func entry(_ tally: ProductTally, stepSeconds: Double, peak: Double) -> [String: Any] {
        ["calls": tally.calls, "mflop": Double(tally.flops) * 1e-6, "us": tally.seconds * 1e6,
         "share": tally.seconds / stepSeconds, "gflops": tally.gflops, "fraction_of_peak": tally.gflops / peak]
    }

    /// The table; `libraries: false` leaves out the BLAS and product-path lines (printed already).
    static func printTable(_ results: [[String: Any]], libraries: Bool = true) {
        print("Roofline of one DNC training step (forward + BCE + backward + clipping + Adam), copy task, batch-first, one thread")
        if libraries {
            print("BLAS: \(BLASRuntime.summary)")
            print("Products: \(ProductPath.summary)")
        }
        print("OPENBLAS_CORETYPE: \(ProcessInfo.processInfo.environment["OPENBLAS_CORETYPE"].map { "\($0)" } ?? "unset")")
        print("Peak: \(peakSize)×\(peakSize)×\(peakSize) A·B through Kernels.gemm, operands in cache, the higher of two measurements, before and after each configuration's steps")
        for r in results {
            let stepMs = r["step_ms"] as! Double, offMs = r["step_ms_without_accounting"] as! Double
            let peak = r["peak_gflops"] as! Double
            print("\n\(r["configuration"]!) (H \(r["hidden"]!) × \(r["controller_layers"]!) layer(s), N \(r["cells"]!), "
                  + "W \(r["cell_width"]!), R \(r["read_heads"]!), B \(r["batch"]!), T \(r["steps"]!)): median step of \(r["repeats"]!) "
                  + String(format: "%.2f ms accounted, %.2f ms without accounting (%+.1f%%); peak %.1f GFLOP/s",
                           stepMs, offMs, (stepMs / offMs - 1) * 100, peak))
            print("class                    calls/step  MFLOP/step    µs/step   share   GFLOP/s  % of peak")
            func row(_ label: String, _ e: [String: Any]) {
                print(label.padding(toLength: 24, withPad: " ", startingAt: 0)
                      + String(format: "%11d %11.2f %10.1f %6.1f%% %9.1f %9.1f%%", e["calls"] as! Int, e["mflop"] as! Double,
                               e["us"] as! Double, (e["share"] as! Double) * 100, e["gflops"] as! Double,
                               (e["fraction_of_peak"] as! Double) * 100))
            }
            let classes = r["classes"] as! [String: Any]
            for productClass in ProductClass.allCases {
                let e = classes[productClass.key] as! [String: Any]
                if productClass == .other && (e["calls"] as! Int) == 0 { continue }
                row(productClass.description, e)
            }
            let rest = r["elementwise_and_other"] as! [String: Any]
            print("element-wise and other".padding(toLength: 24, withPad: " ", startingAt: 0)
                  + String(repeating: " ", count: 10) + "-" + String(repeating: " ", count: 11) + "-"
                  + String(format: " %10.1f %6.1f%%", rest["us"] as! Double, (rest["share"] as! Double) * 100))
            row("all products", r["all_products"] as! [String: Any])
        }
    }
}
