@preconcurrency import CHDF5
import CDNCShim
import DNCNumerics

/// Process-wide HDF5 plumbing shared by the file, dataset and attribute code.
enum HDF5Library {
    /// H5P_DEFAULT and H5S_ALL, which Swift imports as `Int32` rather than `hid_t`.
    static let defaultList = hid_t(H5P_DEFAULT)
    static let allSelection = hid_t(H5S_ALL)

    /// Turns off HDF5's stderr error dump on the calling thread. Expected failures (a missing
    /// attribute, a file that is not HDF5) become Swift errors, so the dump would only be noise.
    /// The setting is per thread in the thread-safe build, hence a call at every entry point.
    static func prepare() {
        _ = dnc_h5_silence_errors()
    }

    /// The current thread's HDF5 error stack as one line, cleared afterwards. Call it straight
    /// after the failing HDF5 call: any other HDF5 call in between resets the stack.
    static func lastError(_ fallback: String = "HDF5 gave no details") -> String {
        var buffer = [CChar](repeating: 0, count: 1024)
        let entries = buffer.withUnsafeMutableBufferPointer { dnc_h5_error_message($0.baseAddress, $0.count) }
        guard entries > 0 else { return fallback }
        let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        let text = String(decoding: bytes, as: UTF8.self)
        return text.isEmpty ? fallback : text
    }

    /// The in-memory HDF5 type of a `Real` element, or nil for a `Real` this layer does not know.
    static func nativeType<T: Real>(of _: T.Type) -> hid_t? {
        if T.self == Float.self { return dnc_h5t_native_float() }
        if T.self == Double.self { return dnc_h5t_native_double() }
        return nil
    }

    static func elementType<T: Real>(of _: T.Type) -> HDF5ElementType {
        if T.self == Float.self { return .float32 }
        if T.self == Double.self { return .float64 }
        return .other(String(describing: T.self))
    }

    /// Elements in `shape`, or nil when a dimension is negative or the product overflows `Int`.
    static func elementCount(_ shape: [Int]) -> Int? {
        var count = 1
        for dim in shape {
            guard dim >= 0 else { return nil }
            let (product, overflow) = count.multipliedReportingOverflow(by: dim)
            if overflow { return nil }
            count = product
        }
        return count
    }

    /// Shape of an open dataspace: `[]` for a scalar, nil for a null (empty) dataspace or on error.
    static func shape(ofSpace space: hid_t) -> [Int]? {
        switch H5Sget_simple_extent_type(space) {
        case H5S_SCALAR:
            return []
        case H5S_SIMPLE:
            let rank = Int(H5Sget_simple_extent_ndims(space))
            guard rank >= 0 else { return nil }
            var dims = [hsize_t](repeating: 0, count: max(rank, 1))
            guard H5Sget_simple_extent_dims(space, &dims, nil) == Int32(rank) else { return nil }
            var shape: [Int] = []
            for dim in dims.prefix(rank) {
                guard dim <= hsize_t(Int.max) else { return nil }
                shape.append(Int(dim))
            }
            return shape
        default:
            return nil
        }
    }

    /// A new dataspace for `shape` (`[]` makes a scalar); the caller closes it. Returns a
    /// negative id on failure, like HDF5.
    static func makeSpace(_ shape: [Int]) -> hid_t {
        if shape.isEmpty { return H5Screate(H5S_SCALAR) }
        let dims = shape.map { hsize_t($0) }
        return H5Screate_simple(Int32(dims.count), dims, nil)
    }
}

/// How a process ends after an error with HDF5 files possibly left in a broken state.
public enum HDF5Process {
    /// HDF5 files still open in this process (0 when every file was closed).
    public static var openFileCount: Int { Int(dnc_h5_open_file_count()) }

    /// Ends the process with `code`: stdio is flushed, but HDF5's atexit shutdown does not run.
    /// That shutdown closes every file still open, and on a file whose write or close already
    /// failed (disk full) it crashes (SIGSEGV in H5F__close_cb), replacing the error and its exit
    /// code with a signal. Every file this package writes is flushed (or removed) before it
    /// throws, so skipping the shutdown loses nothing.
    public static func exit(_ code: Int32) -> Never {
        dnc_exit_skipping_library_shutdown(code)
    }
}
