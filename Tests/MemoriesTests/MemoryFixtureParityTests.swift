import XCTest
import TestSupport
import DNCNumerics
import DNCLayers
import DNCStorage
@testable import DNCMemories

/// Parity with pytorch-dnc's `dnc/memory.py` in float64 (fixtures `memory_step_*.h5`): every
/// state tensor after every step, the read vectors, the interface activations, the
/// intermediates, the loss and all gradients, for the zero-start run (with PyTorch's tie order)
/// and the `nonzero_start/` run (with our own stable sort, which must reproduce the free list).
final class MemoryFixtureParityTests: XCTestCase {
    /// Worst |a − b| / |b| seen per category, reported at the end.
    var worstForward = 0.0, worstGradient = 0.0

    func testEveryMemoryStepFixture() throws {
        // Fails (does not skip) when the shipped fixture is missing: see Tests/Fixtures/README.md.
        let files = try Fixtures.required(prefix: "memory_step_")
        for path in files {
            try checkRun(path: path, group: "", givenOrder: true)
            try checkRun(path: path, group: "nonzero_start/", givenOrder: false)
        }
        print("memory_step parity: worst relative error forward \(worstForward), gradients \(worstGradient)")
    }

    func checkRun(path: String, group: String, givenOrder: Bool) throws {
        let file = try HDF5File(path: path)
        let name = URL(fileURLWithPath: path).lastPathComponent + (group.isEmpty ? " zero" : " nonzero")
        let batch = try file.readAttribute("batch", as: Int.self)
        let steps = try file.readAttribute("steps", as: Int.self)
        let inputSize = try file.readAttribute("input_size", as: Int.self)
        let n = try file.readAttribute("nr_cells", as: Int.self)
        let w = try file.readAttribute("cell_size", as: Int.self)
        let r = try file.readAttribute("read_heads", as: Int.self)
        XCTAssertEqual(try file.readAttribute("independent_linears", as: Int.self), 0)

        let store = ParameterStore<Double>()
        let memory = DenseMemory(store: store, prefix: "", inputSize: inputSize, cellCount: n, cellWidth: w,
                                 readHeads: r, independentLinears: false, options: .pytorchCompat)
        XCTAssertEqual(memory.interfaceSize, try file.readAttribute("interface_size", as: Int.self))
        for slot in store.slots { store.set(slot, to: try file.readTensor("params/\(slot.name)", as: Double.self)) }

        func read(_ dataset: String) throws -> Tensor<Double> { try file.readTensor(group + dataset, as: Double.self) }
        let xi = try file.readTensor("inputs/xi", as: Double.self)
        let lossWeights = try file.readTensor("loss/weights", as: Double.self).reshaped([steps, batch, r * w])
        let initial = DenseMemoryState(memory: try read("initial/memory"),
                                       linkMatrix: try read("initial/link_matrix").reshaped([batch, n, n]),
                                       precedence: try read("initial/precedence").reshaped([batch, n]),
                                       readWeights: try read("initial/read_weights"),
                                       writeWeights: try read("initial/write_weights").reshaped([batch, n]),
                                       usage: try read("initial/usage_vector"))
        let freeList = try file.readInts(group + "intermediates/free_list")
        XCTAssertEqual(freeList.shape, [steps, batch, n])
        let orders: [[[Int]]] = (0..<steps).map { t in
            (0..<batch).map { b in (0..<n).map { Int(freeList.values[(t * batch + b) * n + $0]) } }
        }

        // Forward, one step at a time, comparing the state after each step.
        let tape = DenseMemoryTape<Double>()
        var state = initial
        var reads = Tensor<Double>(shape: [steps, batch, r * w])
        let expected = (memory: try read("steps/memory"), link: try read("steps/link_matrix"),
                        precedence: try read("steps/precedence"), readWeights: try read("steps/read_weights"),
                        writeWeights: try read("steps/write_weights"), usage: try read("steps/usage_vector"),
                        reads: try read("steps/read_vectors"))
        let interfaceNames = ["read_keys", "read_strengths", "write_key", "write_strength", "erase_vector",
                              "write_vector", "free_gates", "allocation_gate", "write_gate", "read_modes"]
        let interfaceExpected = try interfaceNames.map { try read("interface/\($0)") }
        let intermediates = (write: try read("intermediates/write_content_weights"),
                             allocation: try read("intermediates/allocation_weights"),
                             readContent: try read("intermediates/read_content_weights"),
                             forward: try read("intermediates/forward_weights"),
                             backward: try read("intermediates/backward_weights"))
        for t in 0..<steps {
            let x = xi.slice(t)
            x.withUnsafeBufferPointer { xp in
                reads.withUnsafeMutableBufferPointer { rp in
                    memory.step(input: xp.baseAddress!, batch: batch, state: &state, tape: tape,
                                allocationOrder: givenOrder ? orders[t] : nil,
                                readVectors: rp.baseAddress! + t * batch * r * w)
                }
            }
            let label = "\(name) step \(t)"
            assertClose(reads.slice(t), expected.reads.slice(t).reshaped([batch, r * w]), rtol: 1e-10, "\(label) read_vectors")
            assertClose(state.memory, expected.memory.slice(t), rtol: 1e-10, "\(label) memory")
            assertClose(state.linkMatrix, expected.link.slice(t).reshaped([batch, n, n]), rtol: 1e-10, "\(label) link_matrix")
            assertClose(state.precedence, expected.precedence.slice(t).reshaped([batch, n]), rtol: 1e-10, "\(label) precedence")
            assertClose(state.readWeights, expected.readWeights.slice(t), rtol: 1e-10, "\(label) read_weights")
            assertClose(state.writeWeights, expected.writeWeights.slice(t).reshaped([batch, n]), rtol: 1e-10, "\(label) write_weights")
            assertClose(state.usage, expected.usage.slice(t), rtol: 1e-10, "\(label) usage_vector")

            // Interface activations and intermediates, from the tape.
            let recorded = memory.recordedStep(tape: tape, step: t)
            let blocks = memory.layout.fieldBlocks
            for (k, fieldName) in interfaceNames.enumerated() {
                var field = Tensor<Double>(shape: [batch, blocks[k].length])
                for b in 0..<batch {
                    for j in 0..<blocks[k].length { field[b, j] = recorded.interface[b, blocks[k].offset + j] }
                }
                assertClose(field, interfaceExpected[k].slice(t).reshaped([batch, blocks[k].length]), rtol: 1e-10,
                            "\(label) interface/\(fieldName)")
            }
            assertClose(recorded.writeContent, intermediates.write.slice(t).reshaped([batch, n]), rtol: 1e-10,
                        "\(label) write_content_weights")
            assertClose(recorded.allocation, intermediates.allocation.slice(t).reshaped([batch, n]), rtol: 1e-10,
                        "\(label) allocation_weights")
            assertClose(recorded.readContent, intermediates.readContent.slice(t), rtol: 1e-10, "\(label) read_content_weights")
            assertClose(recorded.forward, intermediates.forward.slice(t), rtol: 1e-10, "\(label) forward_weights")
            assertClose(recorded.backward, intermediates.backward.slice(t), rtol: 1e-10, "\(label) backward_weights")
            XCTAssertEqual(recorded.freeList, orders[t], "\(label) free_list")

            // The debug record of every batch element agrees with the state.
            for b in 0..<batch {
                let debug = memory.lastStepDebugRecord(batchElement: b)
                XCTAssertEqual(debug.memory, state.memory.slice(b), "\(label) debug memory")
                XCTAssertEqual(debug.linkMatrix, state.linkMatrix.slice(b), "\(label) debug link")
                XCTAssertEqual(debug.precedence.storage, state.precedence.slice(b).storage, "\(label) debug precedence")
                XCTAssertEqual(debug.usageVector.storage, state.usage.slice(b).storage, "\(label) debug usage")
                XCTAssertEqual(debug.allocationWeights.storage, recorded.allocation.slice(b).storage, "\(label) debug allocation")
                XCTAssertEqual(debug.fields.map(\.key), ["memory", "link_matrix", "precedence", "read_weights",
                                                          "write_weights", "usage_vector", "allocation_weights",
                                                          "read_modes", "write_gate", "free_gates"])
            }
        }

        // Loss and gradients.
        let loss = MemoryHarness.dot(reads, lossWeights)
        let expectedLoss = try read("loss/value").storage[0]
        XCTAssertLessThanOrEqual(abs(loss - expectedLoss), 1e-10 * abs(expectedLoss) + 1e-13, "\(name) loss \(loss) vs \(expectedLoss)")
        worstForward = max(worstForward, abs(loss - expectedLoss) / abs(expectedLoss))

        store.zeroGradients()
        let (dInputs, _) = MemoryHarness.backward(memory, tape: tape, readGradients: lossWeights,
                                                  finalStateGradient: memory.zeroState(batch: batch))
        assertClose(dInputs, try read("grads/xi"), rtol: 1e-8, "\(name) grads/xi", gradient: true)
        for slot in store.slots {
            assertClose(store.gradientTensor(slot), try read("grads/params/\(slot.name)"), rtol: 1e-8,
                        "\(name) grads/params/\(slot.name)", gradient: true)
        }
    }

    /// Element-wise |a − b| ≤ rtol·|b| + 1e-13 (the absolute term only matters for exact zeros).
    func assertClose(_ actual: Tensor<Double>, _ expected: Tensor<Double>, rtol: Double, _ label: String,
                     gradient: Bool = false, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(actual.shape, expected.shape, "\(label) shape", file: file, line: line)
        guard actual.shape == expected.shape else { return }
        var worst = 0.0, worstIndex = 0
        for i in 0..<actual.count {
            let a = actual[flat: i], b = expected[flat: i]
            let excess = abs(a - b) / (rtol * abs(b) + 1e-13)
            if excess > worst || excess.isNaN { worst = excess.isNaN ? .infinity : excess; worstIndex = i }
            if b != 0 {
                let relative = abs(a - b) / abs(b)
                if gradient { worstGradient = max(worstGradient, relative) } else { worstForward = max(worstForward, relative) }
            }
        }
        XCTAssertLessThanOrEqual(worst, 1, "\(label): element \(worstIndex) is \(actual[flat: worstIndex]), expected \(expected[flat: worstIndex])",
                                 file: file, line: line)
    }
}
