import XCTest
import Foundation
import TestSupport

/// The products' target graph, as `swift package describe` reads Package.swift: `DNCCore` (and
/// the models under it) links no HDF5, MPI, C shim or argument parser; `DNCKit` exports every
/// Swift library module.
final class ProductGraphTests: XCTestCase {
    struct Target: Decodable {
        let name: String
        let type: String
        let target_dependencies: [String]?
        let product_dependencies: [String]?
    }
    struct Description: Decodable { let targets: [Target] }

    func describe() throws -> [String: Target] {
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        // Its own scratch path: `swift test` may hold the lock of the repository's .build.
        let scratch = Executables.temporaryDirectory("describe")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let result = try Executables.run(executable: URL(fileURLWithPath: "/usr/bin/env"),
                                         ["swift", "package", "--package-path", repository.path, "--scratch-path", scratch.path,
                                          "describe", "--type", "json"], timeout: 300)
        XCTAssertEqual(result.status, 0, result.error)
        let description = try JSONDecoder().decode(Description.self, from: Data(result.output.utf8))
        return Dictionary(uniqueKeysWithValues: description.targets.map { ($0.name, $0) })
    }

    /// Every target `name` depends on, directly or not, and the products (of other packages) among them.
    func closure(of name: String, in targets: [String: Target]) -> (targets: Set<String>, products: Set<String>) {
        var seen = Set<String>(), products = Set<String>(), pending = [name]
        while let next = pending.popLast() {
            guard let target = targets[next] else { continue }
            products.formUnion(target.product_dependencies ?? [])
            for dependency in target.target_dependencies ?? [] where seen.insert(dependency).inserted { pending.append(dependency) }
        }
        return (seen, products)
    }

    func testDNCCoreLinksNoHDF5MPIOrArgumentParser() throws {
        let targets = try describe()
        for name in ["DNCCore", "DNCModels"] {
            let (dependencies, products) = closure(of: name, in: targets)
            XCTAssertTrue(dependencies.isDisjoint(with: ["CHDF5", "CMPI", "CDNCShim", "CZlib", "DNCStorage", "DNCTraining", "DNCDistribution"]),
                          "\(name) depends on \(dependencies.sorted())")
            XCTAssertTrue(products.isEmpty, "\(name) depends on products \(products.sorted())")
        }
        XCTAssertEqual(closure(of: "DNCCore", in: targets).targets, ["CBLAS", "CLibxsmm", "DNCNumerics", "DNCLayers", "DNCMemories", "DNCModels"])
    }

    func testDNCKitReachesEverySwiftLibraryModule() throws {
        let targets = try describe()
        let libraries = Set(targets.values.filter { $0.type == "library" && $0.name.hasPrefix("DNC") && $0.name != "DNCKit" }.map(\.name))
        XCTAssertTrue(libraries.isSuperset(of: ["DNCNumerics", "DNCLayers", "DNCMemories", "DNCModels", "DNCStorage", "DNCTraining"]), "\(libraries)")
        XCTAssertEqual(libraries.subtracting(closure(of: "DNCKit", in: targets).targets), [])
    }
}
