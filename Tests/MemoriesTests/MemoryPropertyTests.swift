import XCTest
import DNCNumerics
import DNCLayers
@testable import DNCMemories

/// The properties of docs/dense-memory.md, "Properties the tests check" (after DeepMind's addressing tests), on the mechanisms and on
/// whole steps, plus the stable tie order of the free list.
final class MemoryPropertyTests: XCTestCase {
    // MARK: Allocation

    func testAllocationFavoursTheLeastUsedCell() {
        let n = 7
        var rng = CounterRandom(seed: 3).sequence(stream: 0)
        for _ in 0..<20 {
            let usage = (0..<n).map { _ in rng.nextUniform() }
            let a = allocation(usage)
            XCTAssertEqual(argmax(a), argmin(usage))
            XCTAssertEqual(argmin(a), argmax(usage))
            // Σa = 1 − Π û.
            let product = usage.map { 1e-6 + (1 - 1e-6) * $0 }.reduce(1, *)
            XCTAssertEqual(a.reduce(0, +), 1 - product, accuracy: 1e-12)
        }
        // With one free cell the allocation is (almost) one-hot on it.
        var usage = [Double](repeating: 1, count: n)
        usage[4] = 0
        let a = allocation(usage)
        XCTAssertEqual(a[4], 1 - 1e-6, accuracy: 1e-12)
        XCTAssertEqual(a.reduce(0, +), 1, accuracy: 1e-5)
    }

    func testStableTieOrder() {
        // All-zero usage: φ = 0, 1, …, N−1, so the first allocation goes to cell 0.
        let n = 6
        var order = [Int](repeating: -1, count: n), scratch = [Int](repeating: 0, count: n)
        let zero = [Double](repeating: 0, count: n)
        Allocation.stableAscendingOrder(zero, count: n, order: &order, scratch: &scratch)
        XCTAssertEqual(order, Array(0..<n))
        XCTAssertEqual(argmax(allocation(zero)), 0)
        // Ties among equal values keep index order, also when mixed with other values.
        let values: [Double] = [0.5, 0.2, 0.5, 0.2, 0.9, 0.2, 0.5]
        var order7 = [Int](repeating: -1, count: 7), scratch7 = [Int](repeating: 0, count: 7)
        Allocation.stableAscendingOrder(values, count: 7, order: &order7, scratch: &scratch7)
        XCTAssertEqual(order7, [1, 3, 5, 0, 2, 6, 4])
        // Matches a stable sort on random inputs with many ties, for every size up to 40.
        var rng = CounterRandom(seed: 4).sequence(stream: 0)
        for size in 1...40 {
            let v = (0..<size).map { _ in Double(Int(rng.nextUniform() * 4)) }
            var o = [Int](repeating: -1, count: size), sc = [Int](repeating: 0, count: size)
            Allocation.stableAscendingOrder(v, count: size, order: &o, scratch: &sc)
            XCTAssertEqual(o, Array(0..<size).sorted { (v[$0], $0) < (v[$1], $1) })
        }
    }

    /// From the zero state, with write gate and allocation gate open, the first write goes to
    /// cell 0 (stable tie order) and every later write goes to the least-used cell; the link
    /// matrix records the order. (The later order is not 1, 2, …: after the first step the usage
    /// is the first allocation, `u_j ≈ ε^j` along the sort order, so in Double the last cell is
    /// the least used. In Float some of those usages round to ties.)
    func testWritesFromZeroStateGoToTheLeastUsedCell() {
        for options in [MemoryOptions.paper, .pytorchCompat] {
            let (memory, layout) = identityMemory(options: options, cells: 5, width: 3, heads: 2)
            var state = memory.zeroState(batch: 1)
            let targets = writeSequence(memory, layout, &state, steps: 4, label: "\(options)")
            XCTAssertEqual(targets.first, 0, "all-zero usage allocates cell 0 first")
            XCTAssertEqual(Set(targets).count, 4, "\(options) writes \(targets)")
            let link = memory.lastStepDebugRecord(batchElement: 0).linkMatrix
            for k in 0..<3 {
                XCTAssertGreaterThan(link[targets[k + 1], targets[k]], 0.98, "\(options) L[\(targets[k + 1]), \(targets[k])]")
                XCTAssertLessThan(link[targets[k], targets[k + 1]], 0.01)
            }
        }
    }

    /// Steps with the write and allocation gates open and no freeing; returns the cell each
    /// step wrote to, after checking that it is the least-used cell of that step.
    func writeSequence(_ memory: DenseMemory<Double>, _ layout: InterfaceLayout, _ state: inout DenseMemoryState<Double>,
                       steps: Int, label: String) -> [Int] {
        var raw = [Double](repeating: 0, count: layout.size)
        raw[layout.writeGate] = 50
        raw[layout.allocationGate] = 50
        for i in 0..<memory.readHeads { raw[layout.freeGates + i] = -50 }
        var reads = [Double](repeating: 0, count: memory.readHeads * memory.cellWidth)
        var targets: [Int] = []
        for t in 0..<steps {
            memory.step(input: raw, batch: 1, state: &state, tape: nil, readVectors: &reads)
            let debug = memory.lastStepDebugRecord(batchElement: 0)
            let ww = debug.writeWeights.storage, usage = debug.usageVector.storage
            let target = argmax(ww)
            XCTAssertGreaterThan(ww[target], 0.99, "\(label) step \(t): \(ww)")
            XCTAssertEqual(argmax(debug.allocationWeights.storage), target)
            XCTAssertEqual(usage[target], usage.min(), "\(label) step \(t): wrote \(target), usage \(usage)")
            targets.append(target)
        }
        return targets
    }

    // MARK: Usage

    func testUsageFullWriteAndFullFree() {
        let n = 4, r = 2
        var retention = [Double](repeating: 0, count: n), newUsage = retention
        // A full write at cell 2 makes its usage 1 (no freeing).
        var writeWeights = [Double](repeating: 0, count: n)
        writeWeights[2] = 1
        let usage: [Double] = [0.3, 0.1, 0.2, 0.7]
        var readWeights = [Double](repeating: 0, count: r * n)
        Allocation.usageForward(usage: usage, writeWeights: writeWeights, readWeights: readWeights, freeGates: [0, 0],
                                cells: n, readHeads: r, retention: &retention, newUsage: &newUsage)
        XCTAssertEqual(newUsage, [0.3, 0.1, 1, 0.7])
        // A full read of cell 3 by head 1 with free gate 1 makes its usage 0.
        readWeights[1 * n + 3] = 1
        Allocation.usageForward(usage: usage, writeWeights: [Double](repeating: 0, count: n), readWeights: readWeights,
                                freeGates: [0.5, 1], cells: n, readHeads: r, retention: &retention, newUsage: &newUsage)
        XCTAssertEqual(newUsage, [0.3, 0.1, 0.2, 0])
    }

    // MARK: Temporal links

    /// Writes one-hot to cells 0, then 1, then 2 and checks links, precedence and directions.
    func testLinksFollowTheWriteOrder() {
        let n = 4
        var link = [Double](repeating: 0, count: n * n), precedence = [Double](repeating: 0, count: n)
        func write(_ cell: Int) {
            var w = [Double](repeating: 0, count: n)
            w[cell] = 1
            TemporalLinkage.linkForward(link: &link, writeWeights: w, precedence: precedence, cells: n)
            TemporalLinkage.precedenceForward(precedence: &precedence, writeWeights: w, cells: n)
        }
        write(0)
        XCTAssertEqual(precedence, [1, 0, 0, 0], "a full write replaces the precedence")
        write(1)
        XCTAssertEqual((0..<n).map { link[$0 * n + 0] }, [0, 1, 0, 0], "column 0 = one-hot(1)")
        // No write leaves the precedence unchanged.
        let before = precedence
        TemporalLinkage.precedenceForward(precedence: &precedence, writeWeights: [0, 0, 0, 0], cells: n)
        XCTAssertEqual(precedence, before)
        write(2)
        for i in 0..<n { XCTAssertEqual(link[i * n + i], 0) }
        // Forward from a one-hot read at 0 is one-hot(1); backward from one-hot at 2 is one-hot(1).
        var forward = [Double](repeating: 0, count: 2 * n), backward = forward
        let reads: [Double] = [1, 0, 0, 0, /* head 1 */ 0, 0, 1, 0]
        TemporalLinkage.directionalForward(link: link, readWeights: reads, cells: n, readHeads: 2,
                                           forward: &forward, backward: &backward)
        XCTAssertEqual(Array(forward[0..<n]), [0, 1, 0, 0])
        XCTAssertEqual(Array(backward[n..<(2 * n)]), [0, 1, 0, 0])
        XCTAssertEqual(Array(forward[n..<(2 * n)]), [0, 0, 0, 0], "nothing was written after cell 2")
        XCTAssertEqual(Array(backward[0..<n]), [0, 0, 0, 0], "nothing was written before cell 0")
    }

    /// Whole steps: after three writes, a head placed on the first written cell walks the
    /// sequence with the forward mode; one placed on the last walks it back with the backward mode.
    func testReadModesWalkTheWrittenSequence() {
        for mode in [1, 0] {
            let (memory, layout) = identityMemory(options: .paper, cells: 5, width: 3, heads: 1)
            var state = memory.zeroState(batch: 1)
            let targets = writeSequence(memory, layout, &state, steps: 3, label: "mode \(mode)")
            let path = mode == 1 ? targets : targets.reversed()
            // Now only read: no write, the head one-hot on the path's start, the chosen mode.
            var start = [Double](repeating: 0, count: 5)
            start[path[0]] = 1
            state.readWeights = Tensor(shape: [1, 1, 5], storage: start)
            var raw = [Double](repeating: 0, count: layout.size)
            raw[layout.writeGate] = -50
            raw[layout.readModes + mode] = 50
            var reads = [Double](repeating: 0, count: 3)
            for expected in path.dropFirst() {
                memory.step(input: raw, batch: 1, state: &state, tape: nil, readVectors: &reads)
                XCTAssertEqual(argmax(state.readWeights.storage), expected, "mode \(mode)")
                XCTAssertGreaterThan(state.readWeights.storage[expected], 0.97)
                // The read vector is the memory row under the head.
                for j in 0..<3 { XCTAssertEqual(reads[j], state.memory[0, expected, j], accuracy: 0.05) }
            }
        }
    }

    // MARK: Content addressing

    func testContentWeightingAtZeroMemoryIsUniformAndFinite() {
        for style in [MemoryOptions.CosineStyle.deepMind, .pytorchDNC] {
            let n = 4, w = 3
            let memory = [Double](repeating: 0, count: n * w)
            for key in [[0.0, 0, 0], [0.3, -1, 2]] {
                var norms = [Double](repeating: 0, count: n), keyNorm = [0.0]
                var cos = [Double](repeating: 0, count: n), weights = cos
                ContentAddressing.norms(memory, rows: n, width: w, style: style, out: &norms)
                ContentAddressing.norms(key, rows: 1, width: w, style: style, out: &keyNorm)
                ContentAddressing.forward(memory: memory, memoryNorms: norms, keys: key, keyNorms: keyNorm, strengths: [5],
                                          cells: n, width: w, keyCount: 1, cosine: &cos, weights: &weights)
                for v in weights { XCTAssertEqual(v, 0.25, accuracy: 1e-15) }
                var dWeights: [Double] = [1, -2, 3, 0.5], dM = [Double](repeating: 0, count: n * w)
                var dK = [0.0, 0, 0], dBeta = [0.0], scratch = [Double](repeating: 0, count: n + n + 1)
                ContentAddressing.backward(memory: memory, memoryNorms: norms, keys: key, keyNorms: keyNorm, strengths: [5],
                                           cosine: cos, weights: weights, cells: n, width: w, keyCount: 1,
                                           weightsGradient: &dWeights, memoryGradient: &dM, keysGradient: &dK,
                                           strengthsGradient: &dBeta, scratch: &scratch)
                MemoryHarness.assertFinite(dM + dK + dBeta, "\(style) key \(key)")
            }
        }
    }

    /// The cosine of a memory row with itself is ≈ 1 and the strongest key wins.
    func testContentWeightingFindsTheMatchingRow() {
        let memoryRows: [Double] = [1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 1, 0]
        for style in [MemoryOptions.CosineStyle.deepMind, .pytorchDNC] {
            var norms = [Double](repeating: 0, count: 4), keyNorm = [0.0]
            var cos = [Double](repeating: 0, count: 4), weights = cos
            let key: [Double] = [0, 2, 0]
            ContentAddressing.norms(memoryRows, rows: 4, width: 3, style: style, out: &norms)
            ContentAddressing.norms(key, rows: 1, width: 3, style: style, out: &keyNorm)
            ContentAddressing.forward(memory: memoryRows, memoryNorms: norms, keys: key, keyNorms: keyNorm, strengths: [50],
                                      cells: 4, width: 3, keyCount: 1, cosine: &cos, weights: &weights)
            XCTAssertEqual(cos[1], 1, accuracy: 1e-5)
            XCTAssertEqual(cos[3], 1 / 2.0.squareRoot(), accuracy: 1e-5)
            XCTAssertEqual(argmax(weights), 1)
            XCTAssertGreaterThan(weights[1], 0.99)
        }
    }

    // MARK: Interface

    func testInterfaceLayoutAndActivations() {
        let layout = InterfaceLayout(cellWidth: 10, readHeads: 4)
        XCTAssertEqual(layout.size, 93)
        XCTAssertEqual(layout.fieldBlocks.map(\.length), [40, 4, 10, 1, 10, 10, 4, 1, 1, 12])
        XCTAssertEqual(layout.fieldBlocks.map(\.offset), [0, 40, 44, 54, 55, 65, 75, 79, 80, 81])
        let raw = (0..<93).map { Double($0 % 7) - 3 }
        var paper = [Double](repeating: 0, count: 93), compat = paper
        layout.activate(raw: raw, out: &paper, options: .paper)
        layout.activate(raw: raw, out: &compat, options: .pytorchCompat)
        XCTAssertEqual(paper[0], raw[0], "paper keys are linear")
        XCTAssertEqual(compat[0], Foundation.tanh(raw[0]), accuracy: 1e-15)
        XCTAssertEqual(paper[40], 1 + Foundation.log1p(Foundation.exp(raw[40])), accuracy: 1e-15, "oneplus")
        XCTAssertEqual(compat[40], Foundation.log1p(Foundation.exp(raw[40])), accuracy: 1e-15, "softplus")
        XCTAssertEqual(paper[55], 1 / (1 + Foundation.exp(-raw[55])), accuracy: 1e-15)
        for h in 0..<4 { XCTAssertEqual(paper[81 + 3 * h] + paper[82 + 3 * h] + paper[83 + 3 * h], 1, accuracy: 1e-15) }
        // Above PyTorch's threshold softplus is the identity.
        var big = raw, out = paper
        big[40] = 25
        layout.activate(raw: big, out: &out, options: .pytorchCompat)
        XCTAssertEqual(out[40], 25)
    }

    func testParameterNames() {
        let store = ParameterStore<Float>()
        _ = DenseMemory(store: store, prefix: "rnn_layer_memory_shared.", inputSize: 6, cellCount: 4, cellWidth: 3,
                        readHeads: 2)
        XCTAssertEqual(store.slots.map(\.name), ["rnn_layer_memory_shared.interface_weights.weight",
                                                 "rnn_layer_memory_shared.interface_weights.bias"])
        XCTAssertEqual(store.slots[0].shape, [2 * 3 + 9 + 10 + 3, 6])
        let independent = ParameterStore<Float>()
        let memory = DenseMemory(store: independent, prefix: "m.", inputSize: 6, cellCount: 4, cellWidth: 3, readHeads: 2,
                                 independentLinears: true)
        let names = ["read_keys_transform", "read_strengths_transform", "write_key_transform", "write_strength_transform",
                     "erase_vector_transform", "write_vector_transform", "free_gates_transform",
                     "allocation_gate_transform", "write_gate_transform", "read_modes_transform"]
        XCTAssertEqual(independent.slots.map(\.name), names.flatMap { ["m.\($0).weight", "m.\($0).bias"] })
        XCTAssertEqual(independent.slots.filter { $0.name.hasSuffix(".bias") }.map(\.count), [6, 2, 3, 1, 3, 3, 2, 1, 1, 6])
        memory.initializeDefault(random: CounterRandom(seed: 1), stream: 2)
        let bound = Float((6.0 / 6).squareRoot())
        XCTAssertTrue(independent.flatValues.allSatisfy { abs($0) <= bound })
        XCTAssertTrue(independent.flatValues.contains { $0 != 0 })
    }

    // MARK: Helpers

    /// A memory whose interface layer is the identity, so the input is the raw interface ẑ.
    func identityMemory(options: MemoryOptions, cells: Int, width: Int, heads: Int)
        -> (DenseMemory<Double>, InterfaceLayout) {
        let layout = InterfaceLayout(cellWidth: width, readHeads: heads)
        let store = ParameterStore<Double>()
        let memory = DenseMemory(store: store, prefix: "", inputSize: layout.size, cellCount: cells, cellWidth: width,
                                 readHeads: heads, options: options)
        for i in 0..<layout.size { store.values(store.slots[0])[i * layout.size + i] = 1 }
        return (memory, layout)
    }

    func allocation(_ usage: [Double]) -> [Double] {
        let n = usage.count
        var order = [Int](repeating: 0, count: n), integers = order
        var sorted = [Double](repeating: 0, count: n), prefix = sorted, a = sorted, scratch = sorted
        Allocation.allocationForward(usage: usage, cells: n, givenOrder: nil, order: &order, sorted: &sorted,
                                     prefix: &prefix, allocation: &a, integerScratch: &integers, scratch: &scratch)
        return a
    }

    func argmax(_ x: [Double]) -> Int { x.indices.max { x[$0] < x[$1] }! }
    func argmin(_ x: [Double]) -> Int { x.indices.min { x[$0] < x[$1] }! }
}
