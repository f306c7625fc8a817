import DNCNumerics
import DNCStorage
import Foundation
import XCTest

final class ErrorTests: TemporaryDirectoryTestCase {
    private func makeFile(_ name: String) throws -> String {
        let file = path(name)
        let h5 = try HDF5File(path: file, mode: .create)
        try h5.write(Tensor<Double>(shape: [2, 3], storage: [1, 2, 3, 4, 5, 6]), to: "params/w")
        try h5.write(ints: [1, 2, 3], shape: [3], to: "params/ids")
        try h5.writeAttribute("label", "text", at: "params/w")
        try h5.writeAttribute("hidden_size", 7)
        try h5.close()
        return file
    }

    func testMissingFile() {
        let file = path("does-not-exist.h5")
        assertHDF5Error({ try HDF5File(path: file) }, mentions: [file]) {
            if case .fileNotFound = $0 { true } else { false }
        }
    }

    func testTextFileIsNotHDF5() throws {
        let file = path("notes.h5")
        try "this is not an HDF5 file\n".write(toFile: file, atomically: true, encoding: .utf8)
        assertHDF5Error({ try HDF5File(path: file) }, mentions: [file]) {
            if case .notHDF5 = $0 { true } else { false }
        }
    }

    func testMissingDatasetAndGroup() throws {
        let file = try makeFile("missing.h5")
        let h5 = try HDF5File(path: file)
        assertHDF5Error({ try h5.readTensor("params/nope", as: Double.self) }, mentions: [file, "params/nope"]) {
            if case .missingObject = $0 { true } else { false }
        }
        assertHDF5Error({ try h5.children(of: "nope/deeper") }, mentions: [file, "nope/deeper"]) {
            if case .missingObject = $0 { true } else { false }
        }
        assertHDF5Error({ try h5.readTensor("params", as: Double.self) }, mentions: [file, "params"]) {
            if case .wrongKind(_, _, "dataset", "group") = $0 { true } else { false }
        }
    }

    func testMissingAttribute() throws {
        let file = try makeFile("attr.h5")
        let h5 = try HDF5File(path: file)
        assertHDF5Error({ try h5.readAttribute("nope", at: "params/w", as: String.self) },
                        mentions: [file, "params/w", "nope"]) {
            if case .attributeMissing = $0 { true } else { false }
        }
        assertHDF5Error({ try h5.readAttribute("x", at: "ghost", as: Int.self) }, mentions: [file, "ghost"]) {
            if case .missingObject = $0 { true } else { false }
        }
    }

    func testWrongTypes() throws {
        let file = try makeFile("types.h5")
        let h5 = try HDF5File(path: file)
        assertHDF5Error({ try h5.readTensor("params/w", as: Float.self) }, mentions: [file, "params/w", "float64", "float32"]) {
            if case .wrongType(_, "params/w", "float32", "float64") = $0 { true } else { false }
        }
        assertHDF5Error({ try h5.readTensor("params/ids", as: Double.self) }, mentions: [file, "params/ids", "int64"]) {
            if case .wrongType = $0 { true } else { false }
        }
        assertHDF5Error({ try h5.readTensorConverting("params/ids", as: Float.self) }, mentions: [file, "params/ids"]) {
            if case .wrongType = $0 { true } else { false }
        }
        assertHDF5Error({ try h5.readInts("params/w") }, mentions: [file, "params/w", "float64"]) {
            if case .wrongType = $0 { true } else { false }
        }
        assertHDF5Error({ try h5.readTensor("params/w", as: Double.self, shape: [3, 2]) }, mentions: [file, "params/w"]) {
            if case .wrongShape(_, _, [3, 2], [2, 3]) = $0 { true } else { false }
        }
        assertHDF5Error({ try h5.readAttribute("label", at: "params/w", as: Double.self) },
                        mentions: [file, "params/w", "label", "string"]) {
            if case .attributeWrongType = $0 { true } else { false }
        }
        assertHDF5Error({ try h5.readAttribute("hidden_size", as: String.self) }, mentions: [file, "hidden_size", "int64"]) {
            if case .attributeWrongType = $0 { true } else { false }
        }
        assertHDF5Error({ try h5.readAttribute("hidden_size", as: Double.self) }, mentions: [file, "hidden_size"]) {
            if case .attributeWrongType = $0 { true } else { false }
        }
    }

    /// Half a file must give an error, never a crash: HDF5 checks the end-of-file address
    /// recorded in the superblock against the real size.
    func testTruncatedFileThrows() throws {
        let file = path("truncated.h5")
        do {
            let h5 = try HDF5File(path: file, mode: .create)
            for index in 0..<6 {
                try h5.write(sampleTensor([32, 64], as: Double.self), to: "blocks/b\(index)")
            }
            try h5.writeAttribute("note", "before truncation")
            try h5.close()
        }
        let size = try XCTUnwrap(FileManager.default.attributesOfItem(atPath: file)[.size] as? Int)
        XCTAssertGreaterThan(size, 60_000)
        let handle = try XCTUnwrap(FileHandle(forWritingAtPath: file))
        try handle.truncate(atOffset: UInt64(size / 2))
        try handle.close()

        assertHDF5Error({ () throws -> [Tensor<Double>] in
            let h5 = try HDF5File(path: file)
            return try (0..<6).map { try h5.readTensor("blocks/b\($0)", as: Double.self) }
        }, mentions: [file]) {
            switch $0 {
            case .corrupted, .readFailed: true
            default: false
            }
        }
    }

    func testHDF5ReasonIsIncluded() throws {
        let file = try makeFile("reason.h5")
        let size = try XCTUnwrap(FileManager.default.attributesOfItem(atPath: file)[.size] as? Int)
        try FileHandle(forWritingAtPath: file).map { try $0.truncate(atOffset: UInt64(size - 100)); try $0.close() }
        do {
            _ = try HDF5File(path: file)
            XCTFail("a truncated file opened")
        } catch let HDF5Error.corrupted(_, reason) {
            XCTAssertFalse(reason.isEmpty)
            XCTAssertNotEqual(reason, "HDF5 gave no details", "HDF5's own message was not captured")
        }
    }
}
