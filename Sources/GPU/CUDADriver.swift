import Foundation

/// The CUDA driver API (`libcuda.so.1`), opened at run time, and what it says about this
/// machine's GPUs. Only the calls diagnostics and device selection need are declared, with the
/// C types of `cuda.h` (CUresult and CUdevice are `int`; CUdevice_attribute is an enum).
public final class CUDADriver: @unchecked Sendable {
    /// The soname the NVIDIA driver installs; the unversioned `libcuda.so` comes only with the
    /// toolkit's development files (or a stub that fails every call), so it is not tried.
    public static let libraryName = "libcuda.so.1"

    private typealias Init = @convention(c) (UInt32) -> Int32
    private typealias IntOut = @convention(c) (UnsafeMutablePointer<Int32>?) -> Int32
    private typealias DeviceGet = @convention(c) (UnsafeMutablePointer<Int32>?, Int32) -> Int32
    private typealias DeviceGetName = @convention(c) (UnsafeMutablePointer<CChar>?, Int32, Int32) -> Int32
    private typealias DeviceTotalMemory = @convention(c) (UnsafeMutablePointer<Int>?, Int32) -> Int32
    private typealias DeviceGetAttribute = @convention(c) (UnsafeMutablePointer<Int32>?, Int32, Int32) -> Int32
    private typealias GetErrorString = @convention(c) (Int32, UnsafeMutablePointer<UnsafePointer<CChar>?>?) -> Int32

    /// CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR and _MINOR in cuda.h.
    private static let computeCapabilityMajor: Int32 = 75, computeCapabilityMinor: Int32 = 76

    /// One GPU as the driver numbers it (after CUDA_VISIBLE_DEVICES renumbered them).
    public struct Device: Equatable, Sendable {
        public let ordinal: Int
        public let name: String
        public let totalMemoryBytes: Int
        public let computeCapability: (major: Int, minor: Int)

        public static func == (a: Device, b: Device) -> Bool {
            a.ordinal == b.ordinal && a.name == b.name && a.totalMemoryBytes == b.totalMemoryBytes
                && a.computeCapability == b.computeCapability
        }

        /// "NVIDIA H200, 139.8 GiB, compute capability 9.0"
        public var summary: String {
            String(format: "%@, %.1f GiB, compute capability %d.%d", name, Double(totalMemoryBytes) / 1_073_741_824,
                   computeCapability.major, computeCapability.minor)
        }
    }

    /// What the driver offers this process.
    public enum Status: Equatable, Sendable {
        /// No usable GPU, and why, in words a user can act on ("no GPU: libcuda.so.1 not found (no NVIDIA driver)").
        case unusable(reason: String)
        /// The driver initialised: the CUDA version it supports and the devices it shows.
        case usable(driverVersion: CUDAVersion, devices: [Device])

        /// Device selection's view of it (DeviceSelection).
        public var availability: DeviceSelection.Driver {
            switch self {
            case .unusable(let reason): return .unusable(reason: reason)
            case .usable(_, let devices): return .usable(deviceCount: devices.count)
            }
        }
    }

    let library: DynamicLibrary
    private let initialise: Init, driverGetVersion: IntOut, deviceGetCount: IntOut, deviceGet: DeviceGet
    private let deviceGetName: DeviceGetName, deviceTotalMemory: DeviceTotalMemory, deviceGetAttribute: DeviceGetAttribute
    private let getErrorString: GetErrorString

    /// Opens the driver library and finds every function; throws a one-line reason when either fails.
    public init(libraryName: String = CUDADriver.libraryName) throws(GPUUnavailable) {
        let library: DynamicLibrary
        do { library = try DynamicLibrary(libraryName) } catch {
            throw GPUUnavailable("\(libraryName) not found (no NVIDIA driver)")
        }
        func load<F>(_ symbol: String, _ type: F.Type) throws(GPUUnavailable) -> F {
            guard let function = library.function(symbol, as: type) else { throw GPUUnavailable("\(libraryName) lacks \(symbol)") }
            return function
        }
        self.library = library
        initialise = try load("cuInit", Init.self)
        driverGetVersion = try load("cuDriverGetVersion", IntOut.self)
        deviceGetCount = try load("cuDeviceGetCount", IntOut.self)
        deviceGet = try load("cuDeviceGet", DeviceGet.self)
        deviceGetName = try load("cuDeviceGetName", DeviceGetName.self)
        deviceTotalMemory = try load("cuDeviceTotalMem_v2", DeviceTotalMemory.self)
        deviceGetAttribute = try load("cuDeviceGetAttribute", DeviceGetAttribute.self)
        getErrorString = try load("cuGetErrorString", GetErrorString.self)
    }

    /// Where the loader found the library.
    public var path: String { library.path ?? library.name }

    /// The driver's status for this process: cuInit, the supported CUDA version, every device.
    /// Never throws: every failure becomes `.unusable` with the failing call and the driver's text.
    public static func status(libraryName: String = CUDADriver.libraryName) -> Status {
        do {
            return try CUDADriver(libraryName: libraryName).query()
        } catch {
            return .unusable(reason: "no GPU: \(error.reason)")
        }
    }

    func query() throws(GPUUnavailable) -> Status {
        try check(initialise(0), "cuInit")
        var version: Int32 = 0, count: Int32 = 0
        try check(driverGetVersion(&version), "cuDriverGetVersion")
        try check(deviceGetCount(&count), "cuDeviceGetCount")
        var devices: [Device] = []
        for ordinal in 0..<count {
            var device: Int32 = 0, major: Int32 = 0, minor: Int32 = 0, bytes = 0
            try check(deviceGet(&device, ordinal), "cuDeviceGet(\(ordinal))")
            var name = [CChar](repeating: 0, count: 256)
            try check(deviceGetName(&name, Int32(name.count), device), "cuDeviceGetName(\(ordinal))")
            try check(deviceTotalMemory(&bytes, device), "cuDeviceTotalMem(\(ordinal))")
            try check(deviceGetAttribute(&major, Self.computeCapabilityMajor, device), "cuDeviceGetAttribute(\(ordinal))")
            try check(deviceGetAttribute(&minor, Self.computeCapabilityMinor, device), "cuDeviceGetAttribute(\(ordinal))")
            devices.append(Device(ordinal: Int(ordinal), name: String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self),
                                  totalMemoryBytes: bytes, computeCapability: (Int(major), Int(minor))))
        }
        return .usable(driverVersion: CUDAVersion(driverEncoded: Int(version)), devices: devices)
    }

    /// cuDeviceGet: the CUdevice handle of a visible device's ordinal.
    func deviceHandle(ordinal: Int) throws(GPUUnavailable) -> Int32 {
        var device: Int32 = 0
        try check(deviceGet(&device, Int32(ordinal)), "cuDeviceGet(\(ordinal))")
        return device
    }

    private func check(_ result: Int32, _ call: String) throws(GPUUnavailable) {
        guard result != 0 else { return }
        throw GPUUnavailable("\(call) failed: \(errorText(result))")
    }

    /// cuGetErrorString's text ("no CUDA-capable device is detected") with the numeric code.
    func errorText(_ result: Int32) -> String {
        var text: UnsafePointer<CChar>?
        guard getErrorString(result, &text) == 0, let text else { return "CUDA error \(result)" }
        return "\(String(cString: text)) (CUDA error \(result))"
    }

    /// The kernel module's driver version ("550.54.15") from /proc/driver/nvidia/version, the
    /// number `nvidia-smi` shows; nil where the file is absent (no driver, or a container without it).
    public static func kernelModuleVersion(file: String = "/proc/driver/nvidia/version") -> String? {
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { return nil }
        // "NVRM version: NVIDIA UNIX x86_64 Kernel Module  550.54.15  Tue Mar  5 …"
        let words = text.split(whereSeparator: \.isWhitespace)
        guard let index = words.firstIndex(of: "Module"), index + 1 < words.count else { return nil }
        return String(words[index + 1])
    }
}

/// Why no GPU can be used, in one line.
public struct GPUUnavailable: Error, CustomStringConvertible {
    public let reason: String
    public init(_ reason: String) { self.reason = reason }
    public var description: String { reason }
}
