import Foundation

/// Finds the pytorch-dnc reference files: every match of a pattern such as `lstm_*.h5` in the
/// shared fixtures folder beside the package and in `$DNC_FIXTURE_DIR` when it is set.
public enum Fixtures {
    public static var directories: [URL] {
        let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        var result = [packageRoot.deletingLastPathComponent().appendingPathComponent("shared/fixtures")]
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
}
