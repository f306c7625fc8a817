import Foundation

/// Finds the pytorch-dnc reference files (see Tests/Fixtures/README.md): every match of a
/// pattern such as `lstm_*.h5` in the package's own `Tests/Fixtures` folder and, when it is set,
/// in `$DNC_FIXTURE_DIR` (for extra sizes someone generated locally). Nothing outside the
/// repository is searched, so a fresh clone tests exactly what it ships.
public enum Fixtures {
    /// `Tests/Fixtures` inside this package, found from this source file's own path
    /// (Tests/TestSupport/Fixtures.swift), so it works from any working directory.
    public static var shippedDirectory: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Fixtures")
    }

    public static var directories: [URL] {
        var result = [shippedDirectory]
        if let extra = ProcessInfo.processInfo.environment["DNC_FIXTURE_DIR"], !extra.isEmpty {
            result.append(URL(fileURLWithPath: extra))
        }
        return result
    }

    /// Paths of files named `<prefix>*.h5`, sorted, without duplicates.
    public static func files(prefix: String) -> [String] {
        var found = Set<String>()
        for directory in directories {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
            for name in names where name.hasPrefix(prefix) && name.hasSuffix(".h5") {
                found.insert(directory.appendingPathComponent(name).standardizedFileURL.path)
            }
        }
        return found.sorted()
    }

    /// Like `files(prefix:)`, but throws (so the calling test fails, it does not skip) when the
    /// package's own `Tests/Fixtures` holds no `<prefix>*.h5`. The parity tests are the only
    /// check against pytorch-dnc; a missing fixture must show up as a red test, not a quiet skip.
    public static func required(prefix: String) throws -> [String] {
        let all = files(prefix: prefix)
        let shipped = shippedDirectory.standardizedFileURL.path + "/"
        guard all.contains(where: { $0.hasPrefix(shipped) }) else {
            throw MissingFixture(prefix: prefix, directories: directories.map(\.path))
        }
        return all
    }

    /// The error `required(prefix:)` throws; its text says what was looked for and where.
    public struct MissingFixture: Error, CustomStringConvertible {
        public let prefix: String
        public let directories: [String]
        public var description: String {
            "no \(prefix)*.h5 fixture in the package's Tests/Fixtures (searched \(directories)); "
                + "the pytorch-dnc reference files ship with the repository, restore them from git"
        }
    }
}
