import XCTest
import DNCNumerics
import DNCLayers
@testable import DNCMemories

/// Invariants of the dense memory over long random runs whose raw interface values include
/// zeros, ordinary values and extremes (±1e4), for every combination of options, in Double and
/// Float: weightings are non-negative with sums ≤ 1, the link matrix has a zero diagonal and
/// row/column sums ≤ 1, usage stays in [0, 1], read modes sum to 1, and nothing in the forward
/// or the backward is NaN or infinite.
final class MemoryInvariantTests: XCTestCase {
    static let allOptions: [MemoryOptions] = {
        var result: [MemoryOptions] = []
        for strength in [MemoryOptions.StrengthActivation.oneplus, .softplus] {
            for squash in [false, true] {
                for cosine in [MemoryOptions.CosineStyle.deepMind, .pytorchDNC] {
                    result.append(MemoryOptions(strengthActivation: strength, squashKeysAndWriteVector: squash,
                                                stopGradientThroughUsage: false, cosineStyle: cosine))
                }
            }
        }
        return result + [.paper, .pytorchCompat]
    }()

    func testInvariantsOverRandomRunsInDouble() {
        for (k, options) in Self.allOptions.enumerated() { run(Double.self, options: options, seed: UInt64(k), steps: 40) }
    }

    func testInvariantsOverRandomRunsInFloat() {
        for (k, options) in Self.allOptions.enumerated() { run(Float.self, options: options, seed: UInt64(100 + k), steps: 40) }
    }

    /// The raw interface value of step t, sample b, entry i: the interface layer is the identity
    /// (weight I, bias 0), so the input *is* ẑ. Each step picks one regime per sample.
    static func rawInterface(step t: Int, sample b: Int, entry i: Int, random: CounterRandom) -> Double {
        let index = UInt64((t * 16 + b) * 1000 + i)
        switch (t + b) % 6 {
        case 0: return 0                                                         // zero keys, gates ½
        case 1: return random.uniform(stream: 1, index: index) < 0.5 ? -1e4 : 1e4 // extremes
        case 2: return 1e4 * (2 * random.uniform(stream: 2, index: index) - 1)    // huge, mixed
        default: return 3 * random.normal(stream: 3, index: index)                // ordinary
        }
    }

    func run<T: Real>(_: T.Type, options: MemoryOptions, seed: UInt64, steps: Int,
                      file: StaticString = #filePath, line: UInt = #line) {
        let batch = 3, n = 6, w = 4, r = 3
        let store = ParameterStore<T>()
        let s = InterfaceLayout(cellWidth: w, readHeads: r).size
        let memory = DenseMemory(store: store, prefix: "", inputSize: s, cellCount: n, cellWidth: w, readHeads: r,
                                 options: options)
        let weight = store.slots[0]
        for i in 0..<s { store.values(weight)[i * s + i] = 1 }
        let random = CounterRandom(seed: seed)
        let label = "\(T.self) \(options)"

        var state = memory.zeroState(batch: batch)
        let tape = DenseMemoryTape<T>()
        var input = [T](repeating: 0, count: batch * s), reads = [T](repeating: 0, count: batch * r * w)
        let tolerance = T(1e-6)
        var failures = 0
        func check(_ condition: Bool, _ message: @autoclosure () -> String) {
            if !condition && failures < 5 {
                failures += 1
                XCTFail("\(label): \(message())", file: file, line: line)
            }
        }
        for t in 0..<steps {
            for b in 0..<batch {
                for i in 0..<s { input[b * s + i] = T(Self.rawInterface(step: t, sample: b, entry: i, random: random)) }
            }
            memory.step(input: input, batch: batch, state: &state, tape: tape, readVectors: &reads)
            check(reads.allSatisfy(\.isFinite), "step \(t): non-finite read vectors")
            for tensor in [state.memory, state.linkMatrix, state.precedence, state.readWeights, state.writeWeights, state.usage] {
                check(tensor.storage.allSatisfy(\.isFinite), "step \(t): non-finite state")
            }
            for b in 0..<batch {
                let debug = memory.lastStepDebugRecord(batchElement: b)
                let a = debug.allocationWeights.storage, ww = debug.writeWeights.storage, p = debug.precedence.storage
                check(a.allSatisfy { $0 >= 0 } && a.reduce(0, +) <= 1 + tolerance, "step \(t) allocation \(a)")
                check(ww.allSatisfy { $0 >= 0 } && ww.reduce(0, +) <= 1 + tolerance, "step \(t) write weights \(ww)")
                check(p.allSatisfy { $0 >= 0 } && p.reduce(0, +) <= 1 + tolerance, "step \(t) precedence \(p)")
                check(debug.usageVector.storage.allSatisfy { $0 >= 0 && $0 <= 1 }, "step \(t) usage \(debug.usageVector.storage)")
                for h in 0..<r {
                    let row = (0..<n).map { debug.readWeights[h, $0] }
                    check(row.allSatisfy { $0 >= 0 } && row.reduce(0, +) <= 1 + tolerance, "step \(t) read weights \(row)")
                    let modes = (0..<3).map { debug.readModes[h, $0] }
                    check(modes.allSatisfy { $0 >= 0 } && abs(modes.reduce(0, +) - 1) <= tolerance, "step \(t) modes \(modes)")
                }
                let link = debug.linkMatrix
                for i in 0..<n {
                    check(link[i, i] == 0, "step \(t) link diagonal \(link[i, i])")
                    var rowSum: T = 0, columnSum: T = 0
                    for j in 0..<n {
                        check(link[i, j] >= 0 && link[i, j] <= 1, "step \(t) link entry \(link[i, j])")
                        rowSum += link[i, j]; columnSum += link[j, i]
                    }
                    check(rowSum <= 1 + tolerance && columnSum <= 1 + tolerance, "step \(t) link sums \(rowSum) \(columnSum)")
                }
                XCTAssertEqual(debug.memory, state.memory.slice(b))
            }
        }
        // Backward from random read-vector gradients and a random final-state gradient.
        var stateGradient = memory.zeroState(batch: batch)
        stateGradient.usage = Tensor(shape: [batch, n], repeating: 1)
        stateGradient.memory = Tensor(shape: [batch, n, w], repeating: -1)
        var inputGradient = [T](repeating: 0, count: batch * s)
        for t in stride(from: steps - 1, through: 0, by: -1) {
            let g = (0..<(batch * r * w)).map { T(random.normal(stream: 9, index: UInt64(t * 1000 + $0))) }
            memory.backwardStep(tape: tape, stepIndex: t, readVectorsGradient: g, stateGradient: &stateGradient,
                                inputGradient: &inputGradient)
            check(inputGradient.allSatisfy(\.isFinite), "backward step \(t): non-finite input gradient")
            for tensor in [stateGradient.memory, stateGradient.linkMatrix, stateGradient.precedence,
                           stateGradient.readWeights, stateGradient.writeWeights, stateGradient.usage] {
                check(tensor.storage.allSatisfy(\.isFinite), "backward step \(t): non-finite state gradient")
            }
        }
        check(store.flatGradients.allSatisfy(\.isFinite), "non-finite parameter gradient")
    }
}
