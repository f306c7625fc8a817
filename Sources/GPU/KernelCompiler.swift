import Foundation

/// Compiles the project's CUDA C kernels to PTX with NVRTC, treating any warning as an error, and
/// keeps the PTX on disk so that a process compiles each kernel once per machine setup.
///
/// The cache key is everything the PTX depends on: the source and headers (a 64-bit FNV-1a hash
/// of their text, with the full key text stored next to the PTX and compared on reading, so a
/// hash collision is a miss, not a wrong kernel), the architecture, the options, NVRTC's
/// version, and the driver's CUDA version when there is a driver (the PTX it can load depends on
/// it: CUDAVersion.ptxIncompatibility).
public final class KernelCompiler: @unchecked Sendable {
    public let nvrtc: NVRTC
    public let driverVersion: CUDAVersion?
    /// nil: no disk cache.
    public let cacheDirectory: URL?
    /// NVRTC compilations this compiler ran (cache misses), for tests and diagnostics.
    public private(set) var compilations = 0

    /// `$XDG_CACHE_HOME/dnc-swift/ptx`, else `~/.cache/dnc-swift/ptx`.
    public static func defaultCacheDirectory(environment: [String: String] = ProcessInfo.processInfo.environment) -> URL {
        let base = environment["XDG_CACHE_HOME"].flatMap { $0.isEmpty ? nil : URL(fileURLWithPath: $0) }
            ?? FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".cache")
        return base.appendingPathComponent("dnc-swift/ptx")
    }

    public init(nvrtc: NVRTC, driverVersion: CUDAVersion?, cacheDirectory: URL? = KernelCompiler.defaultCacheDirectory()) {
        self.nvrtc = nvrtc
        self.driverVersion = driverVersion
        self.cacheDirectory = cacheDirectory
    }

    /// NVRTC's options for `architecture` ("sm_90"): PTX for the matching virtual architecture
    /// (compute_90), which the driver compiles for the device when it loads the module.
    public static func options(architecture: String, precision: KernelPrecision) throws(KernelCompilationError) -> [String] {
        guard architecture.hasPrefix("sm_"), let number = Int(architecture.dropFirst(3)), number > 0 else {
            throw KernelCompilationError(source: "-", architecture: architecture, message: "architecture '\(architecture)' is not sm_<number>", log: "")
        }
        return ["--gpu-architecture=compute_\(number)", "--std=c++17", precision.define]
    }

    /// The PTX of `source` for `architecture` in `precision`, from the cache or compiled now.
    /// Throws when NVRTC fails or its log has a warning (the log is in the error).
    public func ptx(for source: KernelSource, architecture: String, precision: KernelPrecision) throws(KernelCompilationError) -> String {
        let options = try Self.options(architecture: architecture, precision: precision)
        let headers = KernelSource.headers
        let key = cacheKey(source: source, headers: headers, options: options)
        let file = cacheDirectory?.appendingPathComponent(String(format: "%016llx", Self.fnv1a(key)))
        if let file, let cached = Self.read(file, key: key) { return cached }
        compilations += 1
        let output = nvrtc.compile(source: source.text, name: source.name, headers: headers, options: options)
        let fail = { (message: String) in KernelCompilationError(source: source.name, architecture: architecture, message: message, log: output.log) }
        if let error = output.error { throw fail(error) }
        if output.log.range(of: "warning", options: .caseInsensitive) != nil { throw fail("warnings (treated as errors)") }
        guard let ptx = output.ptx, !ptx.isEmpty else { throw fail("no PTX") }
        if let file { Self.write(ptx, key: key, to: file) }
        return ptx
    }

    func cacheKey(source: KernelSource, headers: [String: String], options: [String]) -> String {
        let text = ([source.text] + headers.keys.sorted().flatMap { [$0, headers[$0]!] }).joined(separator: "\u{0}")
        return ["dnc-swift PTX cache 1", "source \(source.name) fnv1a \(String(format: "%016llx", Self.fnv1a(text))) bytes \(text.utf8.count)",
                "options \(options.joined(separator: " "))", "nvrtc \(nvrtc.version)",
                "driver \(driverVersion.map(\.description) ?? "none")"].joined(separator: "\n")
    }

    /// 64-bit FNV-1a: a stable hash without a cryptography library (the key text guards against collisions).
    static func fnv1a(_ text: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in text.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
        return hash
    }

    private static func read(_ file: URL, key: String) -> String? {
        guard let storedKey = try? String(contentsOf: file.appendingPathExtension("key"), encoding: .utf8), storedKey == key else { return nil }
        return try? String(contentsOf: file.appendingPathExtension("ptx"), encoding: .utf8)
    }

    /// PTX first, then the key, each written to a temporary name and renamed: a reader that sees
    /// the key sees the whole PTX. A cache that cannot be written only costs a recompilation.
    private static func write(_ ptx: String, key: String, to file: URL) {
        let manager = FileManager.default
        try? manager.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        for (text, suffix) in [(ptx, "ptx"), (key, "key")] {
            let target = file.appendingPathExtension(suffix)
            let temporary = file.appendingPathExtension("\(suffix).\(getpid()).tmp")
            guard (try? text.write(to: temporary, atomically: false, encoding: .utf8)) != nil else { return }
            if rename(temporary.path, target.path) != 0 { try? manager.removeItem(at: temporary); return }
        }
    }
}

public struct KernelCompilationError: Error, CustomStringConvertible {
    public let source: String
    public let architecture: String
    public let message: String
    /// NVRTC's full log (may span lines).
    public let log: String

    public var description: String {
        "\(source) for \(architecture): \(message)" + (log.isEmpty ? "" : "\n\(log)")
    }
}
