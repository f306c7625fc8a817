import XCTest
import DNCGPU
import DNCGPUTraining
import DNCLayers

/// The emulated device itself: memory round trips, unknown kernels refused by name, and the
/// device copy of a parameter store in its layout.
final class EmulatedKernelDeviceTests: XCTestCase {
    func testCopiesRoundTripAndZero() throws {
        let device = EmulatedKernelDevice()
        let a = try device.array([1.5, -2.0, 3.25] as [Double])
        let b = try device.zeros(Double.self, count: 3)
        XCTAssertEqual(try device.download(b), [0, 0, 0])
        try device.copy(a, to: b)
        XCTAssertEqual(try device.download(b), [1.5, -2.0, 3.25])
        XCTAssertEqual(try device.download(b.slice(1, count: 2)), [-2.0, 3.25])
        try device.zero(a)
        XCTAssertEqual(try device.download(a), [0, 0, 0])
        device.free(a)
        device.free(b)
        XCTAssertEqual(device.allocatedBytes, 0)
    }

    func testUnknownKernelIsRefusedByName() throws {
        let device = EmulatedKernelDevice()
        XCTAssertThrowsError(try device.launch("dnc_no_such_kernel_f32", grid: (1, 1), threads: 1, sharedBytes: 0, [])) { error in
            XCTAssertTrue("\(error)".contains("dnc_no_such_kernel_f32"), "\(error)")
        }
    }

    func testDeviceParametersKeepTheStoreLayout() throws {
        let store = ParameterStore<Float>()
        let first = store.add("a", shape: [2, 3])
        let second = store.add("b", shape: [4])
        for i in 0..<store.count { store.values[i] = Float(i) + 0.5 }
        let device = EmulatedKernelDevice()
        let parameters = try DeviceParameters(store: store, device: device)
        XCTAssertEqual(try device.download(parameters.values(second)), [6.5, 7.5, 8.5, 9.5])
        XCTAssertEqual(try device.download(parameters.values(first)).count, 6)
        XCTAssertEqual(try device.download(parameters.gradients), [Float](repeating: 0, count: 10))
        try device.upload([1, 2, 3, 4], to: parameters.gradients(second))
        try parameters.downloadGradients()
        XCTAssertEqual(Array(UnsafeBufferPointer(start: store.gradients + 6, count: 4)), [1, 2, 3, 4])
        store.values[0] = 42
        try parameters.upload()
        try device.upload([7] as [Float], to: parameters.values)
        try parameters.downloadValues()
        XCTAssertEqual(store.values[0], 7)
    }
}
