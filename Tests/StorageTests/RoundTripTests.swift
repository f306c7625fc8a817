import DNCNumerics
import DNCStorage
import XCTest

final class RoundTripTests: TemporaryDirectoryTestCase {
    private let shapes: [[Int]] = [[], [7], [3, 4], [3, 1, 5], [2, 3, 1, 5], [0, 3]]

    func testFloatAndDoubleTensorsOfEveryRank() throws {
        let file = path("tensors.h5")
        func name(_ shape: [Int]) -> String { "r\(shape.count)_" + shape.map(String.init).joined(separator: "x") }
        do {
            let h5 = try HDF5File(path: file, mode: .create)
            for shape in shapes {
                try h5.write(sampleTensor(shape, as: Float.self), to: "f32/" + name(shape))
                try h5.write(sampleTensor(shape, as: Double.self), to: "/f64/" + name(shape))
            }
            try h5.close()
        }
        let h5 = try HDF5File(path: file)
        for shape in shapes {
            let floatName = "f32/" + name(shape)
            XCTAssertEqual(try h5.readTensor(floatName, as: Float.self), sampleTensor(shape, as: Float.self))
            XCTAssertEqual(try h5.shape(of: floatName), shape)
            XCTAssertEqual(try h5.elementType(of: floatName), .float32)
            let doubleName = "f64/" + name(shape)
            XCTAssertEqual(try h5.readTensor(doubleName, as: Double.self, shape: shape), sampleTensor(shape, as: Double.self))
            XCTAssertEqual(try h5.elementType(of: doubleName), .float64)
        }
        // The converting reader narrows float64 and widens float32.
        XCTAssertEqual(try h5.readTensorConverting("f64/r3_3x1x5", as: Float.self), sampleTensor([3, 1, 5], as: Float.self))
        XCTAssertEqual(try h5.readTensorConverting("f32/r2_3x4", as: Double.self), sampleTensor([3, 4], as: Double.self))
    }

    func testIntegerDatasets() throws {
        let file = path("ints.h5")
        let values: [Int64] = [0, -1, 2, Int64.max, Int64.min, 42]
        let h5 = try HDF5File(path: file, mode: .create)
        try h5.write(ints: values, shape: [2, 3], to: "free_list")
        try h5.write(ints: [7], shape: [], to: "scalar")
        try h5.write(ints: [1, 2, 3] as [Int], shape: [3], to: "a/b/plain")
        XCTAssertEqual(try h5.elementType(of: "free_list"), .int64)
        let (shape, read) = try h5.readInts("free_list")
        XCTAssertEqual(shape, [2, 3])
        XCTAssertEqual(read, values)
        XCTAssertEqual(try h5.readInts("scalar").shape, [])
        XCTAssertEqual(try h5.readInts("scalar").values, [7])
        XCTAssertEqual(try h5.readInts("a/b/plain").values, [1, 2, 3])
        assertHDF5Error({ try h5.write(ints: [1, 2], shape: [3], to: "bad") }, mentions: [file, "bad"]) {
            if case .invalidArgument = $0 { true } else { false }
        }
    }

    func testAttributesOnRootGroupAndDataset() throws {
        let file = path("attributes.h5")
        do {
            let h5 = try HDF5File(path: file, mode: .create)
            try h5.write(sampleTensor([2, 2], as: Float.self), to: "params/w")
            for target in ["/", "params", "params/w"] {
                try h5.writeAttribute("name", "value at \(target) ✓", at: target)
                try h5.writeAttribute("fixed", "gate i,f,g,o", at: target, fixedLength: true)
                try h5.writeAttribute("empty", "", at: target, fixedLength: true)
                try h5.writeAttribute("count", 12, at: target)
                try h5.writeAttribute("big", Int64.min, at: target)
                try h5.writeAttribute("rate", 0.125, at: target)
                try h5.writeAttribute("doubles", [1.5, -2.0, 1e-300], at: target)
                try h5.writeAttribute("ints", [Int64(3), -4, 5], at: target)
                try h5.writeAttribute("none", [Double](), at: target)
            }
            try h5.writeAttribute("count", 13, at: "/")  // overwrite, same type
            try h5.writeAttribute("rate", "now a string", at: "params")  // overwrite, new type
            try h5.close()
        }
        let h5 = try HDF5File(path: file)
        for target in ["/", "params", "params/w"] {
            XCTAssertEqual(try h5.readAttribute("name", at: target, as: String.self), "value at \(target) ✓")
            XCTAssertEqual(try h5.readAttribute("fixed", at: target, as: String.self), "gate i,f,g,o")
            XCTAssertEqual(try h5.readAttribute("empty", at: target, as: String.self), "")
            XCTAssertEqual(try h5.readAttribute("count", at: target, as: Int.self), target == "/" ? 13 : 12)
            XCTAssertEqual(try h5.readAttribute("big", at: target, as: Int64.self), Int64.min)
            XCTAssertEqual(try h5.readAttribute("doubles", at: target, as: [Double].self), [1.5, -2.0, 1e-300])
            XCTAssertEqual(try h5.readAttribute("ints", at: target, as: [Int64].self), [3, -4, 5])
            XCTAssertEqual(try h5.readAttribute("count", at: target, as: [Int64].self), [target == "/" ? 13 : 12])
            XCTAssertEqual(try h5.readAttribute("none", at: target, as: [Double].self), [])
            XCTAssertEqual(try h5.attributeNames(at: target),
                           ["big", "count", "doubles", "empty", "fixed", "ints", "name", "none", "rate"])
            XCTAssertTrue(try h5.hasAttribute("rate", at: target))
            XCTAssertFalse(try h5.hasAttribute("missing", at: target))
        }
        XCTAssertEqual(try h5.readAttribute("rate", at: "/", as: Double.self), 0.125)
        XCTAssertEqual(try h5.readAttribute("rate", at: "params", as: String.self), "now a string")
    }

    func testNestedGroupsListingAndOverwrite() throws {
        let file = path("groups.h5")
        let h5 = try HDF5File(path: file, mode: .create)
        try h5.createGroup("a/b/c")
        try h5.createGroup("a/b/c")  // idempotent
        try h5.write(Tensor<Double>(shape: [2], storage: [1, 2]), to: "a/b/zeta")
        try h5.write(Tensor<Double>(shape: [], storage: [5]), to: "a/b/alpha")
        try h5.write(Tensor<Float>(shape: [1], storage: [1]), to: "x/y/z")  // intermediate groups on write
        XCTAssertEqual(try h5.children(of: "/"), ["a", "x"])
        XCTAssertEqual(try h5.children(of: "a/b"), ["alpha", "c", "zeta"])
        XCTAssertEqual(try h5.children(of: "/a/b/c/"), [])
        XCTAssertTrue(try h5.exists("a/b/c"))
        XCTAssertTrue(try h5.exists("/"))
        XCTAssertFalse(try h5.exists("a/nope/c"))
        XCTAssertTrue(try h5.isGroup("a/b/c"))
        XCTAssertFalse(try h5.isDataset("a/b/c"))
        XCTAssertTrue(try h5.isDataset("x/y/z"))
        XCTAssertFalse(try h5.isGroup("missing"))
        // A dataset on the way: refused, naming the object asked for.
        assertHDF5Error({ try h5.write(Tensor<Float>(shape: [1], storage: [2]), to: "x/y/z/w") }, mentions: [file, "x/y/z/w"]) {
            if case .writeFailed = $0 { true } else { false }
        }
        assertHDF5Error({ try h5.createGroup("x/y/z/g/h") }, mentions: [file, "x/y/z/g/h"]) {
            if case .writeFailed = $0 { true } else { false }
        }

        // Replacing a dataset may change both its type and its shape.
        try h5.write(Tensor<Float>(shape: [3, 1, 5], storage: (0..<15).map(Float.init)), to: "a/b/zeta")
        XCTAssertEqual(try h5.shape(of: "a/b/zeta"), [3, 1, 5])
        XCTAssertEqual(try h5.readTensor("a/b/zeta", as: Float.self)[2, 0, 4], 14)
        try h5.close()
        try h5.close()  // harmless
        assertHDF5Error({ try h5.children(of: "/") }, mentions: [file]) {
            if case .fileClosed = $0 { true } else { false }
        }
    }

    /// The same content written a second later is the same bytes: no object carries a creation
    /// time (root, explicit and intermediate groups, datasets of both layouts), so identical runs
    /// leave identical checkpoints.
    func testSameContentWrittenLaterIsTheSameBytes() throws {
        func write(_ file: String) throws {
            let h5 = try HDF5File(path: file, mode: .createExclusive, format: .checksummed)
            try h5.writeAttribute("format", "test")
            try h5.createGroup("params")
            try h5.write(sampleTensor([3, 4], as: Float.self), to: "params/w", filters: .checksummed)
            try h5.write(sampleTensor([2], as: Double.self), to: "deep/inside/v")
            try h5.writeAttribute("step", Int64(7), at: "params")
            try h5.close()
        }
        try write(path("first.h5"))
        Thread.sleep(forTimeInterval: 1.1)  // HDF5's object times have one-second resolution
        try write(path("second.h5"))
        let first = try Data(contentsOf: URL(fileURLWithPath: path("first.h5")))
        let second = try Data(contentsOf: URL(fileURLWithPath: path("second.h5")))
        XCTAssertTrue(first == second, "the two files differ in \(zip(first, second).filter { $0 != $1 }.count) bytes")
    }

    func testReopenReadWriteAppends() throws {
        let file = path("append.h5")
        do {
            let h5 = try HDF5File(path: file, mode: .createExclusive)
            try h5.write(ints: [1], shape: [1], to: "step/1")
        }  // deinit closes and flushes
        do {
            let h5 = try HDF5File(path: file, mode: .readWrite)
            try h5.write(ints: [2], shape: [1], to: "step/2")
            try h5.flush()
        }
        let h5 = try HDF5File(path: file)
        XCTAssertEqual(try h5.children(of: "step"), ["1", "2"])
        assertHDF5Error({ try h5.write(ints: [3], shape: [1], to: "step/3") }, mentions: [file, "step/3"]) {
            if case .writeFailed = $0 { true } else { false }
        }
        assertHDF5Error({ try HDF5File(path: file, mode: .createExclusive) }, mentions: [file]) {
            if case .cannotOpen = $0 { true } else { false }
        }
    }
}
