import XCTest
import TestSupport
import DNCNumerics
import DNCStorage
import DNCLayers
import DNCMemories
@testable import DNCModels

/// The whole DNC against pytorch-dnc in float64 (`dnc_forward_*.h5`), with the compatibility
/// preset: outputs, final controller and memory state, read vectors, loss and every gradient,
/// from the zero memory (PyTorch's tie order given) and from `nonzero_start/` (our own sort).
final class DNCParityTests: XCTestCase {
    func testEveryDNCFixture() throws {
        // Fails (does not skip) when the shipped fixture is missing: see Tests/Fixtures/README.md.
        let files = try Fixtures.required(prefix: "dnc_forward_")
        for path in files {
            let file = try HDF5File(path: path)
            try check(file, group: "", name: URL(fileURLWithPath: path).lastPathComponent, useFixtureOrder: true)
            if try file.exists("nonzero_start") {
                try check(file, group: "nonzero_start/", name: URL(fileURLWithPath: path).lastPathComponent + " nonzero_start",
                          useFixtureOrder: false)
            }
        }
    }

    static func memoryState(_ file: HDF5File, _ group: String) throws -> DenseMemoryState<Double> {
        func read(_ key: String) throws -> Tensor<Double> { try file.readTensor("\(group)/\(key)", as: Double.self) }
        let link = try read("link_matrix"), precedence = try read("precedence"), write = try read("write_weights")
        return DenseMemoryState(memory: try read("memory"),
                                linkMatrix: link.reshaped([link.shape[0], link.shape[2], link.shape[3]]),
                                precedence: precedence.reshaped([precedence.shape[0], precedence.shape[2]]),
                                readWeights: try read("read_weights"),
                                writeWeights: write.reshaped([write.shape[0], write.shape[2]]),
                                usage: try read("usage_vector"))
    }

    func check(_ file: HDF5File, group: String, name: String, useFixtureOrder: Bool) throws {
        var c = DNCConfiguration(inputSize: try file.readAttribute("input_size", as: Int.self),
                                 hiddenSize: try file.readAttribute("hidden_size", as: Int.self))
        c.cell = RecurrentCellKind(rnnType: try file.readAttribute("rnn_type", as: String.self))!
        c.layerCount = try file.readAttribute("num_layers", as: Int.self)
        c.controllerDepth = try file.readAttribute("num_hidden_layers", as: Int.self)
        c.cellCount = try file.readAttribute("nr_cells", as: Int.self)
        c.cellWidth = try file.readAttribute("cell_size", as: Int.self)
        c.readHeads = try file.readAttribute("read_heads", as: Int.self)
        c.independentLinears = try file.readAttribute("independent_linears", as: Int.self) != 0
        c.shareMemoryBetweenLayers = try file.readAttribute("share_memory_between_layers", as: Int.self) != 0
        c.controllerOutputClip = try file.readAttribute("clip", as: Double.self)
        c.batchFirst = try file.readAttribute("batch_first", as: Int.self) != 0
        c.preset = .pytorchCompat
        let model = DNC<Double>(c)
        for slot in model.store.slots { model.store.set(slot, to: try file.readTensor("params/\(slot.name)", as: Double.self)) }
        XCTAssertEqual(Set(model.store.slots.map(\.name)), Set(try file.children(of: "params")), "\(name): parameter names")

        let controller = RecurrentState(hidden: try file.readTensor("inputs/controller_h0", as: Double.self),
                                        cell: try file.readTensor("inputs/controller_c0", as: Double.self))
        let initial = DNCState(controllers: Array(repeating: controller, count: c.layerCount),
                               memories: [try Self.memoryState(file, "\(group)inputs/memory_initial")],
                               lastRead: try file.readTensor("inputs/last_read0", as: Double.self))
        let freeList = try file.readInts("\(group)steps/free_list")
        let n = c.cellCount, batch = initial.batch
        let order: ((Int, Int) -> [[Int]]?)? = useFixtureOrder ? { t, layer in
            let step = t * c.layerCount + layer
            return (0..<batch).map { b in (0..<n).map { Int(freeList.values[(step * batch + b) * n + $0]) } }
        } : nil

        let x = try file.readTensor("inputs/x", as: Double.self)
        model.store.zeroGradients()
        let result = model.forward(x, state: initial, allocationOrder: order)
        assertClose(result.output, try file.readTensor("\(group)outputs/output", as: Double.self), rtol: 1e-10, "\(name) output")
        assertClose(result.state.controllers[0].hidden, try file.readTensor("\(group)outputs/controller_h_n", as: Double.self), rtol: 1e-10, "\(name) h_n")
        assertClose(result.state.controllers[0].cell!, try file.readTensor("\(group)outputs/controller_c_n", as: Double.self), rtol: 1e-10, "\(name) c_n")
        assertClose(result.state.lastRead, try file.readTensor("\(group)outputs/read_vectors_last", as: Double.self), rtol: 1e-10, "\(name) last read")
        let final = try Self.memoryState(file, "\(group)outputs/memory_final")
        let ours = result.state.dense[0]
        assertClose(ours.memory, final.memory, rtol: 1e-10, "\(name) memory")
        assertClose(ours.linkMatrix, final.linkMatrix, rtol: 1e-10, "\(name) link matrix")
        assertClose(ours.precedence, final.precedence, rtol: 1e-10, "\(name) precedence")
        assertClose(ours.readWeights, final.readWeights, rtol: 1e-10, "\(name) read weights")
        assertClose(ours.writeWeights, final.writeWeights, rtol: 1e-10, "\(name) write weights")
        assertClose(ours.usage, final.usage, rtol: 1e-10, "\(name) usage")

        let weights = try file.readTensor("loss/weights", as: Double.self)
        let loss = zip(result.output.storage, weights.storage).reduce(0) { $0 + $1.0 * $1.1 }
        let expectedLoss = try file.readTensor("\(group)loss/value", as: Double.self)[flat: 0]
        XCTAssertEqual(loss, expectedLoss, accuracy: 1e-10 * abs(expectedLoss), "\(name) loss")

        let gradients = model.backward(outputGradient: weights)
        assertClose(gradients.input, try file.readTensor("\(group)grads/x", as: Double.self), rtol: 1e-8, "\(name) grads/x")
        for slot in model.store.slots {
            assertClose(model.store.gradientTensor(slot), try file.readTensor("\(group)grads/params/\(slot.name)", as: Double.self),
                        rtol: 1e-8, "\(name) grads/params/\(slot.name)")
        }
    }
}

/// Element-wise |a − b| ≤ rtol·|b| + 1e-13.
func assertClose(_ actual: Tensor<Double>, _ expected: Tensor<Double>, rtol: Double, _ label: String,
                 file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(actual.count, expected.count, "\(label): size \(actual.shape) vs \(expected.shape)", file: file, line: line)
    guard actual.count == expected.count else { return }
    var worst = 0.0, index = 0
    for i in 0..<actual.count {
        let excess = abs(actual[flat: i] - expected[flat: i]) / (rtol * abs(expected[flat: i]) + 1e-13)
        if excess > worst || excess.isNaN { worst = excess.isNaN ? .infinity : excess; index = i }
    }
    XCTAssertLessThanOrEqual(worst, 1, "\(label): element \(index) is \(actual[flat: index]), expected \(expected[flat: index])",
                             file: file, line: line)
}
