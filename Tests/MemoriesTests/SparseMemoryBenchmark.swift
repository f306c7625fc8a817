import XCTest
import Foundation
import DNCNumerics
import DNCLayers
@testable import DNCMemories

/// Hand-run micro-benchmark of one SAM step (Float, B = 1, W = 32, R = 4, K = 4, controller
/// output 100) at N = 1k … 1M with both indexes, memory preloaded full. Skipped unless
/// `SAM_BENCH=1`; run it on a release build:
///
///     swift build -c release --scratch-path .build-sam-rel --build-tests -Xswiftc -enable-testing
///     SAM_BENCH=1 swift test -c release --scratch-path .build-sam-rel --skip-build \
///         --disable-swift-testing --filter SparseMemoryBenchmark
final class SparseMemoryBenchmark: XCTestCase {
    func testStepCost() throws {
        try XCTSkipUnless(ProcessInfo.processInfo.environment["SAM_BENCH"] == "1", "set SAM_BENCH=1 to run")
        let sizes = (ProcessInfo.processInfo.environment["SAM_BENCH_SIZES"] ?? "1000,10000,100000,1000000")
            .split(separator: ",").compactMap { Int($0) }
        let w = 32, r = 4, k = 4, input = 100, steps = 200
        for n in sizes {
            for (name, index) in [("exact", SparseIndexKind.exact), ("approximate", SparseIndexKind.approximate)] {
                let store = ParameterStore<Float>()
                let memory = SparseMemory(store: store, prefix: "", inputSize: input, cellCount: n, cellWidth: w,
                                          readHeads: r, sparseReads: k, index: index)
                memory.initializeDefault(random: CounterRandom(seed: 1), stream: 0)
                let state = memory.zeroState(batch: 1)
                let random = CounterRandom(seed: 2)
                var rows = [Float](repeating: 0, count: n * w)
                for i in 0..<rows.count { rows[i] = Float(random.normal(stream: 1, index: UInt64(i))) }
                let t0 = DispatchTime.now().uptimeNanoseconds
                rows.withUnsafeBufferPointer { state.samples[0].preload(rows: $0.baseAddress!, count: n) }
                let loadSeconds = Double(DispatchTime.now().uptimeNanoseconds - t0) * 1e-9
                rows = []
                var x = [Float](repeating: 0, count: steps * input)
                for i in 0..<x.count { x[i] = Float(random.normal(stream: 2, index: UInt64(i))) }
                var reads = [Float](repeating: 0, count: r * w), dReads = [Float](repeating: 0.01, count: r * w)
                var dx = [Float](repeating: 0, count: input)
                let tape = SparseMemoryTape<Float>()
                var forward = 0.0, backward = 0.0, restore = 0.0
                let visited0 = state.samples[0].index.entriesVisited
                for round in 0..<2 {  // round 0 warms up
                    tape.reset()
                    let a = DispatchTime.now().uptimeNanoseconds
                    for t in 0..<steps {
                        memory.step(input: x.withUnsafeBufferPointer { $0.baseAddress! + t * input }, batch: 1,
                                    state: state, tape: tape, readVectors: &reads)
                    }
                    let b = DispatchTime.now().uptimeNanoseconds
                    var g = memory.zeroStateGradient(batch: 1)
                    for t in stride(from: steps - 1, through: 0, by: -1) {
                        memory.backwardStep(tape: tape, stepIndex: t, readVectorsGradient: &dReads, stateGradient: &g,
                                            inputGradient: &dx)
                    }
                    let c = DispatchTime.now().uptimeNanoseconds
                    memory.restoreFinalState(tape: tape)
                    let d = DispatchTime.now().uptimeNanoseconds
                    if round == 1 {
                        forward = Double(b - a) / Double(steps) * 1e-3
                        backward = Double(c - b) / Double(steps) * 1e-3
                        restore = Double(d - c) / Double(steps) * 1e-3
                    }
                }
                let visits = Double(state.samples[0].index.entriesVisited - visited0) / Double(2 * steps * r)
                print(String(format: "SAM N=%8d %-11@ forward %9.1f µs/step  backward+undo %7.1f µs/step  redo %6.1f µs/step  (preload+build %.2f s, %.0f entries/query)",
                             n, name, forward, backward, restore, loadSeconds, visits))
            }
        }
    }
}
