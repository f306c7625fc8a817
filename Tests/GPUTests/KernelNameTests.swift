import XCTest
import DNCGPU

/// Every kernel is found by name, on the GPU (the first module that has it) and in the
/// emulation (the first table): two sources defining the same kernel name would make one of them
/// run with the other's arguments. The names must be unique across all kernel sources.
final class KernelNameTests: XCTestCase {
    func testKernelNamesAreUniqueAcrossSources() throws {
        var owner: [String: String] = [:]
        var duplicates: [String] = []
        for source in KernelSource.all {
            // "DNC_KERNEL DNC_NAME(dnc_x)(": the kernels, not the device functions.
            let pattern = try NSRegularExpression(pattern: #"DNC_KERNEL\s+DNC_NAME\((\w+)\)"#)
            let text = source.text as NSString
            for match in pattern.matches(in: source.text, range: NSRange(location: 0, length: text.length)) {
                let name = text.substring(with: match.range(at: 1))
                if let first = owner[name] {
                    duplicates.append("\(name) in \(first) and \(source.name)")
                } else {
                    owner[name] = source.name
                }
            }
        }
        XCTAssertGreaterThan(owner.count, 20, "the kernels were not found in the sources")
        XCTAssertEqual(duplicates, [], "kernel names defined twice")
    }
}
