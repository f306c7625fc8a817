import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif

/// An SVG read back by Foundation's XML parser (not by the code that wrote it): a figure that
/// is not well-formed XML throws, and what a reader would see is listed element by element.
struct SVGInspection {
    struct Element {
        let name: String
        let attributes: [String: String]
        /// Character data directly inside (the words of a `<text>`).
        var content: String
    }

    let root: Element
    let elements: [Element]

    /// The words of every `<text>`, in document order.
    var texts: [String] { elements.filter { $0.name == "text" }.map(\.content) }
    func texts(role: String) -> [String] { elements.filter { $0.name == "text" && $0.attributes["class"] == role }.map(\.content) }
    func named(_ name: String) -> [Element] { elements.filter { $0.name == name } }
    var width: Int? { root.attributes["width"].flatMap { Int($0) } }
    var height: Int? { root.attributes["height"].flatMap { Int($0) } }

    init(_ svg: String) throws {
        let delegate = Collector()
        let parser = XMLParser(data: Data(svg.utf8))
        parser.delegate = delegate
        guard parser.parse(), let root = delegate.elements.first else {
            throw TestFailure("not well-formed XML (line \(parser.lineNumber), column \(parser.columnNumber)): "
                              + "\(parser.parserError.map { "\($0)" } ?? "no root element")")
        }
        self.root = root
        elements = Array(delegate.elements.dropFirst())
    }

    /// The PNG bytes of an `<image>`'s `data:` URI.
    static func png(of image: Element) throws -> [UInt8] {
        let prefix = "data:image/png;base64,"
        guard let href = image.attributes["href"], href.hasPrefix(prefix),
              let data = Data(base64Encoded: String(href.dropFirst(prefix.count))) else {
            throw TestFailure("<image> without a PNG data URI: \(image.attributes["href"]?.prefix(40) ?? "no href")")
        }
        return Array(data)
    }

    private final class Collector: NSObject, XMLParserDelegate {
        var elements: [Element] = []
        var open: [Int] = []

        func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                    attributes: [String: String] = [:]) {
            open.append(elements.count)
            elements.append(Element(name: name, attributes: attributes, content: ""))
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) {
            if let index = open.last { elements[index].content += string }
        }

        func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
            open.removeLast()
        }
    }
}
