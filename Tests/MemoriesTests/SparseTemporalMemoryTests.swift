import XCTest
import TestSupport
import DNCNumerics
import DNCLayers
@testable import DNCMemories

/// Helpers for the SDNC memory tests (Double).
enum TemporalHarness {
    struct Sizes {
        var batch = 2, steps = 4, input = 4, cells = 10, width = 3, heads = 2, neighbours = 3, links = 2
    }

    static func make(_ s: Sizes, independent: Bool = false, index: SparseIndexKind = .exact, seed: UInt64 = 1,
                     scale: Double = 0.8, options: SparseTemporalOptions = SparseTemporalOptions())
        -> (SparseTemporalMemory<Double>, ParameterStore<Double>) {
        let store = ParameterStore<Double>()
        let memory = SparseTemporalMemory(store: store, prefix: "mem.", inputSize: s.input, cellCount: s.cells,
                                          cellWidth: s.width, readHeads: s.heads, sparseReads: s.neighbours,
                                          temporalReads: s.links, independentLinears: independent, index: index,
                                          options: options)
        var rng = CounterRandom(seed: seed).sequence(stream: 3)
        for slot in store.slots { store.set(slot, to: MemoryHarness.randomTensor(slot.shape, &rng, scale: scale)) }
        return (memory, store)
    }

    /// Every present link and precedence entry of a state, in a fixed order (row, target sorted).
    /// `inStep`: called inside a step, where the cell written fresh this step is not counted in
    /// `fresh` yet.
    static func linkEntries(_ m: SparseSampleMemory<Double>, inStep: Bool = false) -> [(key: LinkKey, value: Double)] {
        let links = m.links!
        return (0..<Swift.min(m.fresh + (inStep ? 1 : 0), m.cells)).flatMap { i in
            links.row(i).sorted { $0.cell < $1.cell }.map { (LinkKey(row: i, target: $0.cell), $0.value) }
        }
    }

    static func precedenceEntries(_ m: SparseSampleMemory<Double>) -> [(cell: Int, value: Double)] {
        let links = m.links!
        return zip(links.precedenceCells, links.precedenceValues).map { ($0, $1) }.sorted { $0.0 < $1.0 }
    }

    /// Step t of a (T, B, I) tensor as a one-step sequence (1, B, I).
    static func step(_ x: Tensor<Double>, _ t: Int) -> Tensor<Double> {
        let slice = x.slice(t)
        return Tensor(shape: [1] + slice.shape, storage: slice.storage)
    }

    /// A deterministic pseudo-random weight for a state entry.
    static func weight(_ a: Int, _ b: Int, _ c: Int) -> Double {
        let h = (a &* 73_856_093) ^ (b &* 19_349_663) ^ (c &* 83_492_791)
        return Double(abs(h) % 2001) / 1000 - 1
    }

    /// The link and precedence part of the loss: Σ L(i, j) H(i, j) + Σ p(c) H(c).
    static func temporalDot(_ state: SparseMemoryState<Double>) -> Double {
        var s = 0.0
        for (b, m) in state.samples.enumerated() {
            for (key, v) in linkEntries(m) { s += v * weight(b, key.row, key.target) }
            for (c, v) in precedenceEntries(m) { s += v * weight(b, -1, c) }
        }
        return s
    }

    static func addTemporalGradient(_ g: inout SparseMemoryStateGradient<Double>, _ state: SparseMemoryState<Double>) {
        for (b, m) in state.samples.enumerated() {
            for (key, _) in linkEntries(m) { g.samples[b].links[key] = weight(b, key.row, key.target) }
            for (c, _) in precedenceEntries(m) { g.samples[b].precedence[c] = weight(b, -1, c) }
        }
    }

    /// Sets the value of a present link (tests only: not journaled).
    static func setLink(_ m: SparseSampleMemory<Double>, _ key: LinkKey, _ value: Double) {
        let links = m.links!
        for e in 0..<links.rowLength(key.row) where links.rowTarget[key.row * links.perCell + e] == Int32(key.target) {
            links.rowValue[key.row * links.perCell + e] = value
        }
    }
}

final class SparseTemporalGradientTests: XCTestCase {
    /// From the empty memory: every stored row is a neighbour (K ≥ rows), links and precedence
    /// build up over the steps.
    func testGradientsFromEmptyMemory() {
        var s = TemporalHarness.Sizes()
        s.neighbours = 6
        for independent in [false, true] { check(s, independent: independent, warmUp: 0, seed: 5) }
    }

    /// From a used, full memory: sparse content selection (held fixed by replaying the neighbour
    /// lists), links truncated to K_L per row and column, the precedence cut to K_L. Gradients
    /// with respect to parameters, inputs, every stored row, the previous read weights, every
    /// present link and the precedence of the initial state.
    func testGradientsFromUsedMemoryWithSparseSelection() {
        var s = TemporalHarness.Sizes()
        s.steps = 5
        check(s, independent: false, warmUp: 7, seed: 7)
        s.cells = 8; s.heads = 1; s.neighbours = 2; s.links = 3
        check(s, independent: true, warmUp: 13, seed: 8)
    }

    /// The paper's setting (`linkGradients: false`): links and precedence are constants. Checked
    /// against finite differences of a forward in which, at every step, the link values and the
    /// precedence are set back to those of the unperturbed run before the read (the gradient
    /// through the previous read weights into the forward/backward weightings still flows).
    func testStoppedLinkGradientsTreatLinksAsConstants() {
        var s = TemporalHarness.Sizes()
        s.steps = 4
        let (memory, store) = TemporalHarness.make(s, seed: 9, options: SparseTemporalOptions(linkGradients: false))
        var rng = CounterRandom(seed: 9).sequence(stream: 4)
        let initial = memory.zeroState(batch: s.batch)
        _ = SparseHarness.forward(memory, inputs: MemoryHarness.randomTensor([6, s.batch, s.input], &rng), state: initial, tape: nil)
        let inputs = MemoryHarness.randomTensor([s.steps, s.batch, s.input], &rng)
        let readWeights = MemoryHarness.randomTensor([s.steps, s.batch, s.heads * s.width], &rng)
        let script = NeighbourScript()
        memory.neighbourScript = script
        // Reference run: the links and precedence of every step, right before its read.
        var frozen: [[Int]: [(key: LinkKey, value: Double)]] = [:], frozenPrecedence: [[Int]: [Double]] = [:]
        memory.afterLinkUpdate = { b, m in
            frozen[[b, m.step]] = TemporalHarness.linkEntries(m, inStep: true)
            frozenPrecedence[[b, m.step]] = m.links!.precedenceValues
        }
        _ = SparseHarness.forward(memory, inputs: inputs, state: initial.copy(), tape: nil)
        let restore: (Int, SparseSampleMemory<Double>) -> Void = { b, m in
            for (key, value) in frozen[[b, m.step]]! { TemporalHarness.setLink(m, key, value) }
            m.links!.precedenceValues = frozenPrecedence[[b, m.step]]!
        }
        script.replaying = true
        func loss(params: [Double]) -> Double {
            for (i, v) in params.enumerated() { store.values[i] = v }
            script.cursor = 0
            return MemoryHarness.dot(SparseHarness.forward(memory, inputs: inputs, state: initial.copy(), tape: nil), readWeights)
        }
        let state = initial.copy(), tape = SparseMemoryTape<Double>()
        store.zeroGradients()
        script.cursor = 0
        memory.afterLinkUpdate = nil
        _ = SparseHarness.forward(memory, inputs: inputs, state: state, tape: tape)
        _ = SparseHarness.backward(memory, tape: tape, readGradients: readWeights, final: memory.zeroStateGradient(batch: s.batch))
        let params = store.flatValues
        let analytic = store.flatGradients
        memory.afterLinkUpdate = restore
        GradientCheck.compare(point: params, analytic: analytic, step: 1e-5, floor: 1e-5, label: "SDNC stopped link gradients") {
            loss(params: $0)
        }
    }

    func check(_ s: TemporalHarness.Sizes, independent: Bool, warmUp: Int, seed: UInt64,
               file: StaticString = #filePath, line: UInt = #line) {
        let (memory, store) = TemporalHarness.make(s, independent: independent, seed: seed)
        var rng = CounterRandom(seed: seed).sequence(stream: 9)
        let initial = memory.zeroState(batch: s.batch)
        if warmUp > 0 {
            _ = SparseHarness.forward(memory, inputs: MemoryHarness.randomTensor([warmUp, s.batch, s.input], &rng),
                                      state: initial, tape: nil)
            XCTAssertTrue(initial.samples.allSatisfy { !TemporalHarness.linkEntries($0).isEmpty }, "links present", file: file, line: line)
        }
        let inputs = MemoryHarness.randomTensor([s.steps, s.batch, s.input], &rng)
        let readWeights = MemoryHarness.randomTensor([s.steps, s.batch, s.heads * s.width], &rng)
        let rowWeights = MemoryHarness.randomTensor([s.batch, s.cells, s.width], &rng)
        let slotWeights = MemoryHarness.randomTensor([s.batch, memory.readSlots], &rng)
        let script = NeighbourScript()
        memory.neighbourScript = script

        func loss(params: [Double]? = nil, inputs x: Tensor<Double> = inputs,
                  start: SparseMemoryState<Double> = initial) -> Double {
            if let params { for (i, v) in params.enumerated() { store.values[i] = v } }
            let state = start.copy()
            script.cursor = 0
            let reads = SparseHarness.forward(memory, inputs: x, state: state, tape: nil)
            return MemoryHarness.dot(reads, readWeights) + SparseHarness.stateDot(state, rowWeights: rowWeights, readWeights: slotWeights)
                + TemporalHarness.temporalDot(state)
        }
        let state = initial.copy(), tape = SparseMemoryTape<Double>()
        store.zeroGradients()
        _ = SparseHarness.forward(memory, inputs: inputs, state: state, tape: tape)
        script.replaying = true
        var final = SparseHarness.finalGradient(memory, state, rowWeights: rowWeights, readWeights: slotWeights)
        TemporalHarness.addTemporalGradient(&final, state)
        let (dInputs, dInitial) = SparseHarness.backward(memory, tape: tape, readGradients: readWeights, final: final)
        XCTAssertTrue(state.isIdentical(to: initial), "rolled back", file: file, line: line)
        let params = store.flatValues, dParams = store.flatGradients
        let label = "SDNC independent \(independent) warm-up \(warmUp)"
        XCTAssertTrue(dParams.contains { $0 != 0 }, file: file, line: line)
        GradientCheck.compare(point: params, analytic: dParams, step: 1e-5, floor: 1e-5, label: "\(label) parameters", file: file, line: line) {
            loss(params: $0)
        }
        for (i, v) in params.enumerated() { store.values[i] = v }
        GradientCheck.compare(point: inputs.storage, analytic: dInputs.storage, step: 1e-5, floor: 1e-5, label: "\(label) inputs",
                              file: file, line: line) {
            loss(inputs: Tensor(shape: inputs.shape, storage: $0))
        }
        guard warmUp > 0 else { return }
        // Initial state: rows, previous read weights, links, precedence.
        var point: [Double] = [], analytic: [Double] = []
        for (b, m) in initial.samples.enumerated() {
            let g = dInitial.samples[b]
            SparseHarness.appendRowsAndReads(m, gradient: g, width: s.width, point: &point, analytic: &analytic)
            for (key, v) in TemporalHarness.linkEntries(m) { point.append(v); analytic.append(g.links[key] ?? 0) }
            for (c, v) in TemporalHarness.precedenceEntries(m) { point.append(v); analytic.append(g.precedence[c] ?? 0) }
        }
        XCTAssertTrue(dInitial.samples.contains { $0.links.values.contains { $0 != 0 } }, "link gradients reach the initial state",
                      file: file, line: line)
        GradientCheck.compare(point: point, analytic: analytic, step: 1e-5, floor: 1e-4, label: "\(label) initial state", file: file, line: line) { x in
            let start = initial.copy()
            var offset = 0
            for m in start.samples {
                SparseHarness.setRowsAndReads(m, from: x, offset: &offset, width: s.width)
                for (key, _) in TemporalHarness.linkEntries(m) { TemporalHarness.setLink(m, key, x[offset]); offset += 1 }
                let links = m.links!
                for (c, _) in TemporalHarness.precedenceEntries(m) {
                    links.precedenceValues[links.precedenceCells.firstIndex(of: c)!] = x[offset]; offset += 1
                }
            }
            return loss(start: start)
        }
    }
}

final class SparseTemporalStateTests: XCTestCase {
    /// Forward + backward rolls memory, LRU, index, links and precedence back bit for bit;
    /// `restoreFinalState` redoes the sequence exactly. The memory fills up and reuses cells, a
    /// sample is inactive at some steps, both indexes (the approximate one rebuilds).
    func testRollbackAndRestoreAreBitIdentical() {
        var s = TemporalHarness.Sizes()
        s.cells = 20; s.steps = 40; s.batch = 3; s.width = 4; s.links = 3
        SparseHarness.checkRollbackAndRestore(cells: s.cells, batch: s.batch, label: "SDNC") { index in
            TemporalHarness.make(s, index: index, seed: 21)
        }
    }

    /// The state comparison catches a missed undo of the link storage or the precedence.
    func testIdentityCatchesMissedLinkUndo() {
        let (memory, _) = TemporalHarness.make(TemporalHarness.Sizes(), seed: 3)
        var rng = CounterRandom(seed: 4).sequence(stream: 1)
        let state = memory.zeroState(batch: 1)
        _ = SparseHarness.forward(memory, inputs: MemoryHarness.randomTensor([8, 1, 4], &rng), state: state, tape: nil)
        let reference = state.copy()
        XCTAssertTrue(state.isIdentical(to: reference))
        let key = TemporalHarness.linkEntries(reference.samples[0]).first!.key
        let mutations: [(String, (SparseSampleMemory<Double>) -> Void)] = [
            ("link value", { TemporalHarness.setLink($0, key, TemporalHarness.linkEntries($0).first!.value.nextUp) }),
            ("link removed", { $0.links!.rowCount[key.row] -= 1 }),
            ("column", { $0.links!.columnCount[key.target] -= 1 }),
            ("precedence value", { $0.links!.precedenceValues[0] = $0.links!.precedenceValues[0].nextUp }),
            ("precedence cell", { $0.links!.precedenceCells[0] = -5 }),
        ]
        for (name, mutate) in mutations {
            let copy = reference.copy()
            mutate(copy.samples[0])
            XCTAssertFalse(copy.isIdentical(to: reference), "missed: \(name)")
        }
    }

    /// Invariants after every step of a long run: rows and columns mirror each other, at most
    /// K_L links per row and per column, no self-link, positive values; at most K_L precedence
    /// entries, positive; the forward and backward read slots hold distinct cells.
    func testLinkInvariants() {
        var s = TemporalHarness.Sizes()
        s.cells = 16; s.batch = 2; s.links = 3; s.heads = 2
        let (memory, _) = TemporalHarness.make(s, seed: 13, scale: 1.2)
        var rng = CounterRandom(seed: 14).sequence(stream: 1)
        let state = memory.zeroState(batch: s.batch)
        var sawFullRow = false
        for _ in 0..<60 {
            _ = SparseHarness.forward(memory, inputs: MemoryHarness.randomTensor([1, s.batch, s.input], &rng), state: state, tape: nil)
            for (b, m) in state.samples.enumerated() {
                let links = m.links!
                XCTAssertTrue(links.isConsistent(used: m.fresh))
                XCTAssertLessThanOrEqual(links.precedenceCells.count, s.links)
                XCTAssertTrue(links.precedenceValues.allSatisfy { $0 > 0 })
                XCTAssertEqual(Set(links.precedenceCells).count, links.precedenceCells.count)
                sawFullRow = sawFullRow || (0..<m.fresh).contains { links.row($0).count == s.links }
                let record = memory.lastStepDebugRecord(batchElement: b)
                for i in 0..<s.heads {
                    for range in [s.neighbours..<(s.neighbours + s.links), (s.neighbours + s.links)..<(s.neighbours + 2 * s.links)] {
                        let cells = range.map { Int(record.readPositions[i, $0]) }.filter { $0 >= 0 }
                        XCTAssertEqual(Set(cells).count, cells.count)
                    }
                }
            }
        }
        XCTAssertTrue(sawFullRow, "the run reaches the K_L cap")
    }

    /// With the exact index the forward and backward weightings equal a naive dense computation:
    /// L as an N×N matrix, f = L w and b = Lᵀ w over all cells for each head's previous read,
    /// cut to the K_L largest; the read vector equals Σ over all slots of mode × weight × row.
    func testDirectionalWeightsEqualNaiveDenseComputation() {
        var s = TemporalHarness.Sizes()
        s.cells = 14; s.batch = 2; s.links = 3; s.heads = 2; s.width = 4
        let (memory, _) = TemporalHarness.make(s, seed: 31, scale: 1.3)
        var rng = CounterRandom(seed: 32).sequence(stream: 1)
        let state = memory.zeroState(batch: s.batch)
        _ = SparseHarness.forward(memory, inputs: MemoryHarness.randomTensor([11, s.batch, s.input], &rng), state: state, tape: nil)
        let previous = state.copy()
        let reads = SparseHarness.forward(memory, inputs: MemoryHarness.randomTensor([1, s.batch, s.input], &rng), state: state, tape: nil)
        let ch = memory.slotsPerHead
        var checked = 0
        for b in 0..<s.batch {
            let m = state.samples[b], record = memory.lastStepDebugRecord(batchElement: b)
            var dense = [[Double]](repeating: [Double](repeating: 0, count: s.cells), count: s.cells)
            for i in 0..<m.fresh { for (j, v) in m.links!.row(i) { dense[i][j] = v } }
            for i in 0..<s.heads {
                let prior = previous.samples[b]
                var f = [Double](repeating: 0, count: s.cells), bw = f
                for slot in (i * ch)..<((i + 1) * ch) {
                    let c = prior.previousReadPositions[slot], w = prior.previousReadWeights[slot]
                    guard c >= 0 else { continue }
                    for n in 0..<s.cells { f[n] += dense[n][c] * w; bw[n] += dense[c][n] * w }
                }
                for (direction, scores) in [f, bw].enumerated() {
                    let expected = (0..<s.cells).filter { scores[$0] > 0 }
                        .sorted { scores[$0] > scores[$1] || (scores[$0] == scores[$1] && $0 < $1) }.prefix(s.links)
                    let offset = s.neighbours + direction * s.links
                    let got = (0..<s.links).map { Int(record.readPositions[i, offset + $0]) }.filter { $0 >= 0 }
                    XCTAssertEqual(got, Array(expected), "head \(i) direction \(direction)")
                    let mode = record.readModes![i, 1 - direction]
                    for (j, c) in got.enumerated() {
                        XCTAssertEqual(record.readWeights[i, offset + j], mode * scores[c], accuracy: 1e-12)
                    }
                    checked += got.count
                }
                for e in 0..<s.width {
                    var naive = 0.0
                    for slot in 0..<ch where record.readPositions[i, slot] >= 0 {
                        naive += record.readWeights[i, slot] * m.row(Int(record.readPositions[i, slot]))[e]
                    }
                    XCTAssertEqual(reads[0, b, i * s.width + e], naive, accuracy: 1e-12)
                }
            }
        }
        XCTAssertGreaterThan(checked, 0, "some temporal slots were filled")
    }

    /// Writes in sequence are linked in order: after writing a run of fresh cells with the write
    /// gate open and interpolation closed, each written cell's strongest predecessor is the cell
    /// written one step before.
    func testLinksRecordWriteOrder() {
        var s = TemporalHarness.Sizes()
        s.batch = 1; s.cells = 12; s.heads = 1; s.links = 2
        let (memory, store) = TemporalHarness.make(s, seed: 41)
        // γ → 0 (write to the LRA cell only), α → 1.
        let bias = store.slot(named: "mem.interface_weights.bias")!
        var b = store.tensor(bias)
        b[memory.layout.interpolationGate] = -30
        b[memory.layout.writeGate] = 30
        store.set(bias, to: b)
        var rng = CounterRandom(seed: 42).sequence(stream: 1)
        let state = memory.zeroState(batch: 1)
        _ = SparseHarness.forward(memory, inputs: MemoryHarness.randomTensor([6, 1, s.input], &rng, scale: 0.1), state: state, tape: nil)
        let links = state.samples[0].links!
        for cell in 1..<6 {
            let strongest = links.row(cell).max { $0.value < $1.value }
            XCTAssertEqual(strongest?.cell, cell - 1, "cell \(cell) follows cell \(cell - 1)")
            XCTAssertEqual(strongest?.value ?? 0, 1, accuracy: 1e-9)
        }
        XCTAssertEqual(links.precedenceCells.first, 5)
    }
}

/// The SDNC's work per step counted, not timed, at N = 1 000 and N = 100 000 (memory preloaded
/// full, links forming during the run): rows written, LRU operations, link-storage changes,
/// the per-step log and the link gradients are bounded by constants in R, K and K_L and do not
/// grow with N; index entries visited per query are N for the exact scan and sublinear for the
/// approximate index.
final class SparseTemporalWorkTests: XCTestCase {
    struct Work {
        var rowsWritten = 0, listOperations = 0, linkChanges = 0, logged = 0, linkGradients = 0
        var visitsPerQuery = 0.0
    }

    func run(cells: Int, index: SparseIndexKind) -> Work {
        var s = TemporalHarness.Sizes()
        s.cells = cells; s.batch = 1; s.width = 8; s.heads = 2; s.neighbours = 4; s.links = 4; s.steps = 30
        let (memory, store) = TemporalHarness.make(s, index: index, seed: 31, scale: 0.5)
        var run = SparseHarness.forwardOnFullMemory(memory, cells: cells, steps: s.steps)
        let state = run.state, tape = run.tape, m = state.samples[0]
        var work = Work(rowsWritten: run.rowsWritten, listOperations: run.listOperations)
        work.visitsPerQuery = Double(run.entriesVisited) / Double(s.steps * s.heads)
        let writes = memory.maximumWrites, kl = s.links
        for t in 0..<s.steps {
            let r = tape.temporalRecord(t).samples[0]
            let changes = r.journal.integers.count + r.journal.reals.count
            XCTAssertLessThanOrEqual(changes, writes * (16 * kl + 2), "step \(t): link changes bounded")
            work.linkChanges += changes
            let logged = r.oldRows.count + r.newRows.count + r.linkCells.count + r.linkOld.count + r.positions.count
                + r.weights.count + r.scores.count + r.moves.count + r.writeCells.count
            XCTAssertLessThanOrEqual(logged, writes * (2 * s.width + 4 * kl + 8) + 3 * memory.readSlots, "step \(t): log bounded")
            work.logged += logged
        }
        XCTAssertGreaterThan(work.linkChanges, 0)
        store.zeroGradients()
        var final = memory.zeroStateGradient(batch: 1)
        TemporalHarness.addTemporalGradient(&final, state)
        // The links present at the end (each carries a gradient into the backward).
        work.linkGradients = final.samples[0].links.count
        XCTAssertGreaterThan(work.linkGradients, 0)
        _ = SparseHarness.backward(memory, tape: tape, readGradients: MemoryHarness.randomTensor(run.reads.shape, &run.random), final: final)
        XCTAssertEqual(m.rowsRestored, work.rowsWritten)
        XCTAssertLessThanOrEqual(work.rowsWritten, s.steps * writes)
        XCTAssertLessThanOrEqual(work.listOperations, 2 * s.steps * (2 * memory.readSlots + 1))
        XCTAssertLessThanOrEqual(work.linkGradients, s.steps * writes * kl)
        return work
    }

    func testNoPerStepCostInN() {
        let small = run(cells: 1_000, index: .exact), large = run(cells: 100_000, index: .exact)
        print("SDNC exact: N=1k \(small), N=100k \(large)")
        XCTAssertEqual(small.visitsPerQuery, 1_000)
        XCTAssertEqual(large.visitsPerQuery, 100_000)
        let smallA = run(cells: 1_000, index: .approximate), largeA = run(cells: 100_000, index: .approximate)
        print("SDNC approximate: N=1k \(smallA), N=100k \(largeA)")
        XCTAssertLessThan(largeA.visitsPerQuery / smallA.visitsPerQuery, 20, "sublinear: far below the 100× of N")
        for (a, b) in [(small, large), (smallA, largeA)] {
            for (x, y) in [(a.rowsWritten, b.rowsWritten), (a.listOperations, b.listOperations),
                           (a.linkChanges, b.linkChanges), (a.logged, b.logged), (a.linkGradients, b.linkGradients)] {
                XCTAssertLessThanOrEqual(Double(y), 1.5 * Double(x))
            }
        }
    }
}
