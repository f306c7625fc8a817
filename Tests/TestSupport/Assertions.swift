import Foundation
import XCTest

/// Runs a command-line tool (h5dump and the like) to completion; asserts it succeeded and
/// returns its standard output and error together.
public func runTool(_ tool: String, _ arguments: [String], file: StaticString = #filePath, line: UInt = #line) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: tool)
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    XCTAssertEqual(process.terminationStatus, 0, output, file: file, line: line)
    return output
}

/// Asserts that `body` throws an `E` accepted by `matches`, described in one line that mentions
/// every fragment (the file, the object, the shapes...).
public func assertOneLineError<E: Error & CustomStringConvertible, R>(_: E.Type, _ body: () throws -> R, mentions: [String],
                                                                    file: StaticString = #filePath, line: UInt = #line,
                                                                    _ matches: (E) -> Bool) {
    do {
        _ = try body()
        XCTFail("expected a \(E.self), nothing was thrown", file: file, line: line)
    } catch let error as E {
        XCTAssertTrue(matches(error), "unexpected error case: \(error)", file: file, line: line)
        let text = error.description
        XCTAssertFalse(text.contains("\n"), "description is not one line: \(text)", file: file, line: line)
        for fragment in mentions {
            XCTAssertTrue(text.contains(fragment), "'\(text)' does not mention '\(fragment)'", file: file, line: line)
        }
    } catch {
        XCTFail("expected a \(E.self), got \(error)", file: file, line: line)
    }
}
