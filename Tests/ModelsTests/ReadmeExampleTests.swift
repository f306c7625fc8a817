import XCTest
import DNCNumerics
import DNCModels

/// The README's usage example, compiled and run, so that it stays true.
final class ReadmeExampleTests: XCTestCase {
    func testReadmeExample() {
        // README: begin
        var configuration = DNCConfiguration(inputSize: 64, hiddenSize: 128)
        configuration.cell = .lstm
        configuration.layerCount = 4
        configuration.cellCount = 100
        configuration.cellWidth = 32
        configuration.readHeads = 4
        configuration.batchFirst = true
        let rnn = DNC<Float>(configuration, seed: 42)

        let x = Tensor<Float>(shape: [10, 4, 64], repeating: 0.5)       // (B, T, X)
        var result = rnn.forward(x, resetExperience: true)                // fresh state
        result = rnn.forward(x, state: result.state, debug: true)         // carry the state on
        let output = result.output                                        // (B, T, 64)
        let memory = result.trace!.stacked("memory")                       // (T·layers, N·W), pytorch-dnc's old form
        let usage = result.trace!.sequence("usage_vector")                 // one (1, N) tensor per step and layer
        // README: end
        XCTAssertEqual(output.shape, [10, 4, 64])
        XCTAssertEqual(memory.shape, [16, 3200])
        XCTAssertEqual(usage.count, 16)
        XCTAssertEqual(usage[0].shape, [1, 100])
    }
}
