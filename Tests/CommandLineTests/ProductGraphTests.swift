import XCTest
import Foundation
import TestSupport

/// The products' target graph, as `swift package describe` reads Package.swift: `DNCCore` (and
/// the models under it) links no HDF5, MPI, C shim or argument parser; `DNCKit` exports every
/// Swift library module.
final class ProductGraphTests: XCTestCase {
    func testDNCCoreLinksNoHDF5MPIOrArgumentParser() throws {
        let targets = try PackageGraph.describe()
        for name in ["DNCCore", "DNCModels"] {
            let (dependencies, products) = PackageGraph.closure(of: name, in: targets)
            XCTAssertTrue(dependencies.isDisjoint(with: ["CHDF5", "CMPI", "CDNCShim", "CZlib", "DNCStorage", "DNCTraining", "DNCDistribution"]),
                          "\(name) depends on \(dependencies.sorted())")
            XCTAssertTrue(products.isEmpty, "\(name) depends on products \(products.sorted())")
        }
        // The C it compiles is the index's scan kernel alone (no system library behind it).
        XCTAssertEqual(PackageGraph.closure(of: "DNCCore", in: targets).targets,
                       ["CBLAS", "CLibxsmm", "CQuantisedScan", "DNCNumerics", "DNCLayers", "DNCMemories", "DNCModels"])
    }

    func testDNCKitReachesEverySwiftLibraryModule() throws {
        let targets = try PackageGraph.describe()
        let libraries = Set(targets.values.filter { $0.type == "library" && $0.name.hasPrefix("DNC") && $0.name != "DNCKit" }.map(\.name))
        XCTAssertTrue(libraries.isSuperset(of: ["DNCNumerics", "DNCLayers", "DNCMemories", "DNCModels", "DNCStorage", "DNCTraining"]), "\(libraries)")
        XCTAssertEqual(libraries.subtracting(PackageGraph.closure(of: "DNCKit", in: targets).targets), [])
    }
}
