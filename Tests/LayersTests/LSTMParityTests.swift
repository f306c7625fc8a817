import XCTest
import TestSupport
import DNCNumerics
import DNCStorage
@testable import DNCLayers

/// Parity with `torch.nn.LSTM` in float64 (fixtures `lstm_*.h5`, read through DNCStorage):
/// outputs, final state, and every parameter, input and initial-state gradient.
final class LSTMParityTests: XCTestCase {
    func testEveryLSTMFixture() throws {
        // Fails (does not skip) when the shipped fixture is missing: see Tests/Fixtures/README.md.
        let files = try Fixtures.required(prefix: "lstm_")
        for path in files { try checkFixture(path) }
    }

    func checkFixture(_ path: String) throws {
        let file = try HDF5File(path: path)
        let name = URL(fileURLWithPath: path).lastPathComponent
        let inputSize = try file.readAttribute("input_size", as: Int.self)
        let hiddenSize = try file.readAttribute("hidden_size", as: Int.self)
        let layers = try file.readAttribute("num_layers", as: Int.self)
        let bias = try file.readAttribute("bias", as: Int.self) != 0
        XCTAssertEqual(try file.readAttribute("gate_order", as: String.self), "i,f,g,o", name)

        let store = ParameterStore<Double>()
        let stack = RecurrentStack(store: store, kind: .lstm, inputSize: inputSize, hiddenSize: hiddenSize,
                                   depth: layers, bias: bias)
        for slot in store.slots { store.set(slot, to: try file.readTensor("params/\(slot.name)", as: Double.self)) }
        let x = try file.readTensor("inputs/x", as: Double.self)
        let initial = RecurrentState(hidden: try file.readTensor("inputs/h0", as: Double.self),
                                     cell: try file.readTensor("inputs/c0", as: Double.self))

        let tape = RecurrentTape<Double>()
        var noDropout = CounterRandom(seed: 0).sequence(stream: 0)
        let (output, final) = stack.forward(x, from: initial, tape: tape, dropoutRandom: &noDropout)
        try assertClose(output, file.readTensor("outputs/output", as: Double.self), "\(name) output")
        try assertClose(final.hidden, file.readTensor("outputs/h_n", as: Double.self), "\(name) h_n")
        try assertClose(final.cell!, file.readTensor("outputs/c_n", as: Double.self), "\(name) c_n")

        store.zeroGradients()
        let finalGradient = RecurrentState(hidden: try file.readTensor("loss/weights_h_n", as: Double.self),
                                           cell: try file.readTensor("loss/weights_c_n", as: Double.self))
        let (dx, dInitial) = stack.backward(tape: tape, outputGradients: try file.readTensor("loss/weights_output", as: Double.self),
                                            finalStateGradient: finalGradient)
        try assertClose(dx, file.readTensor("grads/x", as: Double.self), "\(name) grads/x")
        try assertClose(dInitial.hidden, file.readTensor("grads/h0", as: Double.self), "\(name) grads/h0")
        try assertClose(dInitial.cell!, file.readTensor("grads/c0", as: Double.self), "\(name) grads/c0")
        for slot in store.slots {
            try assertClose(store.gradientTensor(slot), file.readTensor("grads/params/\(slot.name)", as: Double.self),
                            "\(name) grads/params/\(slot.name)")
        }
    }

    /// Element-wise |a − b| ≤ 1e-9·|b| + 1e-13 (the absolute term only matters for exact zeros).
    func assertClose(_ actual: Tensor<Double>, _ expected: Tensor<Double>, _ label: String,
                     file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(actual.shape, expected.shape, "\(label) shape", file: file, line: line)
        guard actual.shape == expected.shape else { return }
        var worst = 0.0, worstIndex = 0
        for i in 0..<actual.count {
            let excess = abs(actual[flat: i] - expected[flat: i]) / (1e-9 * abs(expected[flat: i]) + 1e-13)
            if excess > worst { worst = excess; worstIndex = i }
        }
        XCTAssertLessThanOrEqual(worst, 1, "\(label): element \(worstIndex) is \(actual[flat: worstIndex]), expected \(expected[flat: worstIndex])",
                                 file: file, line: line)
    }
}
