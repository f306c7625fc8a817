import Foundation
import TestSupport
import XCTest
@testable import DNCReports

final class PNGEncoderTests: XCTestCase {
    /// The chunk CRC is zlib's CRC-32, continued over type and data: known answers, including
    /// the empty continuation that zlib would read as "reset" if handed a null buffer.
    func testChunkChecksumsMatchKnownAnswers() {
        XCTAssertEqual(PNGEncoder.crc(Array("123456789".utf8)), 0xCBF4_3926)
        XCTAssertEqual(PNGEncoder.crc([], continuing: 0xCBF4_3926), 0xCBF4_3926)
        XCTAssertEqual(PNGEncoder.crc(Array("6789".utf8), continuing: PNGEncoder.crc(Array("12345".utf8))), 0xCBF4_3926)
        // Every PNG ends with the same 12 bytes: IEND's length, type and CRC.
        let png = PNGEncoder.encode(RGBImage(width: 1, height: 1))
        XCTAssertEqual(Array(png.suffix(12)), [0, 0, 0, 0, 0x49, 0x45, 0x4E, 0x44, 0xAE, 0x42, 0x60, 0x82])
    }

    func testSignatureAndHeaderCarryTheDimensions() throws {
        let png = PNGEncoder.encode(RGBImage(width: 7, height: 3))
        XCTAssertEqual(Array(png.prefix(8)), [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
        XCTAssertEqual(String(decoding: png[12..<16], as: UTF8.self), "IHDR")
        func u32(_ i: Int) -> Int { Int(png[i]) << 24 | Int(png[i + 1]) << 16 | Int(png[i + 2]) << 8 | Int(png[i + 3]) }
        XCTAssertEqual(u32(16), 7)
        XCTAssertEqual(u32(20), 3)
        XCTAssertEqual(Array(png[24..<29]), [8, 2, 0, 0, 0])
        XCTAssertEqual(String(decoding: png.suffix(8).prefix(4), as: UTF8.self), "IEND")
    }

    /// Python's zlib and struct decode what we wrote, pixel for pixel: noise (incompressible),
    /// gradients and flat areas.
    func testPythonDecodesEveryPixel() throws {
        var image = RGBImage(width: 97, height: 61)
        var state: UInt32 = 12345
        for y in 0..<61 {
            for x in 0..<97 {
                state = state &* 1_664_525 &+ 1_013_904_223
                let noisy = y < 20
                let colour = noisy ? RGB(UInt8(state >> 24), UInt8((state >> 16) & 255), UInt8((state >> 8) & 255))
                                   : RGB(UInt8(x * 2), UInt8(y * 3), UInt8((x / 10) * 20))
                image.set(x, y, colour)
            }
        }
        let points = [(0, 0), (96, 0), (13, 7), (50, 19), (0, 20), (96, 60), (45, 33), (71, 59)]
        let decoded = try PythonPNG.decode(PNGEncoder.encode(image, text: [("Title", "noise → flat")]), samples: points)
        XCTAssertEqual(decoded.width, 97)
        XCTAssertEqual(decoded.height, 61)
        XCTAssertEqual(decoded.colourType, 2)
        XCTAssertEqual(decoded.chunks, ["IHDR", "tEXt", "IDAT", "IEND"])
        XCTAssertEqual(decoded.text["Title"], "noise ? flat")
        XCTAssertEqual(decoded.samples, points.map { image[$0.0, $0.1].description })
        XCTAssertEqual(decoded.distinctColours, Set(stride(from: 0, to: image.pixels.count, by: 3).map {
            RGB(image.pixels[$0], image.pixels[$0 + 1], image.pixels[$0 + 2])
        }).count)
    }

    func testRepetitiveImagesCompressAndRoundTrip() throws {
        var image = RGBImage(width: 800, height: 600)
        image.fill(x: 100, y: 100, width: 300, height: 200, RGB(hex: 0x440154))
        for step in 0..<100 { image.fill(x: step * 8, y: step * 6, width: 8, height: 6, RGB(hex: 0x2B6CB0)) }
        let png = PNGEncoder.encode(image)
        XCTAssertLessThan(png.count, image.pixels.count / 50, "a mostly flat 800×600 image should compress more than 50×")
        let decoded = try PythonPNG.decode(png, samples: [(150, 150), (5, 500), (400, 300)])
        XCTAssertEqual(decoded.samples[0], "#440154")
        XCTAssertEqual(decoded.samples[1], "#ffffff")
        XCTAssertEqual(decoded.samples[2], image[400, 300].description)
    }

    /// `file` (libmagic) recognises the files with their dimensions.
    func testFileCommandRecognisesThePNG() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/file") else { throw XCTSkip("no /usr/bin/file") }
        let url = Executables.temporaryDirectory("png-file").appendingPathComponent("x.png")
        try PNGEncoder.write(RGBImage(width: 123, height: 45, background: RGB(hex: 0x31688E)), to: url)
        let result = try shell("/usr/bin/file", ["-b", url.path])
        XCTAssertTrue(result.output.hasPrefix("PNG image data, 123 x 45, 8-bit/color RGB, non-interlaced"), result.output)
    }
}
