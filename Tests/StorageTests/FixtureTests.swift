import DNCNumerics
import DNCStorage
import Foundation
import TestSupport
import XCTest

/// Reads the PyTorch parity fixtures (h5py-written, float64, fixed-length NULLPAD strings).
final class FixtureTests: XCTestCase {
    func testReadsLSTMFixture() throws {
        // Fails (does not skip) when the shipped lstm fixture is missing: see Tests/Fixtures/README.md.
        for file in try Fixtures.required(prefix: "lstm_") {
            let h5 = try HDF5File(path: file)
            let hidden = try h5.readAttribute("hidden_size", as: Int.self)
            let input = try h5.readAttribute("input_size", as: Int.self)
            let layers = try h5.readAttribute("num_layers", as: Int.self)
            XCTAssertGreaterThan(hidden, 0)
            XCTAssertEqual(try h5.readAttribute("gate_order", as: String.self), "i,f,g,o")
            XCTAssertEqual(try h5.readAttribute("dtype", as: String.self), "float64")
            XCTAssertTrue(try h5.attributeNames().contains("hidden_size"))
            XCTAssertTrue(try h5.children().contains("params"))
            XCTAssertEqual(try h5.children(of: "params").count, 4 * layers)

            let weights = try h5.readTensor("params/weight_ih_l0", as: Double.self, shape: [4 * hidden, input])
            XCTAssertTrue(weights.storage.allSatisfy { $0.isFinite })
            XCTAssertTrue(weights.storage.contains { $0 != 0 })
            let narrowed = try h5.readTensorConverting("params/weight_ih_l0", as: Float.self)
            XCTAssertEqual(narrowed.shape, weights.shape)
            for (a, b) in zip(narrowed.storage, weights.storage) { XCTAssertEqual(Double(a), b, accuracy: 1e-6 * max(1, abs(b))) }
            assertHDF5Error({ try h5.readTensor("params/weight_ih_l0", as: Float.self) },
                            mentions: [file, "params/weight_ih_l0", "float64"]) {
                if case .wrongType = $0 { true } else { false }
            }

            XCTAssertEqual(try h5.shape(of: "loss/value"), [])
            XCTAssertEqual(try h5.readAttribute("axes", at: "loss/value", as: String.self), "")
            XCTAssertEqual(try h5.readAttribute("axes", at: "params/weight_ih_l0", as: String.self), "G4H,I")
        }
    }
}
