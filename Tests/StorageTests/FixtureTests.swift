import DNCNumerics
import DNCStorage
import Foundation
import XCTest

/// Reads the PyTorch parity fixtures (h5py-written, float64, fixed-length NULLPAD strings).
final class FixtureTests: XCTestCase {
    /// `lstm_*.h5` under `../shared/fixtures` (relative to the package root) and `$DNC_FIXTURE_DIR`.
    private func lstmFixtures() throws -> [String] {
        let packageRoot = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        var folders = [packageRoot.appendingPathComponent("../shared/fixtures").standardizedFileURL.path]
        if let extra = ProcessInfo.processInfo.environment["DNC_FIXTURE_DIR"], !extra.isEmpty { folders.append(extra) }
        var found = Set<String>()
        for folder in folders {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
            for name in names where name.hasPrefix("lstm_") && name.hasSuffix(".h5") {
                found.insert(URL(fileURLWithPath: folder).appendingPathComponent(name).standardizedFileURL.path)
            }
        }
        if found.isEmpty { throw XCTSkip("no lstm_*.h5 fixture in \(folders)") }
        return found.sorted()
    }

    func testReadsLSTMFixture() throws {
        for file in try lstmFixtures() {
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
