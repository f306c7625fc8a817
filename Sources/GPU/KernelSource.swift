import CGPUKernels

/// A CUDA C source of Sources/CGPUKernels/kernels, as embedded in the binary at build time (the
/// same file the CPU emulation compiles, so what is tested is what NVRTC gets).
public struct KernelSource: Sendable, Hashable {
    /// The file name ("content_addressing.cu").
    public let name: String
    public let text: String

    /// Every kernel source.
    public static var all: [KernelSource] {
        (0..<Int(dnc_kernel_source_count())).map { index in
            KernelSource(name: String(cString: dnc_kernel_source_name(Int32(index))), text: String(cString: dnc_kernel_source_text(Int32(index))))
        }
    }

    /// The header the kernels include, by the name they include it with.
    public static var headers: [String: String] {
        [String(cString: dnc_kernel_prelude_name()): String(cString: dnc_kernel_prelude_text())]
    }

    public static func named(_ name: String) -> KernelSource? { all.first { $0.name == name } }
}

/// The element type a kernel is compiled for (the prelude's DNC_DOUBLE).
public enum KernelPrecision: String, Sendable, CaseIterable {
    case float32 = "f32", float64 = "f64"

    var define: String { "-DDNC_DOUBLE=\(self == .float64 ? 1 : 0)" }
}
