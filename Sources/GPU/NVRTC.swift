import Foundation

/// NVRTC, CUDA's run-time compiler of CUDA C++ to PTX, opened at run time like the driver. It
/// needs no GPU, so kernels can be compiled (and tested) on any machine that has the library,
/// e.g. from the `nvidia-cuda-nvrtc` Python wheel.
public final class NVRTC: @unchecked Sendable {
    /// The environment variable naming the library file to use before any search.
    public static let environmentVariable = "DNC_NVRTC_LIBRARY"
    /// Sonames tried in order, newest first: a toolkit or wheel installs the versioned name,
    /// `libnvrtc.so` only comes with development files.
    public static let searchNames = ["libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so.11.2", "libnvrtc.so"]

    private typealias Version = @convention(c) (UnsafeMutablePointer<Int32>?, UnsafeMutablePointer<Int32>?) -> Int32
    private typealias CreateProgram = @convention(c) (UnsafeMutablePointer<OpaquePointer?>?, UnsafePointer<CChar>?, UnsafePointer<CChar>?, Int32,
                                                      UnsafePointer<UnsafePointer<CChar>?>?, UnsafePointer<UnsafePointer<CChar>?>?) -> Int32
    private typealias CompileProgram = @convention(c) (OpaquePointer?, Int32, UnsafePointer<UnsafePointer<CChar>?>?) -> Int32
    private typealias GetSize = @convention(c) (OpaquePointer?, UnsafeMutablePointer<Int>?) -> Int32
    private typealias GetText = @convention(c) (OpaquePointer?, UnsafeMutablePointer<CChar>?) -> Int32
    private typealias DestroyProgram = @convention(c) (UnsafeMutablePointer<OpaquePointer?>?) -> Int32
    private typealias GetErrorString = @convention(c) (Int32) -> UnsafePointer<CChar>?
    private typealias IntOut = @convention(c) (UnsafeMutablePointer<Int32>?) -> Int32

    private let library: DynamicLibrary
    private let versionFunction: Version, createProgram: CreateProgram, compileProgram: CompileProgram
    private let getProgramLogSize: GetSize, getProgramLog: GetText, getPTXSize: GetSize, getPTX: GetText
    private let destroyProgram: DestroyProgram, getErrorString: GetErrorString
    private let getNumSupportedArchs: IntOut?, getSupportedArchs: IntOut?

    /// The library's CUDA version (nvrtcVersion).
    public let version: CUDAVersion

    /// Opens the library at `path` (a file or a soname) and finds every function.
    public init(path: String) throws(GPUUnavailable) {
        Self.loadBuiltins(nextTo: path)
        let library: DynamicLibrary
        do { library = try DynamicLibrary(path) } catch { throw GPUUnavailable(error.message) }
        func load<F>(_ symbol: String, _ type: F.Type) throws(GPUUnavailable) -> F {
            guard let function = library.function(symbol, as: type) else { throw GPUUnavailable("\(path) lacks \(symbol)") }
            return function
        }
        self.library = library
        versionFunction = try load("nvrtcVersion", Version.self)
        createProgram = try load("nvrtcCreateProgram", CreateProgram.self)
        compileProgram = try load("nvrtcCompileProgram", CompileProgram.self)
        getProgramLogSize = try load("nvrtcGetProgramLogSize", GetSize.self)
        getProgramLog = try load("nvrtcGetProgramLog", GetText.self)
        getPTXSize = try load("nvrtcGetPTXSize", GetSize.self)
        getPTX = try load("nvrtcGetPTX", GetText.self)
        destroyProgram = try load("nvrtcDestroyProgram", DestroyProgram.self)
        getErrorString = try load("nvrtcGetErrorString", GetErrorString.self)
        // CUDA 11.2 and later only.
        getNumSupportedArchs = library.function("nvrtcGetNumSupportedArchs", as: IntOut.self)
        getSupportedArchs = library.function("nvrtcGetSupportedArchs", as: IntOut.self)
        var major: Int32 = 0, minor: Int32 = 0
        guard versionFunction(&major, &minor) == 0 else { throw GPUUnavailable("\(path): nvrtcVersion failed") }
        version = CUDAVersion(major: Int(major), minor: Int(minor))
    }

    /// Where the loader found the library.
    public var path: String { library.path ?? library.name }

    /// NVRTC opens `libnvrtc-builtins.so.X.Y` by soname when it compiles; outside the toolkit's
    /// library directory (the `nvidia-cuda-nvrtc` wheel, a path in DNC_NVRTC_LIBRARY) the loader
    /// would not find it ("failed to open libnvrtc-builtins"). Opening it first, from the directory
    /// of the library file, makes that later lookup find the loaded copy.
    private static func loadBuiltins(nextTo path: String) {
        guard path.contains("/") else { return }
        let directory = (path as NSString).deletingLastPathComponent
        let names = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        for name in names.sorted() where name.hasPrefix("libnvrtc-builtins.so") {
            _ = try? DynamicLibrary(directory + "/" + name)
        }
    }

    /// NVRTC from `DNC_NVRTC_LIBRARY` when set (and only from there: a path the user gave that
    /// fails is reported, not silently replaced), else the first that loads of `searchNames`, the
    /// CUDA toolkits' libraries (/usr/local/cuda*), and the `nvidia-*` wheels of the `python3` on
    /// the PATH (PyTorch, CuPy and JAX install NVRTC there). With `driver` given, the first one
    /// not newer than the driver wins (the driver refuses newer PTX: CUDAVersion.ptxIncompatibility),
    /// else the first found. Throws one line naming what was tried.
    public static func load(environment: [String: String] = ProcessInfo.processInfo.environment,
                            preferringAtMost driver: CUDAVersion? = nil) throws(GPUUnavailable) -> NVRTC {
        if let path = environment[environmentVariable], !path.isEmpty {
            do { return try NVRTC(path: path) } catch {
                throw GPUUnavailable("\(environmentVariable)=\(path): \(error.reason)")
            }
        }
        var newer: NVRTC?
        // Lazily: python3 starts only when nothing before it would do.
        let places: [() -> [String]] = [{ searchNames }, { toolkitLibraries() }, { pythonPackageLibraries(environment: environment) }]
        for place in places {
            for name in place() {
                guard let nvrtc = try? NVRTC(path: name) else { continue }
                guard let driver, nvrtc.version > driver else { return nvrtc }
                if newer == nil { newer = nvrtc }
            }
        }
        if let newer { return newer }
        throw GPUUnavailable("not found (tried \(searchNames.joined(separator: ", ")), \(toolkitDirectories.joined(separator: ", ")), "
                             + "/usr/local/cuda-*/lib64 and python3's site-packages/nvidia/*/lib; set \(environmentVariable) to the library file)")
    }

    /// The `libnvrtc.so.N` files of the `nvidia-*` wheels (`nvidia/cuda_nvrtc/lib` for CUDA 12,
    /// `nvidia/cu13/lib` for CUDA 13) in the directories of `python3`'s `sys.path`, in `sys.path`
    /// and package-name order (the caller prefers one not newer than the driver); none when there
    /// is no python3.
    static func pythonPackageLibraries(environment: [String: String]) -> [String] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", "import sys; print(\"\\n\".join(sys.path))"]
        process.environment = environment
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return [] }
        let output = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { return [] }
        let manager = FileManager.default
        var found: [String] = []
        for directory in String(decoding: output, as: UTF8.self).split(separator: "\n").map(String.init) where directory.hasPrefix("/") {
            let nvidia = directory + "/nvidia"
            for package in ((try? manager.contentsOfDirectory(atPath: nvidia)) ?? []).sorted() {
                let lib = "\(nvidia)/\(package)/lib"
                found += ((try? manager.contentsOfDirectory(atPath: lib)) ?? [])
                    .filter { $0.hasPrefix("libnvrtc.so.") && !$0.contains("alt") }.sorted(by: >).map { "\(lib)/\($0)" }
            }
        }
        var seen = Set<String>()
        return found.filter { seen.insert($0).inserted }
    }

    /// Where CUDA toolkits install their libraries when the loader is not told (no ldconfig entry).
    static let toolkitDirectories = ["/usr/local/cuda/lib64", "/usr/local/cuda/targets/x86_64-linux/lib"]

    /// The versioned `libnvrtc.so.N` files in the toolkit directories and in versioned toolkits
    /// (/usr/local/cuda-12.8/lib64), newest first by name.
    static func toolkitLibraries() -> [String] {
        let manager = FileManager.default
        let versioned = ((try? manager.contentsOfDirectory(atPath: "/usr/local")) ?? []).filter { $0.hasPrefix("cuda-") }.sorted(by: >)
            .map { "/usr/local/\($0)/lib64" }
        return (toolkitDirectories + versioned).flatMap { directory in
            ((try? manager.contentsOfDirectory(atPath: directory)) ?? [])
                .filter { $0.hasPrefix("libnvrtc.so.") && !$0.contains("alt") }.sorted(by: >).map { "\(directory)/\($0)" }
        }
    }

    /// The virtual architectures this NVRTC compiles for (75 for sm_75), when it can say.
    public var supportedArchitectures: [Int]? {
        guard let getNumSupportedArchs, let getSupportedArchs else { return nil }
        var count: Int32 = 0
        guard getNumSupportedArchs(&count) == 0, count > 0 else { return nil }
        var archs = [Int32](repeating: 0, count: Int(count))
        guard getSupportedArchs(&archs) == 0 else { return nil }
        return archs.map(Int.init)
    }

    /// The outcome of one compilation: PTX when it succeeded, and the compiler's log either way.
    public struct Output: Sendable {
        public let ptx: String?
        public let log: String
        /// NVRTC's result text when compilation failed ("NVRTC_ERROR_COMPILATION").
        public let error: String?
    }

    /// Compiles `source` (named `name` in messages) with `headers` (include name → text) and
    /// `options` (e.g. "--gpu-architecture=compute_90").
    public func compile(source: String, name: String, headers: [String: String] = [:], options: [String]) -> Output {
        let headerNames = headers.keys.sorted()
        return withCStrings(headerNames.map { headers[$0]! }) { headerTexts in
            withCStrings(headerNames) { includeNames in
                withCStrings(options) { optionPointers in
                    var program: OpaquePointer?
                    let created = createProgram(&program, source, name, Int32(headerNames.count),
                                                headerNames.isEmpty ? nil : headerTexts, headerNames.isEmpty ? nil : includeNames)
                    guard created == 0 else { return Output(ptx: nil, log: "", error: errorText(created)) }
                    defer { _ = destroyProgram(&program) }
                    let compiled = compileProgram(program, Int32(options.count), optionPointers)
                    let log = text(program, size: getProgramLogSize, get: getProgramLog) ?? ""
                    guard compiled == 0 else { return Output(ptx: nil, log: log, error: errorText(compiled)) }
                    guard let ptx = text(program, size: getPTXSize, get: getPTX) else {
                        return Output(ptx: nil, log: log, error: "nvrtcGetPTX failed")
                    }
                    return Output(ptx: ptx, log: log, error: nil)
                }
            }
        }
    }

    private func errorText(_ result: Int32) -> String {
        getErrorString(result).map { String(cString: $0) } ?? "NVRTC error \(result)"
    }

    /// A NUL-terminated text NVRTC hands out in two calls (size, then contents).
    private func text(_ program: OpaquePointer?, size: GetSize, get: GetText) -> String? {
        var count = 0
        guard size(program, &count) == 0 else { return nil }
        guard count > 1 else { return "" }
        var buffer = [CChar](repeating: 0, count: count)
        guard get(program, &buffer) == 0 else { return nil }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// Calls `body` with a C array of the strings, valid only during the call.
func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> R) -> R {
    let copies = strings.map { strdup($0) }
    defer { copies.forEach { free($0) } }
    let pointers = copies.map { UnsafePointer<CChar>($0) } + [nil]
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}
