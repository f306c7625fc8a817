import XCTest
import DNCNumerics
import DNCLayers
@testable import DNCMemories

/// Shared helpers: running a memory over a sequence with a linear loss, its backward, and
/// flattening states for finite differences.
enum MemoryHarness {
    struct Sizes {
        var batch = 2, steps = 4, input = 4, cells = 5, width = 3, heads = 2
    }

    /// Runs `inputs` (T, B, I) from `initial`; returns the read vectors (T, B, R·W) and the final state.
    static func forward(_ memory: DenseMemory<Double>, inputs: Tensor<Double>, initial: DenseMemoryState<Double>,
                        tape: DenseMemoryTape<Double>?, active: [[Bool]]? = nil,
                        orders: [[[Int]]]? = nil) -> (reads: Tensor<Double>, state: DenseMemoryState<Double>) {
        let steps = inputs.shape[0], batch = inputs.shape[1]
        let rw = memory.readHeads * memory.cellWidth
        var state = initial
        var reads = Tensor<Double>(shape: [steps, batch, rw])
        inputs.withUnsafeBufferPointer { x in
            reads.withUnsafeMutableBufferPointer { r in
                for t in 0..<steps {
                    memory.step(input: x.baseAddress! + t * batch * memory.inputSize, batch: batch, state: &state,
                                tape: tape, active: active?[t], allocationOrder: orders?[t],
                                readVectors: r.baseAddress! + t * batch * rw)
                }
            }
        }
        return (reads, state)
    }

    /// Backward over every step of `tape`: returns dℓ/d inputs (T, B, I) and dℓ/d initial state.
    static func backward(_ memory: DenseMemory<Double>, tape: DenseMemoryTape<Double>, readGradients: Tensor<Double>,
                         finalStateGradient: DenseMemoryState<Double>) -> (inputs: Tensor<Double>, state: DenseMemoryState<Double>) {
        let steps = readGradients.shape[0], batch = readGradients.shape[1]
        let rw = memory.readHeads * memory.cellWidth
        var stateGradient = finalStateGradient
        var dInputs = Tensor<Double>(shape: [steps, batch, memory.inputSize])
        readGradients.withUnsafeBufferPointer { g in
            dInputs.withUnsafeMutableBufferPointer { dx in
                for t in stride(from: steps - 1, through: 0, by: -1) {
                    memory.backwardStep(tape: tape, stepIndex: t, readVectorsGradient: g.baseAddress! + t * batch * rw,
                                        stateGradient: &stateGradient,
                                        inputGradient: dx.baseAddress! + t * batch * memory.inputSize)
                }
            }
        }
        return (dInputs, stateGradient)
    }

    static func dot(_ a: Tensor<Double>, _ b: Tensor<Double>) -> Double {
        precondition(a.shape == b.shape)
        var s = 0.0
        for i in 0..<a.count { s += a[flat: i] * b[flat: i] }
        return s
    }

    static func flatten(_ s: DenseMemoryState<Double>) -> [Double] {
        s.memory.storage + s.linkMatrix.storage + s.precedence.storage + s.readWeights.storage
            + s.writeWeights.storage + s.usage.storage
    }

    static func unflatten(_ x: [Double], like s: DenseMemoryState<Double>) -> DenseMemoryState<Double> {
        var offset = 0
        func next(_ t: Tensor<Double>) -> Tensor<Double> {
            defer { offset += t.count }
            return Tensor(shape: t.shape, storage: Array(x[offset..<(offset + t.count)]))
        }
        let m = next(s.memory), l = next(s.linkMatrix), p = next(s.precedence), r = next(s.readWeights)
        let w = next(s.writeWeights), u = next(s.usage)
        return DenseMemoryState(memory: m, linkMatrix: l, precedence: p, readWeights: r, writeWeights: w, usage: u)
    }

    /// Σ over the six tensors of state ⊙ weights (the final-state part of the test loss).
    static func stateDot(_ s: DenseMemoryState<Double>, _ g: DenseMemoryState<Double>) -> Double {
        zip(flatten(s), flatten(g)).reduce(0) { $0 + $1.0 * $1.1 }
    }

    static func randomTensor(_ shape: [Int], _ rng: inout RandomSequence, scale: Double = 1) -> Tensor<Double> {
        var t = Tensor<Double>(shape: shape)
        for i in 0..<t.count { t[flat: i] = scale * (2 * rng.nextUniform() - 1) }
        return t
    }

    /// A random valid state: memory U(−1, 1); non-negative weightings with sums < 1; link matrix
    /// non-negative with zero diagonal and row/column sums < 1; usage in (0.05, 0.95) with
    /// well-separated values (no near-ties, so finite differences never reorder the free list).
    static func randomState(_ s: Sizes, _ rng: inout RandomSequence) -> DenseMemoryState<Double> {
        let n = s.cells
        var state = DenseMemoryState<Double>.zeros(batch: s.batch, cells: n, width: s.width, readHeads: s.heads)
        state.memory = randomTensor(state.memory.shape, &rng)
        for b in 0..<s.batch {
            for i in 0..<n {
                for j in 0..<n where i != j { state.linkMatrix[b, i, j] = rng.nextUniform() / Double(n) }
                state.precedence[b, i] = rng.nextUniform() / Double(n)
                state.writeWeights[b, i] = rng.nextUniform() / Double(n)
                for h in 0..<s.heads { state.readWeights[b, h, i] = rng.nextUniform() / Double(n) }
            }
            // Usage: a shuffled ladder 0.1, 0.1 + 0.8/(n−1), …, jittered a little.
            var ladder = (0..<n).map { 0.1 + 0.8 * Double($0) / Double(max(n - 1, 1)) }
            ladder.shuffle(using: &rng)
            for i in 0..<n { state.usage[b, i] = ladder[i] + 0.02 * (rng.nextUniform() - 0.5) }
        }
        return state
    }

    static func assertFinite(_ values: [Double], _ label: String, file: StaticString = #filePath, line: UInt = #line) {
        let bad = values.firstIndex { !$0.isFinite }
        XCTAssertNil(bad, "\(label): non-finite value at \(bad ?? -1)", file: file, line: line)
    }
}
