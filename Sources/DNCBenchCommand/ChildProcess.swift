import Foundation

/// Runs a program to its end and returns its exit status and the last line of its standard
/// output that holds a JSON object, parsed, and every such line parsed (`objects`). Each
/// measurement runs in a process of its own (so that its peak memory is its own) and reports as
/// `--json`.
func runForJSONResult(executable: String, arguments: [String], environment: [String: String]? = nil) throws
    -> (status: Int32, object: [String: Any]?, line: String?, objects: [[String: Any]]) {
    let child = Process()
    child.executableURL = URL(fileURLWithPath: executable)
    child.arguments = arguments
    if let environment { child.environment = environment }
    let pipe = Pipe()
    child.standardOutput = pipe
    try child.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    child.waitUntilExit()
    let lines = String(decoding: data, as: UTF8.self).split(separator: "\n").filter { $0.hasPrefix("{") }
    let objects = try lines.compactMap { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    let line = lines.last.map(String.init)
    let object = try line.flatMap { try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any] }
    return (child.terminationStatus, object, line, objects)
}
