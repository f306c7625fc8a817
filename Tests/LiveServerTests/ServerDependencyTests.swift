import Foundation
import TestSupport
import XCTest

/// The HTTP server stack stays out of the libraries: only the `dnc-dist` executable reaches
/// Hummingbird (through LiveServer), as `swift package describe` reads Package.swift.
final class ServerDependencyTests: XCTestCase {
    /// Targets and products `name` reaches, directly or not.
    func reach(_ name: String, in targets: [String: PackageGraph.Target]) -> Set<String> {
        let closure = PackageGraph.closure(of: name, in: targets)
        return closure.targets.union(closure.products)
    }

    func testOnlyTheExecutableReachesTheServer() throws {
        let targets = try PackageGraph.describe()
        let server: Set<String> = ["LiveServer", "Hummingbird", "ServiceLifecycle", "NIOCore"]
        for library in ["DNCCore", "DNCKit"] {
            XCTAssertEqual(reach(library, in: targets).intersection(server), [], "\(library) reaches the server")
        }
        XCTAssertTrue(reach("DNCDistCommand", in: targets).isSuperset(of: server), "dnc-dist serves")
    }
}
