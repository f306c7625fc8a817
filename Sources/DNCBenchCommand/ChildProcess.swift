import Foundation

/// Runs a program to its end and returns its exit status and the last line of its standard
/// output that holds a JSON object, parsed. Each measurement runs in a process of its own (so
/// that its peak memory is its own) and reports as `--json`.
func runForJSONResult(executable: String, arguments: [String], environment: [String: String]? = nil) throws
    -> (status: Int32, object: [String: Any]?, line: String?) {
    let child = Process()
    child.executableURL = URL(fileURLWithPath: executable)
    child.arguments = arguments
    if let environment { child.environment = environment }
    let pipe = Pipe()
    child.standardOutput = pipe
    try child.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    child.waitUntilExit()
    let line = String(decoding: data, as: UTF8.self).split(separator: "\n").last(where: { $0.hasPrefix("{") }).map(String.init)
    let object = try line.flatMap { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    return (child.terminationStatus, object, line)
}
