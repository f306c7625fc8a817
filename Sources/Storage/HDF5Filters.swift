@preconcurrency import CHDF5
import CDNCShim

/// The filters HDF5 runs over each chunk of a chunked dataset, in pipeline order: byte shuffle,
/// then gzip (deflate), then a Fletcher-32 checksum.
///
/// All three are built into every HDF5 (no plugins), so h5py, MATLAB and `h5dump` read the
/// result without extra software. Filters need chunked storage; a scalar or empty dataset has
/// nothing worth filtering and is stored contiguous, unfiltered.
public struct HDF5Filters: Equatable, Sendable {
    /// gzip level 1 (fastest) to 9 (smallest), or nil for no compression.
    public var deflateLevel: Int?
    /// Regroups each chunk's bytes by significance before gzip. Float tensors compress much
    /// better that way (exponents and high mantissa bytes repeat); it does nothing alone.
    public var shuffle: Bool
    /// A Fletcher-32 checksum per chunk, verified on every read: damaged data fails to read
    /// instead of coming back as wrong numbers.
    public var checksum: Bool

    public init(deflateLevel: Int? = nil, shuffle: Bool = false, checksum: Bool = false) {
        self.deflateLevel = deflateLevel
        self.shuffle = shuffle
        self.checksum = checksum
    }

    /// Contiguous, unfiltered storage.
    public static let none = HDF5Filters()
    /// Shuffle + gzip level 4: most of gzip-9's ratio on float tensors at a fraction of the time.
    /// The default for bulky logs such as debug dumps.
    public static let compressed = HDF5Filters(deflateLevel: 4, shuffle: true)
    /// Checksum only: data that must be detected when damaged (checkpoints) but compresses poorly.
    public static let checksummed = HDF5Filters(checksum: true)

    public var isEmpty: Bool { deflateLevel == nil && !shuffle && !checksum }

    /// Adds these filters to a dataset-creation property list that already has a chunk shape.
    /// Shuffle is skipped when the library lacks it (it only improves the ratio); a missing
    /// gzip or checksum filter is an error, because the caller asked for that property.
    func apply(to dcpl: hid_t, file: String, object: String) throws {
        let fail = { (reason: String) in HDF5Error.writeFailed(file: file, object: object, reason: reason) }
        if shuffle, H5Zfilter_avail(H5Z_FILTER_SHUFFLE) > 0, H5Pset_shuffle(dcpl) < 0 {
            throw fail(HDF5Library.lastError())
        }
        if let level = deflateLevel {
            guard (0...9).contains(level) else {
                throw HDF5Error.invalidArgument(file: file, object: object, reason: "gzip level \(level) is not in 0...9")
            }
            guard H5Zfilter_avail(H5Z_FILTER_DEFLATE) > 0 else { throw fail("this HDF5 build has no gzip filter") }
            if H5Pset_deflate(dcpl, UInt32(level)) < 0 { throw fail(HDF5Library.lastError()) }
        }
        if checksum {
            guard H5Zfilter_avail(H5Z_FILTER_FLETCHER32) > 0 else { throw fail("this HDF5 build has no Fletcher-32 filter") }
            if H5Pset_fletcher32(dcpl) < 0 { throw fail(HDF5Library.lastError()) }
        }
    }

    /// The filters recorded in a dataset-creation property list (other filters are ignored).
    init(reading dcpl: hid_t) {
        self.init()
        let count = H5Pget_nfilters(dcpl)
        guard count > 0 else { return }
        for index in 0..<UInt32(count) {
            var flags: UInt32 = 0
            var valueCount = 4
            var values = [UInt32](repeating: 0, count: valueCount)
            var config: UInt32 = 0
            let filter = H5Pget_filter2(dcpl, index, &flags, &valueCount, &values, 0, nil, &config)
            switch filter {
            case H5Z_FILTER_SHUFFLE: shuffle = true
            case H5Z_FILTER_DEFLATE: deflateLevel = valueCount > 0 ? Int(values[0]) : 0
            case H5Z_FILTER_FLETCHER32: checksum = true
            default: break
            }
        }
    }
}

extension HDF5Library {
    /// Chunks of at most this many bytes (HDF5's default chunk cache is 1 MiB, so one chunk
    /// of a fixed-shape dataset fits it).
    static let fixedChunkBytes = 1 << 20
    /// Extendible datasets grow a few rows at a time and are often small: smaller chunks waste
    /// less when the last chunk is mostly empty.
    static let extendibleChunkBytes = 1 << 18

    /// A chunk shape for `shape` of at most `targetBytes`: start from the whole shape and halve
    /// the leading dimensions first (rows, then row dimensions), so a chunk is a contiguous run
    /// of the row-major data whenever possible. All dimensions of `shape` must be positive.
    static func chunkShape(_ shape: [Int], elementSize: Int, targetBytes: Int) -> [Int] {
        var chunk = shape
        var axis = 0
        while axis < chunk.count, (elementCount(chunk) ?? Int.max) > max(1, targetBytes / elementSize) {
            if chunk[axis] > 1 {
                chunk[axis] = (chunk[axis] + 1) / 2
            } else {
                axis += 1
            }
        }
        return chunk
    }
}
