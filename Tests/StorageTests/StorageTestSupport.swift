import DNCNumerics
import DNCStorage
import Foundation
import XCTest
import TestSupport

/// A fresh temporary directory per test, removed afterwards.
class TemporaryDirectoryTestCase: XCTestCase {
    private(set) var directory = URL(fileURLWithPath: NSTemporaryDirectory())

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("StorageTests-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    func path(_ name: String) -> String { directory.appendingPathComponent(name).path }
}

/// Asserts that `body` throws an `HDF5Error` accepted by `matches` whose one-line description
/// contains every string in `mentions` (file and object names).
func assertHDF5Error<R>(_ body: () throws -> R, mentions: [String], file: StaticString = #filePath, line: UInt = #line,
                        _ matches: (HDF5Error) -> Bool) {
    assertOneLineError(HDF5Error.self, body, mentions: mentions, file: file, line: line, matches)
}
/// A tensor of `shape` with distinct, exactly representable values.
func sampleTensor<T: Real>(_ shape: [Int], as _: T.Type = T.self) -> Tensor<T> {
    let count = shape.reduce(1, *)
    return Tensor(shape: shape, storage: (0..<count).map { T($0) * T(0.25) - T(3) })
}
