/// `dnc-dist diagnostics`' lines about GPUs: the driver, each device, NVRTC, and whether NVRTC's
/// PTX can run on the driver. Each line says what was found or, in one line, why not.
public enum GPUReport {
    public static func lines(driver: CUDADriver.Status, driverPath: String?, kernelModuleVersion: String?,
                             nvrtc: Result<(version: CUDAVersion, path: String, architectures: [Int]?), GPUUnavailable>,
                             visibleDevices: String?) -> [String] {
        var lines: [String] = []
        var driverVersion: CUDAVersion?
        switch driver {
        case .unusable(let reason):
            lines.append("GPU: \(reason)")
        case .usable(let version, let devices):
            driverVersion = version
            let module = kernelModuleVersion.map { "NVIDIA driver \($0), " } ?? ""
            lines.append("GPU driver: \(module)CUDA \(version) (\(driverPath ?? CUDADriver.libraryName))")
            if devices.isEmpty { lines.append("GPU: no GPU: the driver shows no device") }
            for device in devices { lines.append("GPU \(device.ordinal): \(device.summary)") }
        }
        if let visibleDevices { lines.append("CUDA_VISIBLE_DEVICES: '\(visibleDevices)'") }
        switch nvrtc {
        case .failure(let error):
            lines.append("NVRTC: \(error.reason)")
        case .success(let found):
            let archs = found.architectures.map { list in
                list.isEmpty ? "" : ", sm_\(list.min()!)…sm_\(list.max()!)"
            } ?? ""
            lines.append("NVRTC: \(found.version) (\(found.path)\(archs))")
            if let driverVersion {
                lines.append(CUDAVersion.ptxIncompatibility(nvrtc: found.version, driver: driverVersion).map { "NVRTC vs driver: \($0)" }
                             ?? "NVRTC vs driver: NVRTC \(found.version) ≤ driver CUDA \(driverVersion): its PTX loads")
            }
        }
        lines.append(GPUReport.trainingLine)
        return lines
    }

    /// What -cuda N trains on a GPU (the last line of the report).
    public static let trainingLine = "GPU training: -cuda N trains the dense DNC on the GPU; SAM, SDNC, the DNC-MD options and -memory_type none train on the CPU"

    /// The lines for this process: queries the driver and looks for NVRTC.
    public static func current(environment: [String: String]) -> [String] {
        let status = CUDADriver.status()
        let driverPath: String? = if case .usable = status { (try? CUDADriver())?.path } else { nil }
        let nvrtc: Result<(version: CUDAVersion, path: String, architectures: [Int]?), GPUUnavailable>
        var kernels: String?
        do {
            let found = try NVRTC.load(environment: environment)
            nvrtc = .success((found.version, found.path, found.supportedArchitectures))
            kernels = kernelLine(nvrtc: found, driver: status)
        } catch {
            nvrtc = .failure(error)
        }
        return lines(driver: status, driverPath: driverPath, kernelModuleVersion: CUDADriver.kernelModuleVersion(),
                     nvrtc: nvrtc, visibleDevices: environment["CUDA_VISIBLE_DEVICES"]) + (kernels.map { [$0] } ?? [])
    }

    /// Whether every kernel source compiles (no cache: this checks NVRTC itself) for the GPUs'
    /// architectures, or for the A100's and H100's (sm_80, sm_90) when there is no GPU.
    static func kernelLine(nvrtc: NVRTC, driver: CUDADriver.Status) -> String {
        var architectures = ["sm_80", "sm_90"]
        var driverVersion: CUDAVersion?
        if case .usable(let version, let devices) = driver, !devices.isEmpty {
            driverVersion = version
            architectures = Array(Set(devices.map { "sm_\($0.computeCapability.major)\($0.computeCapability.minor)" })).sorted()
        }
        let compiler = KernelCompiler(nvrtc: nvrtc, driverVersion: driverVersion, cacheDirectory: nil)
        let sources = KernelSource.all
        for source in sources {
            for architecture in architectures {
                for precision in KernelPrecision.allCases {
                    do { _ = try compiler.ptx(for: source, architecture: architecture, precision: precision) } catch {
                        return "Kernels: \(source.name) (\(precision.rawValue)) for \(architecture): \(error.message)"
                            + (error.log.isEmpty ? "" : " — \(error.log.split(separator: "\n").first ?? "")")
                    }
                }
            }
        }
        return "Kernels: \(sources.count) CUDA C sources compile to PTX for \(architectures.joined(separator: ", ")) (f32, f64)"
    }
}
