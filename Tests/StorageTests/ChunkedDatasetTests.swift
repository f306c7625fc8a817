import DNCNumerics
import DNCStorage
import Foundation
import XCTest
import TestSupport

/// Chunked, filtered and extendible datasets, string-array and boolean attributes.
final class ChunkedDatasetTests: TemporaryDirectoryTestCase {
    func testAppendAcrossReopenReadsBackEveryRow() throws {
        let file = path("log.h5")
        let rowTensors = (0..<5).map { row in Tensor<Float>(shape: [3, 2], storage: (0..<6).map { Float(row * 6 + $0) * 0.5 - 4 }) }
        do {
            let h5 = try HDF5File(path: file, mode: .create)
            try h5.createExtendibleDataset("log/memory", rowShape: [3, 2], elementType: .float32)
            XCTAssertEqual(try h5.shape(of: "log/memory"), [0, 3, 2])
            try h5.appendRow(rowTensors[0], to: "log/memory")
            try h5.appendRows(Tensor(shape: [2, 3, 2], storage: rowTensors[1].storage + rowTensors[2].storage), to: "log/memory")
            try h5.close()
        }
        do {
            let h5 = try HDF5File(path: file, mode: .readWrite)
            XCTAssertEqual(try h5.rowCount(of: "log/memory"), 3)
            try h5.appendRow(rowTensors[3], to: "log/memory")
            try h5.appendRow(rowTensors[4], to: "log/memory")
            try h5.close()
        }
        let h5 = try HDF5File(path: file)
        let all = try h5.readTensor("log/memory", as: Float.self, shape: [5, 3, 2])
        XCTAssertEqual(all.storage, rowTensors.flatMap(\.storage))
        XCTAssertEqual(try h5.rowShape(of: "log/memory"), [3, 2])
        XCTAssertEqual(try h5.maxShape(of: "log/memory"), [nil, 3, 2])
    }

    func testFloat64Int64AndScalarRows() throws {
        let file = path("types.h5")
        do {
            let h5 = try HDF5File(path: file, mode: .create)
            try h5.createExtendibleDataset("d", rowShape: [4], elementType: .float64)
            try h5.createExtendibleDataset("i", rowShape: [2], elementType: .int64, filters: .none, chunkRows: 3)
            try h5.createExtendibleDataset("loss", rowShape: [], elementType: .float32)
            try h5.appendRow(Tensor<Double>(shape: [4], storage: [1.0 / 3, -2, .pi, 1e300]), to: "d")
            try h5.appendRows(ints: [1, -2, Int64.max, Int64.min, 5, 6], to: "i")
            try h5.appendRow(Tensor<Float>(shape: [], storage: [0.5]), to: "loss")
            try h5.appendRows(Tensor<Float>(shape: [2], storage: [0.25, 0.125]), to: "loss")
            XCTAssertEqual(try h5.chunkShape(of: "i"), [3, 2])
            try h5.close()
        }
        let h5 = try HDF5File(path: file)
        XCTAssertEqual(try h5.readTensor("d", as: Double.self).storage, [1.0 / 3, -2, .pi, 1e300])
        let ints = try h5.readInts("i")
        XCTAssertEqual(ints.shape, [3, 2])
        XCTAssertEqual(ints.values, [1, -2, Int64.max, Int64.min, 5, 6])
        XCTAssertEqual(try h5.readTensor("loss", as: Float.self, shape: [3]).storage, [0.5, 0.25, 0.125])
    }

    func testCompressionAndShuffleAreApplied() throws {
        let file = path("compressed.h5")
        let h5 = try HDF5File(path: file, mode: .create)
        try h5.createExtendibleDataset("memory", rowShape: [64, 32], elementType: .float32)
        // Compressible: few distinct values, like a sparse memory.
        for step in 0..<8 {
            let values = (0..<(64 * 32)).map { Float(($0 / 97 + step) % 3) * 0.5 }
            try h5.appendRow(Tensor(shape: [64, 32], storage: values), to: "memory")
        }
        try h5.flush()
        let filters = try h5.filters(of: "memory")
        XCTAssertEqual(filters.deflateLevel, 4)
        XCTAssertTrue(filters.shuffle)
        XCTAssertFalse(filters.checksum)
        XCTAssertNotNil(try h5.chunkShape(of: "memory"))
        let raw = 8 * 64 * 32 * 4
        let stored = try h5.storedBytes(of: "memory")
        XCTAssertGreaterThan(stored, 0)
        XCTAssertLessThan(stored, raw / 4, "gzip should shrink a compressible tensor well below \(raw) bytes")
        XCTAssertEqual(try h5.openObjectCount(), 0)
        try h5.close()
    }

    func testChecksummedFixedDatasetRoundTrips() throws {
        let file = path("checked.h5")
        let tensor = sampleTensor([300, 700], as: Float.self)  // 840 KB: one chunk
        do {
            let h5 = try HDF5File(path: file, mode: .create, format: .checksummed)
            try h5.write(tensor, to: "w", filters: .checksummed)
            try h5.write(sampleTensor([2000, 300], as: Double.self), to: "big", filters: HDF5Filters(deflateLevel: 1, checksum: true))
            try h5.write(Tensor<Float>(shape: [], storage: [7]), to: "scalar", filters: .checksummed)
            try h5.write(Tensor<Float>(shape: [0, 3], storage: []), to: "empty", filters: .checksummed)
            try h5.close()
        }
        let h5 = try HDF5File(path: file)
        XCTAssertEqual(try h5.readTensor("w", as: Float.self), tensor)
        XCTAssertTrue(try h5.filters(of: "w").checksum)
        XCTAssertEqual(try h5.readTensor("big", as: Double.self), sampleTensor([2000, 300], as: Double.self))
        let bigChunk = try XCTUnwrap(try h5.chunkShape(of: "big"))
        XCTAssertLessThanOrEqual(bigChunk.reduce(1, *) * 8, 1 << 20)
        XCTAssertEqual(try h5.filters(of: "big"), HDF5Filters(deflateLevel: 1, checksum: true))
        // Nothing to chunk: stored contiguous, unfiltered, still readable.
        XCTAssertNil(try h5.chunkShape(of: "scalar"))
        XCTAssertEqual(try h5.readTensor("scalar", as: Float.self).storage, [7])
        XCTAssertEqual(try h5.readTensor("empty", as: Float.self).shape, [0, 3])
    }

    func testAppendRejectsWrongShapeTypeAndFixedDatasets() throws {
        let file = path("errors.h5")
        let h5 = try HDF5File(path: file, mode: .create)
        try h5.createExtendibleDataset("x", rowShape: [2, 3], elementType: .float32)
        try h5.write(Tensor<Float>(shape: [2, 3], storage: Array(repeating: 1, count: 6)), to: "fixed")
        assertHDF5Error({ try h5.appendRow(Tensor<Float>(shape: [3, 2]), to: "x") }, mentions: ["errors.h5", "x", "[1, 3, 2]"]) {
            if case .wrongShape = $0 { return true } else { return false }
        }
        assertHDF5Error({ try h5.appendRow(Tensor<Double>(shape: [2, 3]), to: "x") }, mentions: ["errors.h5", "float64", "float32"]) {
            if case .wrongType = $0 { return true } else { return false }
        }
        assertHDF5Error({ try h5.appendRows(ints: [1, 2, 3, 4, 5, 6], to: "x") }, mentions: ["int64"]) {
            if case .wrongType = $0 { return true } else { return false }
        }
        assertHDF5Error({ try h5.appendRow(Tensor<Float>(shape: [3]), to: "fixed") }, mentions: ["fixed", "not extendible"]) {
            if case .invalidArgument = $0 { return true } else { return false }
        }
        assertHDF5Error({ try h5.createExtendibleDataset("bad", rowShape: [0, 2], elementType: .float32) }, mentions: ["bad", "[0, 2]"]) {
            if case .invalidArgument = $0 { return true } else { return false }
        }
        assertHDF5Error({ try h5.createExtendibleDataset("bad", rowShape: [2], elementType: .string) }, mentions: ["bad", "string"]) {
            if case .invalidArgument = $0 { return true } else { return false }
        }
        XCTAssertEqual(try h5.rowCount(of: "x"), 0, "failed appends must not grow the dataset")
        XCTAssertEqual(try h5.openObjectCount(), 0, "an error path leaked an HDF5 id")
        try h5.close()
    }

    func testStringArrayAndBooleanAttributesRoundTrip() throws {
        let file = path("attributes.h5")
        do {
            let h5 = try HDF5File(path: file, mode: .create)
            try h5.createGroup("g")
            try h5.writeAttribute("axes", ["step", "cell", "word"], at: "g")
            try h5.writeAttribute("unicode", ["größe", "", "μ"], at: "g")
            try h5.writeAttribute("empty", [String](), at: "g")
            try h5.writeAttribute("yes", true)
            try h5.writeAttribute("no", false)
            try h5.writeAttribute("single", "one")
            try h5.close()
        }
        let h5 = try HDF5File(path: file)
        XCTAssertEqual(try h5.readAttribute("axes", at: "g", as: [String].self), ["step", "cell", "word"])
        XCTAssertEqual(try h5.readAttribute("unicode", at: "g", as: [String].self), ["größe", "", "μ"])
        XCTAssertEqual(try h5.readAttribute("empty", at: "g", as: [String].self), [])
        XCTAssertEqual(try h5.readAttribute("single", as: [String].self), ["one"])
        XCTAssertEqual(try h5.readAttribute("yes", as: Bool.self), true)
        XCTAssertEqual(try h5.readAttribute("no", as: Bool.self), false)
        XCTAssertEqual(try h5.attributeElementType("yes"), .boolean)
        XCTAssertEqual(try h5.attributeElementType("axes", at: "g"), .string)
        XCTAssertEqual(try h5.attributeElementCount("axes", at: "g"), 3)
        assertHDF5Error({ try h5.readAttribute("single", as: Bool.self) }, mentions: ["single", "bool", "string"]) {
            if case .attributeWrongType = $0 { return true } else { return false }
        }
        assertHDF5Error({ try h5.readAttribute("yes", as: [String].self) }, mentions: ["yes", "bool"]) {
            if case .attributeWrongType = $0 { return true } else { return false }
        }
        XCTAssertEqual(try h5.openObjectCount(), 0)
    }

    func testH5dumpReadsExtendibleCompressedDataset() throws {
        let tool = "/usr/bin/h5dump"
        guard FileManager.default.isExecutableFile(atPath: tool) else { throw XCTSkip("h5dump is not installed") }
        let file = path("dump.h5")
        do {
            let h5 = try HDF5File(path: file, mode: .create, format: .checksummed)
            try h5.createExtendibleDataset("trace/memory", rowShape: [2, 3], elementType: .float32)
            try h5.appendRow(Tensor<Float>(shape: [2, 3], storage: [1, 2, 3, 4, 5, 6]), to: "trace/memory")
            try h5.appendRow(Tensor<Float>(shape: [2, 3], storage: [7, 8, 9, 10, 11, 12]), to: "trace/memory")
            try h5.writeAttribute("axes", ["time", "cell", "word"], at: "trace/memory")
            try h5.writeAttribute("flag", true)
            try h5.close()
        }
        let output = try runTool(tool, ["-p", file])
        for fragment in ["( 2, 2, 3 ) / ( H5S_UNLIMITED, 2, 3 )", "DEFLATE", "SHUFFLE", "\"time\", \"cell\", \"word\"",
                         "12", "H5T_ENUM", "TRUE"] {
            XCTAssertTrue(output.contains(fragment), "h5dump output lacks \(fragment):\n\(output)")
        }
    }
}
