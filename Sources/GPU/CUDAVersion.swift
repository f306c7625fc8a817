/// A CUDA version as the driver and NVRTC report it: `cuDriverGetVersion` encodes 12.4 as 12040
/// (1000 × major + 10 × minor); `nvrtcVersion` gives major and minor apart.
public struct CUDAVersion: Comparable, Hashable, Sendable, CustomStringConvertible {
    public let major: Int
    public let minor: Int

    public init(major: Int, minor: Int) {
        self.major = major
        self.minor = minor
    }

    /// From `cuDriverGetVersion`'s encoding (12040 → 12.4).
    public init(driverEncoded value: Int) {
        self.init(major: value / 1000, minor: (value % 1000) / 10)
    }

    public var description: String { "\(major).\(minor)" }

    public static func < (a: CUDAVersion, b: CUDAVersion) -> Bool { (a.major, a.minor) < (b.major, b.minor) }

    /// Why PTX from NVRTC `nvrtc` cannot run on a driver supporting CUDA `driver`, or nil when it
    /// can. The driver JIT-compiles PTX and refuses a PTX ISA newer than its own CUDA version
    /// (CUDA_ERROR_UNSUPPORTED_PTX_VERSION); minor-version compatibility covers the runtime
    /// library, not PTX. So NVRTC must not be newer than the driver, minor included.
    public static func ptxIncompatibility(nvrtc: CUDAVersion, driver: CUDAVersion) -> String? {
        guard nvrtc > driver else { return nil }
        return "NVRTC \(nvrtc) is newer than the driver's CUDA \(driver): the driver refuses its PTX "
            + "(use an NVRTC of CUDA \(driver) or older through DNC_NVRTC_LIBRARY, or update the NVIDIA driver)"
    }
}
