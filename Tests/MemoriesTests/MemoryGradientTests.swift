import XCTest
import TestSupport
import DNCNumerics
import DNCLayers
@testable import DNCMemories

/// Finite-difference checks (fourth-order central differences, Double) of the hand-written
/// backward over multi-step runs: gradients with respect to every parameter, every input and
/// the initial state, for both option presets and both interface layouts.
///
/// The test loss is `Σ_t ⟨r_t, G_t⟩ + ⟨state_T, H⟩` (random G, H), so the final-state gradient
/// entry point is exercised too. `.paper` stops the gradient through the usage (docs/pytorch-dnc.md, Gradient through the usage), which
/// finite differences cannot see; it is checked with that one switch turned off, and the
/// stop-gradient itself is checked by `testStopGradientDropsOnlyTheUsagePath`.
final class MemoryGradientTests: XCTestCase {
    static let paperWithUsageGradient: MemoryOptions = {
        var o = MemoryOptions.paper
        o.stopGradientThroughUsage = false
        return o
    }()

    func testPytorchCompatFromZeroState() { checkAllLayouts(options: .pytorchCompat, randomStart: false, seed: 1) }
    func testPytorchCompatFromRandomState() { checkAllLayouts(options: .pytorchCompat, randomStart: true, seed: 2) }
    func testPaperFromZeroState() { checkAllLayouts(options: Self.paperWithUsageGradient, randomStart: false, seed: 3) }
    func testPaperFromRandomState() { checkAllLayouts(options: Self.paperWithUsageGradient, randomStart: true, seed: 4) }

    /// Mixed options (DeepMind's cosine with softplus and squashing; pytorch-dnc's cosine with oneplus, no squash).
    func testMixedOptionsFromRandomState() {
        checkAllLayouts(options: MemoryOptions(strengthActivation: .softplus, squashKeysAndWriteVector: true,
                                               stopGradientThroughUsage: false, cosineStyle: .deepMind),
                        randomStart: true, seed: 5)
        checkAllLayouts(options: MemoryOptions(strengthActivation: .oneplus, squashKeysAndWriteVector: false,
                                               stopGradientThroughUsage: false, cosineStyle: .pytorchDNC),
                        randomStart: true, seed: 6)
    }

    func checkAllLayouts(options: MemoryOptions, randomStart: Bool, seed: UInt64, step: Double = 1e-3, floor: Double = 1e-6,
                         file: StaticString = #filePath, line: UInt = #line) {
        for independent in [false, true] {
            check(options: options, independent: independent, randomStart: randomStart, seed: seed, step: step, floor: floor,
                  file: file, line: line)
        }
    }

    /// Eleven steps with a link snapshot every 4th: three snapshots, the last segment partial,
    /// the links between them recomputed by the backward; samples finishing early.
    func testLongSequenceAcrossLinkSnapshots() {
        let sizes = MemoryHarness.Sizes(batch: 3, steps: 11)
        let active = (0..<sizes.steps).map { t in [true, t < 6, t < 9] }
        check(options: Self.paperWithUsageGradient, independent: false, randomStart: true, seed: 8, sizes: sizes,
              active: active, linkSnapshotInterval: 4, file: #filePath, line: #line)
    }

    func check(options: MemoryOptions, independent: Bool, randomStart: Bool, seed: UInt64,
               sizes: MemoryHarness.Sizes = .init(), active: [[Bool]]? = nil, linkSnapshotInterval: Int? = nil,
               step: Double = 1e-3, floor: Double = 1e-6, file: StaticString, line: UInt) {
        let s = sizes
        let label = "\(options) independent \(independent) \(randomStart ? "random" : "zero") start"
        let store = ParameterStore<Double>()
        let memory = DenseMemory(store: store, prefix: "mem.", inputSize: s.input, cellCount: s.cells,
                                 cellWidth: s.width, readHeads: s.heads, independentLinears: independent, options: options)
        if let linkSnapshotInterval { memory.linkSnapshotInterval = linkSnapshotInterval }
        var rng = CounterRandom(seed: seed).sequence(stream: 7)
        // Interface weights large enough that gates and strengths vary, small enough to stay smooth.
        for slot in store.slots { store.set(slot, to: MemoryHarness.randomTensor(slot.shape, &rng, scale: 0.6)) }
        let inputs = MemoryHarness.randomTensor([s.steps, s.batch, s.input], &rng)
        let initial = randomStart ? MemoryHarness.randomState(s, &rng)
                                  : memory.zeroState(batch: s.batch)
        let readWeights = MemoryHarness.randomTensor([s.steps, s.batch, s.heads * s.width], &rng)
        let finalWeights = MemoryHarness.unflatten(
            MemoryHarness.randomTensor([MemoryHarness.flatten(initial).count], &rng).storage, like: initial)

        func loss(params: [Double]? = nil, inputs x: Tensor<Double> = inputs,
                  initial start: DenseMemoryState<Double> = initial) -> Double {
            if let params { for (i, v) in params.enumerated() { store.values[i] = v } }
            let (reads, final) = MemoryHarness.forward(memory, inputs: x, initial: start, tape: nil, active: active)
            return MemoryHarness.dot(reads, readWeights) + MemoryHarness.stateDot(final, finalWeights)
        }

        // Analytic gradients.
        let tape = DenseMemoryTape<Double>()
        store.zeroGradients()
        _ = MemoryHarness.forward(memory, inputs: inputs, initial: initial, tape: tape, active: active)
        let (dInputs, dInitial) = MemoryHarness.backward(memory, tape: tape, readGradients: readWeights,
                                                         finalStateGradient: finalWeights)
        let params = store.flatValues, dParams = store.flatGradients
        XCTAssertEqual(store.slots.count, independent ? 2 * memory.layout.fieldBlocks.count : 2)

        GradientCheck.compare(point: params, analytic: dParams, step: step, floor: floor, label: "\(label) parameters", file: file, line: line) {
            loss(params: $0)
        }
        for (i, v) in params.enumerated() { store.values[i] = v }
        GradientCheck.compare(point: inputs.storage, analytic: dInputs.storage, step: step, floor: floor, label: "\(label) inputs",
                              file: file, line: line) {
            loss(inputs: Tensor(shape: inputs.shape, storage: $0))
        }

        // Initial state: everything from a random state; from the zero state only where the run is
        // differentiable at the scale of a finite-difference step. The usage and the previous write
        // weights would break the exact free-list ties of step 0. Perturbing one memory row breaks the
        // near-ties of step 1 (the cells after the first allocation differ in usage by ~ε, because
        // the allocation gives them ε^j), so the free list reorders. The zero-memory cosine gradient
        // is checked on its own in `testContentWeightingGradientAtZeroMemory`.
        let flatInitial = MemoryHarness.flatten(initial), flatGradient = MemoryHarness.flatten(dInitial)
        let sizes = [initial.memory.count, initial.linkMatrix.count, initial.precedence.count,
                     initial.readWeights.count, initial.writeWeights.count, initial.usage.count]
        let names = ["memory", "link_matrix", "precedence", "read_weights", "write_weights", "usage"]
        var offset = 0
        for (k, size) in sizes.enumerated() {
            defer { offset += size }
            if !randomStart && ["usage", "write_weights", "memory"].contains(names[k]) { continue }
            // DNC-MD's sharpening clamps L w^r at 0 (docs/dense-memory.md, "Link distribution sharpness"): the
            // zero link sits on that kink (a negative entry is no valid link), so only a random start checks it.
            if !randomStart && options.improvements.linkSharpness && names[k] == "link_matrix" { continue }
            let range = offset..<(offset + size)
            GradientCheck.compare(point: Array(flatInitial[range]), analytic: Array(flatGradient[range]),
                                  step: step, floor: floor, label: "\(label) initial \(names[k])", file: file, line: line) { part in
                var x = flatInitial
                x.replaceSubrange(range, with: part)
                return loss(initial: MemoryHarness.unflatten(x, like: initial))
            }
        }
        MemoryHarness.assertFinite(flatGradient + dParams + dInputs.storage, "\(label) gradients", file: file, line: line)
    }

    /// With `stopGradientThroughUsage` the previous write weights get no gradient through the
    /// usage update, and nothing else changes: over one step, where w^w_{t−1} enters only the
    /// usage, the gradient of the initial write weights is exactly 0 with the switch and not 0
    /// without it, and every other gradient is identical.
    func testStopGradientDropsOnlyTheUsagePath() {
        let s = MemoryHarness.Sizes()
        var rng = CounterRandom(seed: 11).sequence(stream: 1)
        let inputs = MemoryHarness.randomTensor([1, s.batch, s.input], &rng)
        let initial = MemoryHarness.randomState(s, &rng)
        let readWeights = MemoryHarness.randomTensor([1, s.batch, s.heads * s.width], &rng)
        let finalWeights = MemoryHarness.unflatten(
            MemoryHarness.randomTensor([MemoryHarness.flatten(initial).count], &rng).storage, like: initial)
        let parameters = MemoryHarness.randomTensor([10_000], &rng, scale: 0.6).storage

        func gradients(stop: Bool) -> (params: [Double], inputs: [Double], state: DenseMemoryState<Double>) {
            var options = MemoryOptions.paper
            options.stopGradientThroughUsage = stop
            let store = ParameterStore<Double>()
            let memory = DenseMemory(store: store, prefix: "", inputSize: s.input, cellCount: s.cells,
                                     cellWidth: s.width, readHeads: s.heads, options: options)
            for i in 0..<store.count { store.values[i] = parameters[i] }
            let tape = DenseMemoryTape<Double>()
            _ = MemoryHarness.forward(memory, inputs: inputs, initial: initial, tape: tape)
            let (dx, dState) = MemoryHarness.backward(memory, tape: tape, readGradients: readWeights,
                                                      finalStateGradient: finalWeights)
            return (store.flatGradients, dx.storage, dState)
        }
        let stopped = gradients(stop: true), flowing = gradients(stop: false)
        XCTAssertTrue(stopped.state.writeWeights.storage.allSatisfy { $0 == 0 })
        XCTAssertTrue(flowing.state.writeWeights.storage.contains { abs($0) > 1e-6 })
        XCTAssertEqual(stopped.params, flowing.params)
        XCTAssertEqual(stopped.inputs, flowing.inputs)
        var a = stopped.state, b = flowing.state
        a.writeWeights = Tensor(shape: a.writeWeights.shape)
        b.writeWeights = Tensor(shape: b.writeWeights.shape)
        XCTAssertEqual(a, b)
    }

    /// Over several steps the stop-gradient changes the earlier steps' gradients (the dropped
    /// term is real), but only through w^w: the final step's backward is unaffected.
    func testStopGradientChangesMultiStepGradients() {
        let s = MemoryHarness.Sizes()
        var rng = CounterRandom(seed: 12).sequence(stream: 1)
        let inputs = MemoryHarness.randomTensor([s.steps, s.batch, s.input], &rng)
        let readWeights = MemoryHarness.randomTensor([s.steps, s.batch, s.heads * s.width], &rng)
        let parameters = MemoryHarness.randomTensor([10_000], &rng, scale: 0.6).storage
        func inputGradients(stop: Bool) -> [Double] {
            var options = MemoryOptions.paper
            options.stopGradientThroughUsage = stop
            let store = ParameterStore<Double>()
            let memory = DenseMemory(store: store, prefix: "", inputSize: s.input, cellCount: s.cells,
                                     cellWidth: s.width, readHeads: s.heads, options: options)
            for i in 0..<store.count { store.values[i] = parameters[i] }
            let tape = DenseMemoryTape<Double>()
            _ = MemoryHarness.forward(memory, inputs: inputs, initial: memory.zeroState(batch: s.batch), tape: tape)
            return MemoryHarness.backward(memory, tape: tape, readGradients: readWeights,
                                          finalStateGradient: memory.zeroState(batch: s.batch)).inputs.storage
        }
        let stopped = inputGradients(stop: true), flowing = inputGradients(stop: false)
        let perStep = s.batch * s.input
        let last = (s.steps - 1) * perStep
        XCTAssertEqual(Array(stopped[last...]), Array(flowing[last...]))
        XCTAssertNotEqual(Array(stopped[..<last]), Array(flowing[..<last]))
    }

    /// Content weighting at an all-zero memory, both cosine styles: the analytic gradient with
    /// respect to the memory, the key and the strength against central differences. With pytorch-dnc's
    /// cosine, `cos_n = M_n·k/(‖M_n‖‖k‖ + ε)` is differentiable at 0 (derivative k/ε) but only on the
    /// scale ε/‖k‖, so it takes a tiny step (second-order stencil, h = 1e-12; the |h| term gives a
    /// relative error ~ ‖k‖h/ε = 1e-6).
    func testContentWeightingGradientAtZeroMemory() {
        let n = 5, w = 3, k = 2
        var rng = CounterRandom(seed: 21).sequence(stream: 0)
        let keys = MemoryHarness.randomTensor([k, w], &rng).storage
        let strengths = [1.7, 0.4]
        let upstream = MemoryHarness.randomTensor([k, n], &rng).storage
        for style in [MemoryOptions.CosineStyle.deepMind, .pytorchDNC] {
            // Rows 0..2 zero, rows 3..4 non-zero: both kinds in one memory.
            var memory = [Double](repeating: 0, count: n * w)
            for i in (3 * w)..<(n * w) { memory[i] = 2 * rng.nextUniform() - 1 }
            func forward(_ m: [Double], _ key: [Double], _ beta: [Double]) -> (cos: [Double], weights: [Double], loss: Double) {
                var norms = [Double](repeating: 0, count: n), keyNorms = [Double](repeating: 0, count: k)
                var cos = [Double](repeating: 0, count: k * n), weights = cos
                ContentAddressing.norms(m, rows: n, width: w, style: style, out: &norms)
                ContentAddressing.norms(key, rows: k, width: w, style: style, out: &keyNorms)
                ContentAddressing.forward(memory: m, memoryNorms: norms, keys: key, keyNorms: keyNorms, strengths: beta,
                                          cells: n, width: w, keyCount: k, cosine: &cos, weights: &weights)
                return (cos, weights, zip(weights, upstream).reduce(0) { $0 + $1.0 * $1.1 })
            }
            var norms = [Double](repeating: 0, count: n), keyNorms = [Double](repeating: 0, count: k)
            ContentAddressing.norms(memory, rows: n, width: w, style: style, out: &norms)
            ContentAddressing.norms(keys, rows: k, width: w, style: style, out: &keyNorms)
            let (cos, weights, _) = forward(memory, keys, strengths)
            var dWeights = upstream, dM = [Double](repeating: 0, count: n * w), dK = [Double](repeating: 0, count: k * w)
            var dBeta = [Double](repeating: 0, count: k), scratch = [Double](repeating: 0, count: k * n + n + k)
            ContentAddressing.backward(memory: memory, memoryNorms: norms, keys: keys, keyNorms: keyNorms,
                                       strengths: strengths, cosine: cos, weights: weights, cells: n, width: w,
                                       keyCount: k, weightsGradient: &dWeights, memoryGradient: &dM, keysGradient: &dK,
                                       strengthsGradient: &dBeta, scratch: &scratch)
            MemoryHarness.assertFinite(dM + dK + dBeta, "\(style) gradients")
            for i in 0..<(n * w) {
                let h = memory[i] == 0 ? 1e-12 : 1e-6
                var plus = memory, minus = memory
                plus[i] += h; minus[i] -= h
                let numeric = (forward(plus, keys, strengths).loss - forward(minus, keys, strengths).loss) / (2 * h)
                XCTAssertLessThan(abs(numeric - dM[i]) / max(abs(dM[i]), 1e-3), 1e-5,
                                  "\(style) memory \(i): analytic \(dM[i]) numeric \(numeric)")
            }
            GradientCheck.compare(point: keys, analytic: dK, label: "\(style) keys") { forward(memory, $0, strengths).loss }
            GradientCheck.compare(point: strengths, analytic: dBeta, label: "\(style) strengths") { forward(memory, keys, $0).loss }
        }
    }
}
