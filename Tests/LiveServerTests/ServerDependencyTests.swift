import Foundation
import TestSupport
import XCTest

/// The HTTP server stack stays out of the libraries: only the `dnc-dist` executable reaches
/// Hummingbird (through LiveServer), as `swift package describe` reads Package.swift.
final class ServerDependencyTests: XCTestCase {
    struct Target: Decodable {
        let name: String
        let target_dependencies: [String]?
        let product_dependencies: [String]?
    }
    struct Description: Decodable { let targets: [Target] }

    /// Targets and products `name` reaches, directly or not.
    func reach(_ name: String, in targets: [String: Target]) -> Set<String> {
        var seen = Set<String>(), pending = [name]
        while let next = pending.popLast() {
            guard let target = targets[next] else { continue }
            seen.formUnion(target.product_dependencies ?? [])
            for dependency in target.target_dependencies ?? [] where seen.insert(dependency).inserted { pending.append(dependency) }
        }
        return seen
    }

    func testOnlyTheExecutableReachesTheServer() throws {
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let scratch = Executables.temporaryDirectory("describe-serve")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let result = try Executables.run(executable: URL(fileURLWithPath: "/usr/bin/env"),
                                         ["swift", "package", "--package-path", repository.path, "--scratch-path", scratch.path,
                                          "describe", "--type", "json"], timeout: 300)
        XCTAssertEqual(result.status, 0, result.error)
        let targets = Dictionary(uniqueKeysWithValues: try JSONDecoder().decode(Description.self, from: Data(result.output.utf8))
            .targets.map { ($0.name, $0) })
        let server: Set<String> = ["LiveServer", "Hummingbird", "ServiceLifecycle", "NIOCore"]
        for library in ["DNCCore", "DNCKit"] {
            XCTAssertEqual(reach(library, in: targets).intersection(server), [], "\(library) reaches the server")
        }
        XCTAssertTrue(reach("DNCDistCommand", in: targets).isSuperset(of: server), "dnc-dist serves")
    }
}
