import XCTest
import Foundation
import TestSupport

/// `import DNCKit` from a package of one's own: the README's "Use it from your package"
/// manifest and program, exactly as printed there, in a new package under a temporary directory
/// that depends on this repository by path, built with the real `swift build` (a second full
/// build of the library, minutes) and run: it trains, saves and loads a DNC.
final class FreshPackageTests: XCTestCase {
    /// The repository root: Tests/CommandLineTests/<this file> is three levels down.
    static var repository: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    }

    /// The code block that follows `<!-- fresh-package: <name> -->` in README.md.
    static func readmeBlock(_ name: String) throws -> String {
        let readme = try String(contentsOf: repository.appendingPathComponent("README.md"), encoding: .utf8)
        let marker = "<!-- fresh-package: \(name) -->\n```swift\n"
        guard let start = readme.range(of: marker), let end = readme.range(of: "\n```\n", range: start.upperBound..<readme.endIndex) else {
            throw XCTSkip("README.md has no block marked '\(name)'")  // never reached while the README keeps them: asserted below
        }
        return String(readme[start.upperBound..<end.lowerBound]) + "\n"
    }

    func testAPackageOfItsOwnImportsDNCKitBuildsAndTrains() throws {
        let readme = try String(contentsOf: Self.repository.appendingPathComponent("README.md"), encoding: .utf8)
        XCTAssertTrue(readme.contains("<!-- fresh-package: Package.swift -->") && readme.contains("<!-- fresh-package: main.swift -->"),
                      "the README marks the manifest and the program this test builds")
        var manifest = try Self.readmeBlock("Package.swift")
        let program = try Self.readmeBlock("main.swift")
        let pathDependency = #".package(path: "../dnc-swift")"#, product = #"package: "dnc-swift""#
        XCTAssertTrue(manifest.contains(pathDependency) && manifest.contains(product), manifest)
        XCTAssertTrue(program.hasPrefix("import DNCKit\n"), program)
        // The checkout's folder name is its package identity, whatever the folder is called here.
        manifest = manifest.replacingOccurrences(of: pathDependency, with: ".package(path: \"\(Self.repository.path)\")")
            .replacingOccurrences(of: product, with: "package: \"\(Self.repository.lastPathComponent)\"")

        let package = Executables.temporaryDirectory("fresh-package").appendingPathComponent("CopyDemo")
        defer { try? FileManager.default.removeItem(at: package.deletingLastPathComponent()) }
        let sources = package.appendingPathComponent("Sources/CopyDemo")
        try FileManager.default.createDirectory(at: sources, withIntermediateDirectories: true)
        try manifest.write(to: package.appendingPathComponent("Package.swift"), atomically: true, encoding: .utf8)
        try program.write(to: sources.appendingPathComponent("main.swift"), atomically: true, encoding: .utf8)

        let started = Date()
        let build = try Executables.run(executable: URL(fileURLWithPath: "/usr/bin/env"),
                                        ["swift", "build", "--package-path", package.path], timeout: 1800)
        let seconds = Date().timeIntervalSince(started)
        print("fresh package: swift build took \(Int(seconds)) s")
        XCTAssertFalse(build.timedOut, "swift build ran past 30 minutes")
        XCTAssertEqual(build.status, 0, "swift build failed:\n\(build.output.suffix(4000))\n\(build.error.suffix(4000))")
        guard build.status == 0 else { return }

        let run = try Executables.run(executable: package.appendingPathComponent(".build/debug/CopyDemo"), [], timeout: 300)
        XCTAssertEqual(run.status, 0, run.error)
        XCTAssertTrue(run.output.contains("the loaded model gives the same outputs"), run.output)
        let losses = run.output.split(separator: "\n").first { $0.hasPrefix("loss ") }?
            .dropFirst("loss ".count).components(separatedBy: " -> ").compactMap(Double.init)
        XCTAssertEqual(losses?.count, 2, run.output)
        if let losses, losses.count == 2 { XCTAssertLessThan(losses[1], losses[0], "training lowers the loss: \(run.output)") }
    }
}
