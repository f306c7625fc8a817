import DNCNumerics
import DNCStorage
import Foundation
import XCTest
import TestSupport

/// Files written here must be plain HDF5 that the reference tools read.
final class InteropTests: TemporaryDirectoryTestCase {
    func testH5dumpReadsOurFile() throws {
        let tool = "/usr/bin/h5dump"
        guard FileManager.default.isExecutableFile(atPath: tool) else { throw XCTSkip("h5dump is not installed") }
        let file = path("interop.h5")
        do {
            let h5 = try HDF5File(path: file, mode: .create)
            try h5.write(Tensor<Float>(shape: [2, 3], storage: [1, 2, 3, 4, 5, 6]), to: "weights/interop_matrix")
            try h5.write(ints: [9], shape: [], to: "step_counter")
            try h5.writeAttribute("format", "dnc checkpoint v1")
            try h5.writeAttribute("fixed_format", "fixed text", fixedLength: true)
            try h5.writeAttribute("dims", [Int64(2), 3], at: "weights/interop_matrix")
            try h5.close()
        }
        let output = try runTool(tool, [file])
        for fragment in ["interop_matrix", "H5T_IEEE_F32LE", "( 2, 3 )", "step_counter", "H5T_STD_I64LE",
                         "\"dnc checkpoint v1\"", "\"fixed text\""] {
            XCTAssertTrue(output.contains(fragment), "h5dump output lacks \(fragment):\n\(output)")
        }
    }
}
