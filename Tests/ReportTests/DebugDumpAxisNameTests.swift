import DNCNumerics
import DNCReports
import DNCStorage
import Foundation
import XCTest

/// The report labels a debug dump's axes from its names: the `axes` attribute dnc-swift writes,
/// or, in a file without it, the dimension scales netCDF-style writers attach.
final class DebugDumpAxisNameTests: XCTestCase {
    func testAxesComeFromDimensionScalesWhenThereIsNoAxesAttribute() throws {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("dims-\(UUID().uuidString).h5")
        defer { try? FileManager.default.removeItem(at: url) }
        let file = try HDF5File(path: url.path, mode: .create)
        try file.writeAttribute("format", "dnc-swift debug dump")
        try file.createGroup("step_00000010/layer_0")
        try file.write(Tensor<Float>(shape: [3, 2, 4], repeating: 1), to: "step_00000010/layer_0/read_weights")
        try file.nameDimensions(of: "step_00000010/layer_0/read_weights", ["time", "head", "slot"], in: "step_00000010")
        try file.write(ints: [0, -1, 2, 3, -1, 5], shape: [3, 1, 2], to: "step_00000010/layer_0/read_positions")
        try file.writeAttribute("axes", "time,one,slot", at: "step_00000010/layer_0/read_positions")
        try file.close()

        let dump = try DebugDump(contentsOf: url)
        XCTAssertEqual(dump.problems, [])
        XCTAssertEqual(dump.entries.map(\.key), ["read_weights", "read_positions"].sorted())
        let weights = try XCTUnwrap(dump.entries.first { $0.key == "read_weights" })
        XCTAssertEqual(weights.axes, ["time", "head", "slot"])
        let positions = try XCTUnwrap(dump.entries.first { $0.key == "read_positions" })
        XCTAssertEqual(positions.axes, ["time", "one", "slot"])
        XCTAssertEqual(try dump.tensor(positions).values, [0, -1, 2, 3, -1, 5])
    }
}
