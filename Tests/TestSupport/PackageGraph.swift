import Foundation

/// The package's target graph as `swift package describe` reads Package.swift, for the tests that
/// check what each library and executable links (ProductGraphTests, ServerDependencyTests).
public enum PackageGraph {
    public struct Target: Decodable, Sendable {
        public let name: String
        public let type: String
        public let target_dependencies: [String]?
        public let product_dependencies: [String]?
    }

    private struct Description: Decodable { let targets: [Target] }

    public struct DescribeFailed: Error, CustomStringConvertible {
        public let description: String
    }

    /// The targets by name. Runs `swift package describe` with a scratch path of its own: `swift
    /// test` may hold the lock of the repository's .build.
    public static func describe() throws -> [String: Target] {
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let scratch = Executables.temporaryDirectory("describe")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let result = try Executables.run(executable: URL(fileURLWithPath: "/usr/bin/env"),
                                         ["swift", "package", "--package-path", repository.path, "--scratch-path", scratch.path,
                                          "describe", "--type", "json"], timeout: 300)
        guard result.status == 0 else { throw DescribeFailed(description: "swift package describe failed: \(result.error)") }
        let description = try JSONDecoder().decode(Description.self, from: Data(result.output.utf8))
        return Dictionary(uniqueKeysWithValues: description.targets.map { ($0.name, $0) })
    }

    /// Every target `name` depends on, directly or not, and the products (of other packages) among them.
    public static func closure(of name: String, in targets: [String: Target]) -> (targets: Set<String>, products: Set<String>) {
        var seen = Set<String>(), products = Set<String>(), pending = [name]
        while let next = pending.popLast() {
            guard let target = targets[next] else { continue }
            products.formUnion(target.product_dependencies ?? [])
            for dependency in target.target_dependencies ?? [] where seen.insert(dependency).inserted { pending.append(dependency) }
        }
        return (seen, products)
    }
}
