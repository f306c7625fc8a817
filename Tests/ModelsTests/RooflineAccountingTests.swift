import XCTest
import DNCNumerics
import DNCLayers
import DNCModels

/// `ProductAccounting`, the hook behind `dnc-bench --only roofline`: every product of a DNC
/// step lands in its class with its exact FLOPs, and nothing is recorded while it is off.
final class RooflineAccountingTests: XCTestCase {
    override func tearDown() {
        ProductAccounting.stop()
        ProductAccounting.reset()
        super.tearDown()
    }

    func configuration(layers: Int) -> DNCConfiguration {
        var c = DNCConfiguration(inputSize: 5, hiddenSize: 12)
        c.controllerDepth = layers
        c.cellCount = 8
        c.cellWidth = 6
        c.readHeads = 2
        c.batchFirst = true
        return c
    }

    func input(batch: Int, steps: Int, width: Int) -> Tensor<Float> {
        let random = CounterRandom(seed: 4)
        return Tensor(shape: [batch, steps, width],
                      storage: (0..<(batch * steps * width)).map { Float(random.uniform(stream: 0, index: UInt64($0))) - 0.5 })
    }

    /// One forward and backward of a small DNC (two controller layers): every named class has
    /// calls and FLOPs, no product is left unnamed, and the controller's and output layer's
    /// FLOPs are those of their products counted here from the shapes.
    func testOneStepRecordsEveryClass() {
        let c = configuration(layers: 2)
        let model = DNC<Float>(c, seed: 1)
        let batch = 3, steps = 4
        let x = input(batch: batch, steps: steps, width: c.inputSize)
        ProductAccounting.start()
        let output = model.forward(x, training: true)
        _ = model.backward(outputGradient: Tensor(shape: output.output.shape, repeating: 0.1))
        ProductAccounting.stop()
        let tallies = ProductAccounting.snapshot()

        for productClass in [ProductClass.controller, .interface, .memory, .output, .weightGradients] {
            let tally = tallies[productClass]!
            XCTAssertGreaterThan(tally.calls, 0, "\(productClass)")
            XCTAssertGreaterThan(tally.flops, 0, "\(productClass)")
            XCTAssertGreaterThan(tally.nanoseconds, 0, "\(productClass)")
        }
        XCTAssertEqual(tallies[.other]!, ProductTally(), "every product of a DNC step is in a named class")
        XCTAssertEqual(ProductAccounting.currentClass, .other, "the class is restored after each group")

        // Controller: the gate pre-activations forward, their input and hidden gradients
        // backward, each B × 4H × (in + H) per layer and step (LSTM); the first layer's input
        // is [x ; read vectors], the second's the first's output.
        var controller = 0
        for layer in 0..<c.controllerDepth {
            let inputWidth = layer == 0 ? c.inputSize + c.readWidth : c.hiddenSize
            controller += 2 * (2 * batch * 4 * c.hiddenSize * (inputWidth + c.hiddenSize))
        }
        XCTAssertEqual(tallies[.controller]!.flops, steps * controller)
        // Output layer: forward and input gradient, B × Y × (H + R·W) each per step (dW is a
        // weight gradient).
        let outputWidth = c.hiddenSize + c.readWidth
        XCTAssertEqual(tallies[.output]!.flops, steps * 2 * (2 * batch * c.resolvedOutputSize * outputWidth))
        XCTAssertEqual(tallies[.output]!.calls, steps * 2)
    }

    /// A Linear layer's forward is one product of 2·rows·out·in FLOPs, counted under the class
    /// in force (`other` outside any group).
    func testLinearForwardFlopsAreExact() {
        let store = ParameterStore<Float>()
        let linear = Linear(store: store, name: "l", inputSize: 7, outputSize: 5)
        let rows = 3
        let x = [Float](repeating: 0.5, count: rows * 7)
        var y = [Float](repeating: 0, count: rows * 5)
        ProductAccounting.start()
        linear.forward(store: store, input: x, rows: rows, output: &y)
        ProductAccounting.within(.output) { linear.forward(store: store, input: x, rows: rows, output: &y) }
        ProductAccounting.stop()
        let tallies = ProductAccounting.snapshot()
        XCTAssertEqual(tallies[.other]!.calls, 1)
        XCTAssertEqual(tallies[.other]!.flops, 2 * rows * 5 * 7)
        XCTAssertEqual(tallies[.output]!.calls, 1)
        XCTAssertEqual(tallies[.output]!.flops, 2 * rows * 5 * 7)
        for productClass in [ProductClass.controller, .interface, .memory, .weightGradients] {
            XCTAssertEqual(tallies[productClass]!, ProductTally())
        }
    }

    /// Off (the default), a whole step records nothing; `start` clears what an earlier run left.
    func testNothingIsRecordedWhenOff() {
        let c = configuration(layers: 1)
        let model = DNC<Float>(c, seed: 1)
        ProductAccounting.start()
        _ = model.forward(input(batch: 2, steps: 2, width: c.inputSize))
        ProductAccounting.stop()
        XCTAssertGreaterThan(ProductAccounting.snapshot()[.controller]!.calls, 0)
        ProductAccounting.reset()

        XCTAssertFalse(ProductAccounting.isEnabled)
        let output = model.forward(input(batch: 2, steps: 3, width: c.inputSize), training: true)
        _ = model.backward(outputGradient: Tensor(shape: output.output.shape, repeating: 0.1))
        for (productClass, tally) in ProductAccounting.snapshot() {
            XCTAssertEqual(tally, ProductTally(), "\(productClass)")
        }
    }
}
