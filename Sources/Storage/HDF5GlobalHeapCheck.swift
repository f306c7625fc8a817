import CDNCShim
import Foundation

/// A check of an HDF5 file's global heap collections (where variable-length strings and arrays
/// live) before HDF5 reads them. Unlike the 1.8 metadata structures, a collection carries no
/// checksum, and HDF5 trusts its object sizes: one flipped bit in a size makes it copy far past
/// the collection and crash the process (SIGSEGV in memcpy) instead of reporting damage.
///
/// Layout (HDF5 file format spec, "Global Heap"): "GCOL", version 1, three reserved bytes, the
/// collection size (8 bytes, at least 4096), then objects: index (2), reference count (2),
/// reserved (4), size (8), data padded to a multiple of 8; index 0 is the trailing free space.
public enum HDF5GlobalHeapCheck {
    /// Nil when every collection's objects fit inside it; else what is wrong, in a few words.
    public static func problem(inFileAt path: String) -> String? {
        guard let data = try? Data(contentsOf: URL(fileURLWithPath: path), options: .alwaysMapped) else { return nil }
        return problem(in: data)
    }

    public static func problem(in data: Data) -> String? {
        let signature: [UInt8] = [0x47, 0x43, 0x4F, 0x4C, 0x01, 0x00, 0x00, 0x00]  // "GCOL", version 1
        return data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) -> String? in
            let bytes = raw.bindMemory(to: UInt8.self)
            let count = bytes.count
            func u64(_ at: Int) -> UInt64 {
                var value: UInt64 = 0
                for i in (0..<8).reversed() { value = value << 8 | UInt64(bytes[at + i]) }
                return value
            }
            func u16(_ at: Int) -> Int { Int(bytes[at]) | Int(bytes[at + 1]) << 8 }
            var start = 0
            while start + 16 <= count {
                guard let found = memchrSignature(bytes, from: start, signature) else { return nil }
                start = found + 1
                let size = u64(found + 8)
                // Only what can be a collection: HDF5 never makes one under 4096 bytes.
                guard size >= 4096, size <= UInt64(count - found) else {
                    if size >= 4096 { return "global heap at \(found): size \(size) runs past the end of the file" }
                    continue
                }
                let end = found + Int(size)
                var offset = found + 16
                while offset + 16 <= end {
                    let index = u16(offset)
                    let objectSize = u64(offset + 8)
                    if index == 0 {
                        // Free space: the rest of the collection (its size counts its own header).
                        guard objectSize <= UInt64(end - offset) else {
                            return "global heap at \(found): free space of \(objectSize) bytes runs past the collection"
                        }
                        break
                    }
                    guard objectSize <= UInt64(end - offset - 16) else {
                        return "global heap at \(found): object \(index) of \(objectSize) bytes runs past the collection"
                    }
                    offset += 16 + (Int(objectSize) + 7) / 8 * 8
                }
            }
            return nil
        }
    }

    /// The first occurrence of `signature` at or after `start` (memchr-driven: checkpoints can be large).
    private static func memchrSignature(_ bytes: UnsafeBufferPointer<UInt8>, from start: Int, _ signature: [UInt8]) -> Int? {
        guard let base = bytes.baseAddress, start < bytes.count else { return nil }
        let found = signature.withUnsafeBytes { needle in
            dnc_find_bytes(base + start, bytes.count - start, needle.baseAddress, needle.count)
        }
        guard let found else { return nil }
        return UnsafeRawPointer(found) - UnsafeRawPointer(base)
    }
}
