import DNCNumerics
import DNCStorage
import Foundation
import TestSupport
import XCTest
@testable import DNCReports

/// PNG decoding by an independent reader (Python's standard library: zlib and struct), so that
/// the project's encoder is not checked against itself.
enum PythonPNG {
    struct Decoded: Decodable {
        let width: Int
        let height: Int
        let colourType: Int
        let bitDepth: Int
        let chunks: [String]
        /// Colours "#rrggbb" at the requested points, in order.
        let samples: [String]
        /// Distinct colours in the image.
        let distinctColours: Int
        /// Fraction of pixels that differ from the most common colour.
        let nonBackground: Double
        let text: [String: String]
    }

    static let script = #"""
    import json, struct, sys, zlib
    path, points, pixels = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3] == 'pixels'
    data = open(path, 'rb').read()
    assert data[:8] == b'\x89PNG\r\n\x1a\n', 'bad signature'
    pos, chunks, idat, text, ihdr = 8, [], b'', {}, None
    while pos < len(data):
        length, kind = struct.unpack('>I4s', data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        crc, = struct.unpack('>I', data[pos + 8 + length:pos + 12 + length])
        assert zlib.crc32(kind + body) & 0xffffffff == crc, 'bad CRC in ' + kind.decode()
        chunks.append(kind.decode())
        if kind == b'IHDR': ihdr = struct.unpack('>IIBBBBB', body)
        elif kind == b'IDAT': idat += body
        elif kind == b'tEXt':
            k, v = body.split(b'\0', 1); text[k.decode('latin-1')] = v.decode('latin-1')
        pos += 12 + length
        if kind == b'IEND': break
    assert pos == len(data), 'data after IEND'
    width, height, depth, ctype, comp, filt, interlace = ihdr
    assert depth == 8 and ctype in (2, 6) and interlace == 0, 'unsupported PNG %r' % (ihdr,)
    bpp = 3 if ctype == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * bpp
    assert len(raw) == height * (stride + 1), 'wrong decompressed size'
    if not pixels:
        print(json.dumps({'width': width, 'height': height, 'colourType': ctype, 'bitDepth': depth, 'chunks': chunks,
                          'samples': [], 'distinctColours': 0, 'nonBackground': 0, 'text': text}))
        sys.exit(0)
    rows, prev = [], bytearray(stride)
    for y in range(height):
        f, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        if f == 2:
            line = bytearray((x + y) & 255 for x, y in zip(line, prev)); rows.append(line); prev = line; continue
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if f == 1: line[i] = (line[i] + a) & 255
            elif f == 2: line[i] = (line[i] + b) & 255
            elif f == 3: line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c; pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
            else: assert f == 0, 'bad filter %d' % f
        rows.append(line); prev = line
    def colour(x, y):
        r = rows[y]; return '#%02x%02x%02x' % (r[x * bpp], r[x * bpp + 1], r[x * bpp + 2])
    counts = {}
    for y in range(0, height):
        r = rows[y]
        for x in range(width):
            key = bytes(r[x * bpp:x * bpp + 3]); counts[key] = counts.get(key, 0) + 1
    common = max(counts.values())
    print(json.dumps({'width': width, 'height': height, 'colourType': ctype, 'bitDepth': depth, 'chunks': chunks,
                      'samples': [colour(x, y) for x, y in points], 'distinctColours': len(counts),
                      'nonBackground': 1 - common / float(width * height), 'text': text}))
    """#

    /// Decodes `url`; with `pixels` false only the structure is checked (signature, CRCs, zlib
    /// stream, decompressed size), which is much faster.
    static func decode(_ url: URL, samples: [(Int, Int)] = [], pixels: Bool = true) throws -> Decoded {
        let scriptURL = FileManager.default.temporaryDirectory.appendingPathComponent("decode_png_\(getpid()).py")
        try script.write(to: scriptURL, atomically: true, encoding: .utf8)
        let points = "[" + samples.map { "[\($0.0),\($0.1)]" }.joined(separator: ",") + "]"
        let process = Process()
        if let python = ProcessInfo.processInfo.environment["DNC_TEST_PYTHON"] {
            process.executableURL = URL(fileURLWithPath: python)
            process.arguments = [scriptURL.path, url.path, points, pixels ? "pixels" : "structure"]
        } else {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["python3", scriptURL.path, url.path, points, pixels ? "pixels" : "structure"]
        }
        let output = Pipe(), error = Pipe()
        process.standardOutput = output
        process.standardError = error
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        let errorText = String(decoding: error.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw TestFailure("Python could not decode \(url.lastPathComponent): \(errorText)")
        }
        return try JSONDecoder().decode(Decoded.self, from: data)
    }

    static func decode(_ png: [UInt8], samples: [(Int, Int)] = []) throws -> Decoded {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("report-test-\(UUID().uuidString).png")
        try Data(png).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        return try decode(url, samples: samples)
    }
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Runs a command, returning its status and output.
func shell(_ executable: String, _ arguments: [String], timeout: TimeInterval = 120) throws -> (status: Int32, output: String, error: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    let base = FileManager.default.temporaryDirectory.appendingPathComponent("report-shell-\(UUID().uuidString)")
    let out = base.appendingPathExtension("out"), err = base.appendingPathExtension("err")
    // A file that cannot be made surfaces as the FileHandle error below.
    _ = FileManager.default.createFile(atPath: out.path, contents: nil)
    _ = FileManager.default.createFile(atPath: err.path, contents: nil)
    defer { try? FileManager.default.removeItem(at: out); try? FileManager.default.removeItem(at: err) }
    process.standardOutput = try FileHandle(forWritingTo: out)
    process.standardError = try FileHandle(forWritingTo: err)
    try process.run()
    let deadline = Date().addingTimeInterval(timeout)
    while process.isRunning && Date() < deadline { usleep(20_000) }
    if process.isRunning { process.terminate(); process.waitUntilExit(); throw TestFailure("\(executable) timed out") }
    process.waitUntilExit()
    return (process.terminationStatus, (try? String(contentsOf: out, encoding: .utf8)) ?? "",
            (try? String(contentsOf: err, encoding: .utf8)) ?? "")
}

/// Writes a debug dump with the real layout: `step_<8 digits>/layer_<l>/<key>` with `axes`.
func writeDebugDump(_ url: URL, step: Int = 10, datasets: [(key: String, axes: String, tensor: Tensor<Float>)],
                    ints: [(key: String, axes: String, shape: [Int], values: [Int64])] = []) throws {
    let file = try HDF5File(path: url.path, mode: .create)
    try file.writeAttribute("format", "dnc-swift debug dump")
    let group = String(format: "step_%08d", step)
    try file.createGroup(group)
    try file.writeAttribute("step", step, at: group)
    try file.writeAttribute("batch_element", 0, at: group)
    try file.createGroup("\(group)/layer_0")
    for d in datasets {
        let path = "\(group)/layer_0/\(d.key)"
        try file.write(d.tensor, to: path)
        try file.writeAttribute("axes", d.axes, at: path)
    }
    for d in ints {
        let path = "\(group)/layer_0/\(d.key)"
        try file.write(ints: d.values, shape: d.shape, to: path)
        try file.writeAttribute("axes", d.axes, at: path)
    }
    try file.close()
}
