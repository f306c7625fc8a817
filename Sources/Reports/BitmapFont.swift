/// A 5×7 pixel font of our own for the text in PNG figures (titles, axis labels, tick labels):
/// printable ASCII plus × → ← ↓ ↑ … · – ≤ ≥ µ. Characters it lacks are drawn as '?'.
public enum BitmapFont {
    public static let glyphWidth = 5
    public static let glyphHeight = 7
    /// Advance per character and per line at scale 1 (one column and two rows of spacing).
    public static let advance = 6
    public static let lineHeight = 9

    /// Width and height in pixels of `text` (one line) at `scale`.
    public static func size(_ text: String, scale: Int = 1) -> (width: Int, height: Int) {
        let count = text.count
        return (count == 0 ? 0 : (count * advance - 1) * scale, glyphHeight * scale)
    }

    /// Draws `text` with its top-left corner at (x, y); returns the width drawn.
    @discardableResult
    public static func draw(_ text: String, into image: inout RGBImage, x: Int, y: Int, scale: Int = 1, colour: RGB = .text) -> Int {
        var cursor = x
        for character in text {
            let rows = glyphs[character] ?? glyphs["?"]!
            for (row, bits) in rows.enumerated() {
                for column in 0..<glyphWidth where bits & (1 << (glyphWidth - 1 - column)) != 0 {
                    image.fill(x: cursor + column * scale, y: y + row * scale, width: scale, height: scale, colour)
                }
            }
            cursor += advance * scale
        }
        return cursor - x - (text.isEmpty ? 0 : scale)
    }

    /// Draws `text` rotated a quarter turn anticlockwise (read bottom to top), with the
    /// top-left corner of its bounding box at (x, y).
    public static func drawVertical(_ text: String, into image: inout RGBImage, x: Int, y: Int, scale: Int = 1, colour: RGB = .text) {
        let (width, _) = size(text, scale: scale)
        var cursor = 0
        for character in text {
            let rows = glyphs[character] ?? glyphs["?"]!
            for (row, bits) in rows.enumerated() {
                for column in 0..<glyphWidth where bits & (1 << (glyphWidth - 1 - column)) != 0 {
                    // (column, row) of the upright glyph → (row, width - 1 - column) rotated.
                    image.fill(x: x + row * scale, y: y + width - (cursor + (column + 1) * scale),
                               width: scale, height: scale, colour)
                }
            }
            cursor += advance * scale
        }
    }

    /// Whether the font has a glyph for `character`.
    public static func has(_ character: Character) -> Bool { glyphs[character] != nil }

    /// Each glyph as seven rows of five bits, most significant bit on the left.
    static let glyphs: [Character: [UInt8]] = {
        var table: [Character: [UInt8]] = [:]
        for (character, art) in art {
            let rows = art.split(separator: " ")
            precondition(rows.count == glyphHeight && rows.allSatisfy { $0.count == glyphWidth }, "bad glyph \(character)")
            table[character] = rows.map { row in row.reduce(UInt8(0)) { ($0 << 1) | ($1 == "#" ? 1 : 0) } }
        }
        return table
    }()

    // '#' is ink, '.' is paper; rows top to bottom.
    private static let art: [Character: String] = [
        " ": "..... ..... ..... ..... ..... ..... .....",
        "!": "..#.. ..#.. ..#.. ..#.. ..#.. ..... ..#..",
        "\"": ".#.#. .#.#. ..... ..... ..... ..... .....",
        "#": ".#.#. .#.#. ##### .#.#. ##### .#.#. .#.#.",
        "$": "..#.. .#### #.#.. .###. ..#.# ####. ..#..",
        "%": "##... ##..# ...#. ..#.. .#... #..## ...##",
        "&": ".##.. #..#. #.#.. .#... #.#.# #..#. .##.#",
        "'": "..#.. ..#.. ..... ..... ..... ..... .....",
        "(": "...#. ..#.. .#... .#... .#... ..#.. ...#.",
        ")": ".#... ..#.. ...#. ...#. ...#. ..#.. .#...",
        "*": "..... ..#.. #.#.# .###. #.#.# ..#.. .....",
        "+": "..... ..#.. ..#.. ##### ..#.. ..#.. .....",
        ",": "..... ..... ..... ..... .##.. ..#.. .#...",
        "-": "..... ..... ..... .###. ..... ..... .....",
        ".": "..... ..... ..... ..... ..... .##.. .##..",
        "/": "..... ....# ...#. ..#.. .#... #.... .....",
        "0": ".###. #...# #..## #.#.# ##..# #...# .###.",
        "1": "..#.. .##.. ..#.. ..#.. ..#.. ..#.. .###.",
        "2": ".###. #...# ....# ...#. ..#.. .#... #####",
        "3": "##### ...#. ..#.. ...#. ....# #...# .###.",
        "4": "...#. ..##. .#.#. #..#. ##### ...#. ...#.",
        "5": "##### #.... ####. ....# ....# #...# .###.",
        "6": "..##. .#... #.... ####. #...# #...# .###.",
        "7": "##### ....# ...#. ..#.. .#... .#... .#...",
        "8": ".###. #...# #...# .###. #...# #...# .###.",
        "9": ".###. #...# #...# .#### ....# ...#. .##..",
        ":": "..... .##.. .##.. ..... .##.. .##.. .....",
        ";": "..... .##.. .##.. ..... .##.. ..#.. .#...",
        "<": "...#. ..#.. .#... #.... .#... ..#.. ...#.",
        "=": "..... ..... ##### ..... ##### ..... .....",
        ">": ".#... ..#.. ...#. ....# ...#. ..#.. .#...",
        "?": ".###. #...# ....# ...#. ..#.. ..... ..#..",
        "@": ".###. #...# ....# .##.# #.#.# #.#.# .###.",
        "A": ".###. #...# #...# ##### #...# #...# #...#",
        "B": "####. #...# #...# ####. #...# #...# ####.",
        "C": ".###. #...# #.... #.... #.... #...# .###.",
        "D": "###.. #..#. #...# #...# #...# #..#. ###..",
        "E": "##### #.... #.... ####. #.... #.... #####",
        "F": "##### #.... #.... ####. #.... #.... #....",
        "G": ".###. #...# #.... #.### #...# #...# .####",
        "H": "#...# #...# #...# ##### #...# #...# #...#",
        "I": ".###. ..#.. ..#.. ..#.. ..#.. ..#.. .###.",
        "J": "..### ...#. ...#. ...#. ...#. #..#. .##..",
        "K": "#...# #..#. #.#.. ##... #.#.. #..#. #...#",
        "L": "#.... #.... #.... #.... #.... #.... #####",
        "M": "#...# ##.## #.#.# #.#.# #...# #...# #...#",
        "N": "#...# #...# ##..# #.#.# #..## #...# #...#",
        "O": ".###. #...# #...# #...# #...# #...# .###.",
        "P": "####. #...# #...# ####. #.... #.... #....",
        "Q": ".###. #...# #...# #...# #.#.# #..#. .##.#",
        "R": "####. #...# #...# ####. #.#.. #..#. #...#",
        "S": ".#### #.... #.... .###. ....# ....# ####.",
        "T": "##### ..#.. ..#.. ..#.. ..#.. ..#.. ..#..",
        "U": "#...# #...# #...# #...# #...# #...# .###.",
        "V": "#...# #...# #...# #...# #...# .#.#. ..#..",
        "W": "#...# #...# #...# #.#.# #.#.# #.#.# .#.#.",
        "X": "#...# #...# .#.#. ..#.. .#.#. #...# #...#",
        "Y": "#...# #...# .#.#. ..#.. ..#.. ..#.. ..#..",
        "Z": "##### ....# ...#. ..#.. .#... #.... #####",
        "[": ".###. .#... .#... .#... .#... .#... .###.",
        "\\": "..... #.... .#... ..#.. ...#. ....# .....",
        "]": ".###. ...#. ...#. ...#. ...#. ...#. .###.",
        "^": "..#.. .#.#. #...# ..... ..... ..... .....",
        "_": "..... ..... ..... ..... ..... ..... #####",
        "`": ".#... ..#.. ..... ..... ..... ..... .....",
        "a": "..... ..... .###. ....# .#### #...# .####",
        "b": "#.... #.... #.##. ##..# #...# #...# ####.",
        "c": "..... ..... .###. #.... #.... #...# .###.",
        "d": "....# ....# .##.# #..## #...# #...# .####",
        "e": "..... ..... .###. #...# ##### #.... .###.",
        "f": "..##. .#..# .#... ###.. .#... .#... .#...",
        "g": "..... .#### #...# #...# .#### ....# .###.",
        "h": "#.... #.... #.##. ##..# #...# #...# #...#",
        "i": "..#.. ..... .##.. ..#.. ..#.. ..#.. .###.",
        "j": "...#. ..... ..##. ...#. ...#. #..#. .##..",
        "k": "#.... #.... #..#. #.#.. ##... #.#.. #..#.",
        "l": ".##.. ..#.. ..#.. ..#.. ..#.. ..#.. .###.",
        "m": "..... ..... ##.#. #.#.# #.#.# #...# #...#",
        "n": "..... ..... #.##. ##..# #...# #...# #...#",
        "o": "..... ..... .###. #...# #...# #...# .###.",
        "p": "..... ..... ####. #...# ####. #.... #....",
        "q": "..... ..... .##.# #..## .#### ....# ....#",
        "r": "..... ..... #.##. ##..# #.... #.... #....",
        "s": "..... ..... .###. #.... .###. ....# ####.",
        "t": ".#... .#... ###.. .#... .#... .#..# ..##.",
        "u": "..... ..... #...# #...# #...# #..## .##.#",
        "v": "..... ..... #...# #...# #...# .#.#. ..#..",
        "w": "..... ..... #...# #...# #.#.# #.#.# .#.#.",
        "x": "..... ..... #...# .#.#. ..#.. .#.#. #...#",
        "y": "..... ..... #...# #...# .#### ....# .###.",
        "z": "..... ..... ##### ...#. ..#.. .#... #####",
        "{": "...#. ..#.. ..#.. .#... ..#.. ..#.. ...#.",
        "|": "..#.. ..#.. ..#.. ..#.. ..#.. ..#.. ..#..",
        "}": ".#... ..#.. ..#.. ...#. ..#.. ..#.. .#...",
        "~": "..... ..... .#... #.#.# ...#. ..... .....",
        "×": "..... #...# .#.#. ..#.. .#.#. #...# .....",
        "→": "..... ..#.. ...#. ##### ...#. ..#.. .....",
        "←": "..... ..#.. .#... ##### .#... ..#.. .....",
        "↓": "..#.. ..#.. ..#.. #.#.# .###. ..#.. .....",
        "↑": "..... ..#.. .###. #.#.# ..#.. ..#.. ..#..",
        "…": "..... ..... ..... ..... ..... ..... #.#.#",
        "·": "..... ..... ..... ..#.. ..... ..... .....",
        "–": "..... ..... ..... ##### ..... ..... .....",
        "—": "..... ..... ..... ##### ..... ..... .....",
        "≤": "...#. ..#.. .#... ..#.. ...#. ..... .###.",
        "≥": ".#... ..#.. ...#. ..#.. .#... ..... .###.",
        "µ": "..... ..... #...# #...# #..## ###.# #....",
        "−": "..... ..... ..... .###. ..... ..... .....",
    ]
}

extension BitmapFont {
    /// `text` broken at spaces into lines no wider than `width` pixels at `scale` (a word
    /// longer than a line is cut).
    public static func wrap(_ text: String, width: Int, scale: Int = 1) -> [String] {
        let perLine = max((width + scale) / (advance * scale), 1)
        var lines: [String] = []
        var current = ""
        for word in text.split(separator: " ", omittingEmptySubsequences: false).map(String.init) {
            var word = word
            let candidate = current.isEmpty ? word : current + " " + word
            if candidate.count <= perLine { current = candidate; continue }
            if !current.isEmpty { lines.append(current) }
            while word.count > perLine { lines.append(String(word.prefix(perLine))); word = String(word.dropFirst(perLine)) }
            current = word
        }
        if !current.isEmpty || lines.isEmpty { lines.append(current) }
        return lines
    }
}
