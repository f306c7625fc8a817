import DNCNumerics
import DNCStorage
import Foundation
import XCTest
import TestSupport

/// Named dimensions (HDF5 dimension scales): shared by name, grown with unlimited axes, and
/// refused when a name would mean two lengths.
final class DimensionScaleTests: TemporaryDirectoryTestCase {
    func testScalesAreSharedGrownAndChecked() throws {
        let h5 = try HDF5File(path: path("dims.h5"), mode: .create)
        try h5.write(Tensor<Float>(shape: [2, 3], repeating: 1), to: "g/a")
        try h5.write(Tensor<Float>(shape: [3], repeating: 1), to: "g/b")
        try h5.nameDimensions(of: "g/a", ["row", "cell"])
        try h5.nameDimensions(of: "g/b", ["cell"])
        XCTAssertEqual(try h5.dimensionNames(of: "g/a"), ["row", "cell"])
        XCTAssertEqual(try h5.dimensionNames(of: "g/b"), ["cell"])
        XCTAssertTrue(try h5.isDimensionScale("g/cell"))
        XCTAssertFalse(try h5.isDimensionScale("g/a"))
        XCTAssertEqual(try h5.readInts("g/cell").values, [0, 1, 2])

        // One name is one length; a name twice in one dataset is refused.
        try h5.write(Tensor<Float>(shape: [4], repeating: 1), to: "g/c")
        XCTAssertThrowsError(try h5.nameDimensions(of: "g/c", ["cell"]))
        try h5.write(Tensor<Float>(shape: [3, 3], repeating: 1), to: "g/d")
        XCTAssertThrowsError(try h5.nameDimensions(of: "g/d", ["cell", "cell"]))

        // An unlimited axis gets an extendible scale that grows with the rows.
        try h5.createExtendibleDataset("g/log", rowShape: [3], elementType: .float32)
        try h5.appendRows(Tensor<Float>(shape: [2, 3], repeating: 0), to: "g/log")
        try h5.nameDimensions(of: "g/log", ["step", "cell"])
        XCTAssertEqual(try h5.readInts("g/step").values, [0, 1])
        try h5.appendRows(Tensor<Float>(shape: [3, 3], repeating: 0), to: "g/log")
        try h5.growDimensionScale("g/step", to: try h5.rowCount(of: "g/log"))
        XCTAssertEqual(try h5.readInts("g/step").values, [0, 1, 2, 3, 4])

        // An existing 1-D dataset of the name becomes the scale (a coordinate variable).
        try h5.write(ints: [10, 20, 30], shape: [3], to: "length")
        try h5.write(Tensor<Double>(shape: [3], repeating: 0), to: "loss")
        try h5.nameDimensions(of: "loss", ["length"])
        XCTAssertTrue(try h5.isDimensionScale("length"))
        XCTAssertEqual(try h5.readInts("length").values, [10, 20, 30])
        XCTAssertEqual(try h5.openObjectCount(), 0)
        try h5.close()
    }
}
