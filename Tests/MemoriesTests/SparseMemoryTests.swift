import XCTest
import TestSupport
import DNCNumerics
import DNCLayers
@testable import DNCMemories

/// Shared helpers for the sparse memory tests (Double).
enum SparseHarness {
    struct Sizes {
        var batch = 2, steps = 4, input = 4, cells = 8, width = 3, heads = 2, neighbours = 4
    }

    static func make(_ s: Sizes, independent: Bool = false, index: SparseIndexKind = .exact, seed: UInt64 = 1,
                     scale: Double = 0.8) -> (SparseMemory<Double>, ParameterStore<Double>) {
        let store = ParameterStore<Double>()
        let memory = SparseMemory(store: store, prefix: "mem.", inputSize: s.input, cellCount: s.cells, cellWidth: s.width,
                                  readHeads: s.heads, sparseReads: s.neighbours, independentLinears: independent,
                                  index: index)
        var rng = CounterRandom(seed: seed).sequence(stream: 3)
        for slot in store.slots { store.set(slot, to: MemoryHarness.randomTensor(slot.shape, &rng, scale: scale)) }
        return (memory, store)
    }

    /// Runs `inputs` (T, B, I); returns the read vectors (T, B, R·W).
    static func forward(_ memory: any SparseMemoryModule<Double>, inputs: Tensor<Double>, state: SparseMemoryState<Double>,
                        tape: SparseMemoryTape<Double>?, active: [[Bool]]? = nil) -> Tensor<Double> {
        let steps = inputs.shape[0], batch = inputs.shape[1], rw = memory.readHeads * memory.cellWidth
        var reads = Tensor<Double>(shape: [steps, batch, rw])
        inputs.withUnsafeBufferPointer { x in
            reads.withUnsafeMutableBufferPointer { r in
                for t in 0..<steps {
                    memory.step(input: x.baseAddress! + t * batch * memory.inputSize, batch: batch, state: state,
                                tape: tape, active: active?[t], readVectors: r.baseAddress! + t * batch * rw)
                }
            }
        }
        return reads
    }

    static func backward(_ memory: any SparseMemoryModule<Double>, tape: SparseMemoryTape<Double>, readGradients: Tensor<Double>,
                         final: SparseMemoryStateGradient<Double>) -> (inputs: Tensor<Double>, state: SparseMemoryStateGradient<Double>) {
        let steps = readGradients.shape[0], batch = readGradients.shape[1], rw = memory.readHeads * memory.cellWidth
        var g = final
        var dx = Tensor<Double>(shape: [steps, batch, memory.inputSize])
        readGradients.withUnsafeBufferPointer { gr in
            dx.withUnsafeMutableBufferPointer { d in
                for t in stride(from: steps - 1, through: 0, by: -1) {
                    memory.backwardStep(tape: tape, stepIndex: t, readVectorsGradient: gr.baseAddress! + t * batch * rw,
                                        stateGradient: &g, inputGradient: d.baseAddress! + t * batch * memory.inputSize)
                }
            }
        }
        return (dx, g)
    }

    /// A forward pass of `steps` steps (batch 1) on a memory preloaded with `cells` Gaussian rows,
    /// recorded on a fresh tape, and the work counters it advanced. `random` continues the
    /// input draws (for the backward's gradients).
    struct FullMemoryRun {
        let state: SparseMemoryState<Double>, tape: SparseMemoryTape<Double>, reads: Tensor<Double>
        let rowsWritten: Int, listOperations: Int, entriesVisited: Int
        var random: RandomSequence
    }

    static func forwardOnFullMemory(_ memory: any SparseMemoryModule<Double>, cells: Int, steps: Int) -> FullMemoryRun {
        let state = memory.zeroState(batch: 1)
        let m = state.samples[0]
        SparseData.gaussian(cells, memory.cellWidth, seed: 32).withUnsafeBufferPointer { m.preload(rows: $0.baseAddress!, count: cells) }
        var rng = CounterRandom(seed: 33).sequence(stream: 1)
        let inputs = MemoryHarness.randomTensor([steps, 1, memory.inputSize], &rng)
        let tape = SparseMemoryTape<Double>()
        let (w0, l0, v0) = (m.rowsWritten, m.listOperations, m.index.entriesVisited)
        let reads = forward(memory, inputs: inputs, state: state, tape: tape)
        return FullMemoryRun(state: state, tape: tape, reads: reads, rowsWritten: m.rowsWritten - w0,
                             listOperations: m.listOperations - l0, entriesVisited: m.index.entriesVisited - v0, random: rng)
    }

    /// Appends one sample's stored rows and previous read weights to the finite-difference point,
    /// and their gradients (zero for a row the gradient does not hold) to `analytic`, in the
    /// order `setRowsAndReads` takes them back.
    static func appendRowsAndReads(_ m: SparseSampleMemory<Double>, gradient g: SparseSampleGradient<Double>, width: Int,
                                   point: inout [Double], analytic: inout [Double]) {
        for c in 0..<m.fresh {
            point += m.row(c)
            analytic += g.row(c) ?? Array(repeating: 0, count: width)
        }
        point += m.previousReadWeights
        analytic += g.readWeights
    }

    /// Sets one sample's stored rows and previous read weights from `x` at `offset` (advanced).
    static func setRowsAndReads(_ m: SparseSampleMemory<Double>, from x: [Double], offset: inout Int, width: Int) {
        for c in 0..<m.fresh { setRow(m, c, Array(x[offset..<(offset + width)])); offset += width }
        for p in 0..<m.readSlots { m.previousReadWeights[p] = x[offset]; offset += 1 }
    }

    /// ⟨used rows, H⟩ + ⟨previous read weights, H_ρ⟩ over the batch (H from `weights`, one row of
    /// W per cell and R·K per sample).
    static func stateDot(_ state: SparseMemoryState<Double>, rowWeights: Tensor<Double>, readWeights: Tensor<Double>) -> Double {
        var s = 0.0
        for (b, m) in state.samples.enumerated() {
            for c in 0..<m.fresh { for (j, v) in m.row(c).enumerated() { s += v * rowWeights[b, c, j] } }
            for (p, v) in m.previousReadWeights.enumerated() { s += v * readWeights[b, p] }
        }
        return s
    }

    static func finalGradient(_ memory: any SparseMemoryModule<Double>, _ state: SparseMemoryState<Double>, rowWeights: Tensor<Double>,
                              readWeights: Tensor<Double>) -> SparseMemoryStateGradient<Double> {
        var g = memory.zeroStateGradient(batch: state.batch)
        for (b, m) in state.samples.enumerated() {
            for c in 0..<m.fresh { g.samples[b].accumulate(row: c, (0..<m.width).map { rowWeights[b, c, $0] }) }
            g.samples[b].readWeights = (0..<m.readSlots).map { readWeights[b, $0] }
        }
        return g
    }

    /// For the exact index and an approximate one small enough to rebuild inside the sequence,
    /// `make(index)` gives a memory of `cells` cells: see `checkRollbackAndRestore(_:…)`.
    static func checkRollbackAndRestore(cells: Int, batch: Int, label: String, file: StaticString = #filePath, line: UInt = #line,
                                        make: (SparseIndexKind) -> (any SparseMemoryModule<Double>, ParameterStore<Double>)) {
        let approximate = SparseIndexKind.approximate(ApproximateIndexOptions(lists: 4, probes: 2, minimumBuildSize: 6))
        for index in [SparseIndexKind.exact, approximate] {
            let (memory, store) = make(index)
            let tape = checkRollbackAndRestore(memory, store: store, cells: cells, batch: batch, label: "\(label) \(index)",
                                               file: file, line: line)
            if case .approximate = index {
                XCTAssertTrue(tape.indexSnapshots.count > 0, "\(label): the approximate index rebuilt inside the sequence",
                              file: file, line: line)
            }
        }
    }

    /// Forward over a warm-up and a 40-step sequence (memory filled, sample 1 inactive at some
    /// steps), then the backward: the state must roll back bit for bit to before the sequence,
    /// `restoreFinalState` must give exactly the state after it, and a next forward from the
    /// restored state must match one from a snapshot. Returns the tape (for index checks).
    static func checkRollbackAndRestore(_ memory: any SparseMemoryModule<Double>, store: ParameterStore<Double>, cells: Int,
                                        batch: Int, label: String, file: StaticString,
                                        line: UInt) -> SparseMemoryTape<Double> {
        let steps = 40, input = memory.inputSize
        var rng = CounterRandom(seed: 22).sequence(stream: 1)
        let state = memory.zeroState(batch: batch)
        _ = forward(memory, inputs: MemoryHarness.randomTensor([5, batch, input], &rng), state: state, tape: nil)
        let before = state.copy()
        let inputs = MemoryHarness.randomTensor([steps, batch, input], &rng)
        let active = (0..<steps).map { t in (0..<batch).map { b in !(b == 1 && t % 7 == 3) } }
        let tape = SparseMemoryTape<Double>()
        let reads = forward(memory, inputs: inputs, state: state, tape: tape, active: active)
        let after = state.copy()
        XCTAssertEqual(state.samples[0].fresh, cells, "\(label): memory filled", file: file, line: line)
        XCTAssertFalse(state.isIdentical(to: before), file: file, line: line)
        store.zeroGradients()
        let readGradients = MemoryHarness.randomTensor(reads.shape, &rng)
        let exact = backward(memory, tape: tape, readGradients: readGradients, final: memory.zeroStateGradient(batch: batch))
        let exactParameterGradients = store.flatGradients
        XCTAssertTrue(state.isIdentical(to: before), "\(label): rolled back to the state before the sequence", file: file, line: line)
        memory.restoreFinalState(tape: tape)
        XCTAssertTrue(state.isIdentical(to: after), "\(label): restored to the state after the forward pass", file: file, line: line)
        checkDeferredIndexUndo(memory, store: store, from: before, inputs: inputs, active: active, reads: reads, after: after,
                               readGradients: readGradients, exact: (exact.inputs, exactParameterGradients), label: label,
                               file: file, line: line)
        // The next forward from the restored state matches one from the snapshot.
        let next = MemoryHarness.randomTensor([6, batch, input], &rng)
        XCTAssertEqual(forward(memory, inputs: next, state: state, tape: nil), forward(memory, inputs: next, state: after, tape: nil),
                       label, file: file, line: line)
        return tape
    }

    /// A model's backward (`beginBackward` … `endBackward`) rolls back the rows but not the index,
    /// and the restore skips the index updates it would redo: no index update at all after the
    /// forward, and the same final state and gradients as the exact rollback (`exact`).
    static func checkDeferredIndexUndo(_ memory: any SparseMemoryModule<Double>, store: ParameterStore<Double>,
                                       from before: SparseMemoryState<Double>, inputs: Tensor<Double>, active: [[Bool]],
                                       reads: Tensor<Double>, after: SparseMemoryState<Double>, readGradients: Tensor<Double>,
                                       exact: (inputs: Tensor<Double>, parameters: [Double]), label: String,
                                       file: StaticString, line: UInt) {
        let state = before.copy(), clock = IndexClock()
        for m in state.samples { m.timeIndex(with: clock) }
        let tape = SparseMemoryTape<Double>()
        XCTAssertEqual(forward(memory, inputs: inputs, state: state, tape: tape, active: active), reads, label, file: file, line: line)
        let updatesAfterForward = clock.updates
        XCTAssertGreaterThan(updatesAfterForward, 0, label, file: file, line: line)
        store.zeroGradients()
        memory.beginBackward(tape: tape)
        let deferred = backward(memory, tape: tape, readGradients: readGradients, final: memory.zeroStateGradient(batch: state.batch))
        XCTAssertEqual(clock.updates, updatesAfterForward, "\(label): the backward leaves the index alone", file: file, line: line)
        XCTAssertTrue(state.samples.contains { $0.indexAhead > 0 }, label, file: file, line: line)
        memory.endBackward(tape: tape)
        XCTAssertEqual(clock.updates, updatesAfterForward, "\(label): the restore has no index update to redo", file: file, line: line)
        XCTAssertTrue(state.samples.allSatisfy { $0.indexAhead == 0 }, label, file: file, line: line)
        XCTAssertTrue(state.isIdentical(to: after), "\(label): deferred undo, restored to the state after the forward pass",
                      file: file, line: line)
        XCTAssertEqual(deferred.inputs, exact.inputs, "\(label): input gradients", file: file, line: line)
        XCTAssertEqual(store.flatGradients, exact.parameters, "\(label): parameter gradients", file: file, line: line)
    }

    /// Overwrites one stored row (memory and index), as a perturbation of the state.
    static func setRow(_ m: SparseSampleMemory<Double>, _ c: Int, _ values: [Double]) {
        for j in 0..<m.width { m.memory[c * m.width + j] = values[j] }
        m.index.insert(id: c, vector: m.memory + c * m.width)
    }
}

final class SparseMemoryGradientTests: XCTestCase {
    /// From the empty memory, K ≥ rows stored: the neighbour sets are all rows, so they are fixed
    /// without any help. Both interface layouts.
    func testGradientsFromEmptyMemory() {
        for independent in [false, true] {
            check(SparseHarness.Sizes(), independent: independent, warmUp: 0, seed: 5)
        }
    }

    /// From a used memory (warm-up steps), K < rows stored: true sparse selection, the index
    /// results held fixed by replaying the recorded neighbour lists. Gradients with respect to
    /// parameters, inputs, every stored row and the previous read weights of the initial state.
    func testGradientsFromUsedMemoryWithSparseSelection() {
        var s = SparseHarness.Sizes()
        s.cells = 12; s.neighbours = 3; s.steps = 5
        check(s, independent: false, warmUp: 9, seed: 7)
        s.cells = 10; s.neighbours = 2
        check(s, independent: true, warmUp: 14, seed: 8)  // memory full: LRA from the list
    }

    func check(_ s: SparseHarness.Sizes, independent: Bool, warmUp: Int, seed: UInt64,
               file: StaticString = #filePath, line: UInt = #line) {
        let (memory, store) = SparseHarness.make(s, independent: independent, seed: seed)
        var rng = CounterRandom(seed: seed).sequence(stream: 9)
        let initial = memory.zeroState(batch: s.batch)
        if warmUp > 0 {
            _ = SparseHarness.forward(memory, inputs: MemoryHarness.randomTensor([warmUp, s.batch, s.input], &rng),
                                      state: initial, tape: nil)
        }
        let inputs = MemoryHarness.randomTensor([s.steps, s.batch, s.input], &rng)
        let readWeights = MemoryHarness.randomTensor([s.steps, s.batch, s.heads * s.width], &rng)
        let rowWeights = MemoryHarness.randomTensor([s.batch, s.cells, s.width], &rng)
        let rhoWeights = MemoryHarness.randomTensor([s.batch, s.heads * memory.sparseReads], &rng)
        let script = NeighbourScript()
        memory.neighbourScript = script

        func loss(params: [Double]? = nil, inputs x: Tensor<Double> = inputs,
                  start: SparseMemoryState<Double> = initial) -> Double {
            if let params { for (i, v) in params.enumerated() { store.values[i] = v } }
            let state = start.copy()
            script.cursor = 0
            let reads = SparseHarness.forward(memory, inputs: x, state: state, tape: nil)
            return MemoryHarness.dot(reads, readWeights) + SparseHarness.stateDot(state, rowWeights: rowWeights, readWeights: rhoWeights)
        }
        // Analytic: record the neighbours, then replay them in every evaluation.
        let state = initial.copy(), tape = SparseMemoryTape<Double>()
        store.zeroGradients()
        _ = SparseHarness.forward(memory, inputs: inputs, state: state, tape: tape)
        script.replaying = true
        let final = SparseHarness.finalGradient(memory, state, rowWeights: rowWeights, readWeights: rhoWeights)
        let (dInputs, dInitial) = SparseHarness.backward(memory, tape: tape, readGradients: readWeights, final: final)
        XCTAssertTrue(state.isIdentical(to: initial), "rolled back", file: file, line: line)
        let params = store.flatValues, dParams = store.flatGradients
        let label = "independent \(independent) warm-up \(warmUp)"
        XCTAssertTrue(dParams.contains { $0 != 0 }, file: file, line: line)

        GradientCheck.compare(point: params, analytic: dParams, label: "\(label) parameters", file: file, line: line) {
            loss(params: $0)
        }
        for (i, v) in params.enumerated() { store.values[i] = v }
        GradientCheck.compare(point: inputs.storage, analytic: dInputs.storage, label: "\(label) inputs", file: file, line: line) {
            loss(inputs: Tensor(shape: inputs.shape, storage: $0))
        }
        guard warmUp > 0 else { return }
        // Initial state: every stored row and the previous read weights.
        var point: [Double] = [], analytic: [Double] = []
        for (b, m) in initial.samples.enumerated() {
            SparseHarness.appendRowsAndReads(m, gradient: dInitial.samples[b], width: s.width, point: &point, analytic: &analytic)
        }
        GradientCheck.compare(point: point, analytic: analytic, label: "\(label) initial state", file: file, line: line) { x in
            let start = initial.copy()
            var offset = 0
            for m in start.samples { SparseHarness.setRowsAndReads(m, from: x, offset: &offset, width: s.width) }
            return loss(start: start)
        }
    }
}

final class SparseMemoryRollbackTests: XCTestCase {
    /// Forward + backward over a sequence rolls memory, times, LRU order, fill, step counter,
    /// previous read and index back bit for bit; `restoreFinalState` then gives exactly the state
    /// at the end of the forward pass. Long enough to fill the memory (LRA from the list), with
    /// an inactive sample at some steps, for both indexes (the approximate one rebuilds inside
    /// the sequence).
    func testRollbackAndRestoreAreBitIdentical() {
        var s = SparseHarness.Sizes()
        s.cells = 24; s.neighbours = 3; s.steps = 40; s.batch = 3; s.width = 4
        SparseHarness.checkRollbackAndRestore(cells: s.cells, batch: s.batch, label: "SAM") { index in
            SparseHarness.make(s, index: index, seed: 21)
        }
    }

    /// The comparison the rollback test relies on catches every kind of missed undo: a row, a
    /// last-access time, the LRU order, the fill, the step, the previous read, an index entry.
    func testIdentityCatchesEveryMissedUndo() {
        var s = SparseHarness.Sizes()
        s.cells = 10; s.batch = 1
        let (memory, _) = SparseHarness.make(s, seed: 3)
        var rng = CounterRandom(seed: 4).sequence(stream: 1)
        let state = memory.zeroState(batch: 1)
        _ = SparseHarness.forward(memory, inputs: MemoryHarness.randomTensor([6, 1, s.input], &rng), state: state, tape: nil)
        let reference = state.copy()
        XCTAssertTrue(state.isIdentical(to: reference))
        let mutations: [(String, (SparseSampleMemory<Double>) -> Void)] = [
            ("row", { $0.memory[1 * $0.width] = -$0.memory[1 * $0.width] }),
            ("row without index", { $0.memory[2 * $0.width] = $0.memory[2 * $0.width].nextUp }),
            ("index only", { m in var v = m.row(3); v[0] += 1; v.withUnsafeBufferPointer { p in m.index.insert(id: 3, vector: p.baseAddress!) } }),
            ("index entry removed", { $0.index.remove(id: 4) }),
            ("time", { $0.lastAccess[0] += 1 }),
            ("LRU order", { m in _ = m.access(m.leastRecentlyAccessed == m.fresh ? 0 : m.leastRecentlyAccessed, time: m.lastAccess[0]) }),
            ("fill", { _ = $0.access($0.fresh, time: 0) }),
            ("step", { $0.step += 1 }),
            ("previous read position", { $0.previousReadPositions[0] = -1 }),
            ("previous read weight", { $0.previousReadWeights[1] = $0.previousReadWeights[1].nextUp }),
        ]
        for (name, mutate) in mutations {
            let copy = reference.copy()
            mutate(copy.samples[0])
            XCTAssertFalse(copy.isIdentical(to: reference), "missed: \(name)")
        }
    }

    /// `reset` is lazy (touches no cell) and complete (the memory then behaves as new).
    func testLazyResetIsConstantTimeAndComplete() {
        var s = SparseHarness.Sizes()
        s.cells = 10; s.batch = 1
        let (memory, _) = SparseHarness.make(s, seed: 3)
        var rng = CounterRandom(seed: 4).sequence(stream: 1)
        let state = memory.zeroState(batch: 1)
        let inputs = MemoryHarness.randomTensor([12, 1, s.input], &rng)
        let first = SparseHarness.forward(memory, inputs: inputs, state: state, tape: nil)
        let work = state.samples[0].listOperations
        state.reset()
        XCTAssertEqual(state.samples[0].listOperations, work, "reset touches no cell")
        XCTAssertEqual(state.samples[0].index.count, 0)
        XCTAssertEqual(state.samples[0].leastRecentlyAccessed, 0)
        let second = SparseHarness.forward(memory, inputs: inputs, state: state, tape: nil)
        XCTAssertEqual(first, second, "a reset memory behaves like a new one")
    }
}

final class SparseMemoryReferenceTests: XCTestCase {
    /// With the exact index the positions are the true top-K by cosine over all stored rows, and
    /// the read equals a naive dense softmax over those rows; with K ≥ rows stored it equals the
    /// dense content read over the whole (used) memory.
    func testSparseReadEqualsNaiveDenseRead() {
        for (cells, k) in [(30, 30), (30, 5)] {
            var s = SparseHarness.Sizes()
            s.cells = cells; s.neighbours = k; s.batch = 2; s.width = 5; s.heads = 3
            let (memory, store) = SparseHarness.make(s, seed: 11, scale: 1.5)
            var rng = CounterRandom(seed: 12).sequence(stream: 1)
            let state = memory.zeroState(batch: s.batch)
            _ = SparseHarness.forward(memory, inputs: MemoryHarness.randomTensor([25, s.batch, s.input], &rng),
                                      state: state, tape: nil)
            let x = MemoryHarness.randomTensor([1, s.batch, s.input], &rng)
            let reads = SparseHarness.forward(memory, inputs: x, state: state, tape: nil)
            let weight = store.tensor(store.slot(named: "mem.interface_weights.weight")!)
            let bias = store.tensor(store.slot(named: "mem.interface_weights.bias")!)
            for b in 0..<s.batch {
                let m = state.samples[b]
                let record = memory.lastStepDebugRecord(batchElement: b)
                for i in 0..<s.heads {
                    let q = (0..<s.width).map { e -> Double in
                        let row = i * s.width + e
                        return bias[row] + (0..<s.input).reduce(0) { $0 + weight[row, $1] * x[0, b, $1] }
                    }
                    func cosine(_ c: Int) -> Double {
                        let v = m.row(c)
                        let d = zip(q, v).reduce(0) { $0 + $1.0 * $1.1 }
                        let nq = (q.reduce(0) { $0 + $1 * $1 } + 1e-6).squareRoot()
                        let nv = (v.reduce(0) { $0 + $1 * $1 } + 1e-6).squareRoot()
                        return d / (nq * nv + 1e-6)
                    }
                    let ranked = (0..<m.fresh).sorted { cosine($0) > cosine($1) }
                    let chosen = Array(ranked.prefix(k))
                    let positions = (0..<Swift.min(k, m.fresh)).map { Int(record.readPositions[i, $0]) }
                    XCTAssertEqual(Set(positions), Set(chosen), "head \(i): exact top-K")
                    let z = chosen.map { exp(cosine($0)) }, total = z.reduce(0, +)
                    for e in 0..<s.width {
                        let naive = zip(chosen, z).reduce(0) { $0 + $1.1 / total * m.row($1.0)[e] }
                        XCTAssertEqual(reads[0, b, i * s.width + e], naive, accuracy: 1e-12)
                    }
                }
                XCTAssertEqual(m.fresh, Swift.min(26, cells))
            }
        }
    }
}
