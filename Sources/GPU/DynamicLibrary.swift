import Foundation

/// A shared library opened at run time with `dlopen`, so that the package builds, links and runs
/// on machines without CUDA: the CUDA driver (`libcuda.so.1`, installed with the NVIDIA kernel
/// driver) and NVRTC are looked up only when a command asks for them (issue #14). Swift reaches
/// `dlopen`/`dlsym` directly, so no C is needed for this (the project's rule: C only where Swift
/// cannot reach). The handle is never closed: function pointers taken from it live as long as the
/// process.
final class DynamicLibrary: @unchecked Sendable {
    /// The name or path it was opened with.
    let name: String
    private let handle: UnsafeMutableRawPointer

    /// Opens `name` (a soname searched the usual way, or a path). Throws the loader's message.
    init(_ name: String) throws(DynamicLibraryError) {
        guard let handle = dlopen(name, RTLD_NOW | RTLD_LOCAL) else {
            throw DynamicLibraryError(message: Self.lastError() ?? "\(name): cannot be opened")
        }
        self.name = name
        self.handle = handle
    }

    /// The first of `names` that opens, with the reason each earlier one did not.
    static func first(of names: [String]) -> (library: DynamicLibrary?, failures: [String]) {
        var failures: [String] = []
        for name in names {
            do { return (try DynamicLibrary(name), failures) } catch { failures.append(error.message) }
        }
        return (nil, failures)
    }

    /// The symbol `symbol` as a C function of type `F` (a `@convention(c)` function type), or nil
    /// when the library does not export it. The caller vouches that `F` is the symbol's C type.
    func function<F>(_ symbol: String, as type: F.Type) -> F? {
        guard let address = dlsym(handle, symbol) else { return nil }
        return unsafeBitCast(address, to: F.self)
    }

    /// The file the library was loaded from: `name` when it is a path, else the mapping of a
    /// file whose name starts like the soname ("libcuda.so…") in /proc/self/maps (dladdr, the
    /// direct answer, is a GNU extension Swift's Glibc module does not import).
    var path: String? {
        if name.contains("/") { return name }
        guard let stem = name.range(of: ".so").map({ String(name[..<$0.upperBound]) }),
              let maps = try? String(contentsOfFile: "/proc/self/maps", encoding: .utf8) else { return nil }
        for line in maps.split(separator: "\n") {
            guard let slash = line.firstIndex(of: "/") else { continue }
            let file = String(line[slash...])
            if file.split(separator: "/").last?.hasPrefix(stem) == true { return file }
        }
        return nil
    }

    private static func lastError() -> String? {
        guard let message = dlerror() else { return nil }
        return String(cString: message)
    }
}

struct DynamicLibraryError: Error {
    let message: String
}
