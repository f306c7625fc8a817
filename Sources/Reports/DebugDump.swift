import DNCNumerics
import DNCStorage
import Foundation

/// The index of one `debug-rank<r>.h5` file: which steps, layers and keys it holds (with shapes
/// and axis names), read without loading the tensors; `tensor(_:)` loads one.
public final class DebugDump {
    /// One dataset: `step_<8 digits>/layer_<l>/<key>`.
    public struct Entry: Equatable, Sendable {
        public let step: Int
        public let layer: Int
        public let key: String
        public let path: String
        public let shape: [Int]
        /// Axis names from the `axes` attribute ("time,cell,word"), else from the attached
        /// dimension scales, else generic names.
        public let axes: [String]
        public let batchElement: Int?
    }

    /// A loaded dataset: its values (integers converted), and names for the indices of its last
    /// axis when the file has them (`read_modes`' `modes` attribute).
    public struct Tensor: Sendable {
        public let entry: Entry
        public let values: [Float]
        public let lastAxisNames: [String]?
    }

    public let url: URL
    public var name: String { url.lastPathComponent }
    /// The rank in the file name (`debug-rank3.h5` → 3).
    public let rank: Int
    public let entries: [Entry]
    /// Groups or datasets that could not be read (the rest of the file is still shown).
    public let problems: [ReportProblem]
    /// The file was locked by the run writing it and was read from a snapshot copy.
    public var readFromSnapshot: Bool { snapshot != nil }
    private let file: HDF5File
    private let snapshot: URL?

    /// The rank in a `debug-rank<r>.h5` file name.
    public static func rank(fromFileName name: String) -> Int? {
        guard name.hasPrefix("debug-rank"), name.hasSuffix(".h5") else { return nil }
        return Int(name.dropFirst("debug-rank".count).dropLast(".h5".count))
    }

    public init(contentsOf url: URL) throws {
        self.url = url
        rank = Self.rank(fromFileName: url.lastPathComponent) ?? 0
        (file, snapshot) = try RunDirectory.openWithSnapshotIfLocked(url) { try HDF5File(path: $0.path, mode: .readOnly) }
        var entries: [Entry] = []
        var problems: [ReportProblem] = []
        let name = url.lastPathComponent
        for group in try file.children(of: "/") where group.hasPrefix("step_") {
            do {
                guard try file.isGroup(group) else { continue }
                let step = try file.hasAttribute("step", at: group) ? try file.readAttribute("step", at: group, as: Int.self)
                                                                    : Int(group.dropFirst(5)) ?? -1
                let batchElement = try file.hasAttribute("batch_element", at: group)
                    ? try file.readAttribute("batch_element", at: group, as: Int.self) : nil
                let layers = try file.children(of: group).filter { $0.hasPrefix("layer_") }
                    .sorted { (Int($0.dropFirst(6)) ?? 0) < (Int($1.dropFirst(6)) ?? 0) }
                if layers.isEmpty { problems.append(ReportProblem(file: name, "\(group) holds no layers")) }
                for layerGroup in layers {
                    let layer = Int(layerGroup.dropFirst(6)) ?? 0
                    for key in try file.children(of: "\(group)/\(layerGroup)") {
                        let path = "\(group)/\(layerGroup)/\(key)"
                        do {
                            guard try file.isDataset(path) else { continue }
                            let shape = try file.shape(of: path)
                            var axes = (0..<shape.count).map { $0 == 0 ? "time" : "axis\($0)" }
                            if try file.hasAttribute("axes", at: path) {
                                let named = try file.readAttribute("axes", at: path, as: String.self)
                                    .split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                                if named.count == shape.count { axes = named }
                            } else {
                                // A file written by other tools: the names of its dimension scales.
                                for (axis, name) in try file.dimensionNames(of: path).enumerated() {
                                    if let name, !name.isEmpty { axes[axis] = name }
                                }
                            }
                            entries.append(Entry(step: step, layer: layer, key: key, path: path, shape: shape, axes: axes,
                                                 batchElement: batchElement))
                        } catch {
                            problems.append(ReportProblem(file: name, "\(path) cannot be read: \(error)"))
                        }
                    }
                }
            } catch {
                problems.append(ReportProblem(file: name, "\(group) cannot be read: \(error)"))
            }
        }
        self.entries = entries.sorted { ($0.step, $0.layer, $0.key) < ($1.step, $1.layer, $1.key) }
        self.problems = problems
    }

    deinit {
        try? file.close()
        if let snapshot { try? FileManager.default.removeItem(at: snapshot) }
    }

    /// The dumped training steps, ascending.
    public var steps: [Int] { Array(Set(entries.map(\.step))).sorted() }

    /// The keys of the file, in the order the report shows them.
    public var keys: [String] { DebugKeyOrder.sorted(Array(Set(entries.map(\.key)))) }

    /// Loads one dataset as `Float` values (float64 rounded, integers converted).
    public func tensor(_ entry: Entry) throws -> Tensor {
        let values: [Float]
        if isIntegerElement(try file.elementType(of: entry.path)) {
            values = try file.readInts(entry.path).values.map(Float.init)
        } else {
            values = try file.readTensorConverting(entry.path, as: Float.self).storage
        }
        var names: [String]?
        if let last = entry.axes.last, entry.shape.count > 1 {
            let attribute = last + "s"
            if try file.hasAttribute(attribute, at: entry.path) {
                let list: [String]
                if try file.attributeElementCount(attribute, at: entry.path) > 1 {
                    list = try file.readAttribute(attribute, at: entry.path, as: [String].self)
                } else {
                    list = try file.readAttribute(attribute, at: entry.path, as: String.self).split(separator: ",")
                        .map { $0.trimmingCharacters(in: .whitespaces) }
                }
                if list.count == entry.shape.last { names = list }
            }
        }
        return Tensor(entry: entry, values: values, lastAxisNames: names)
    }
}

/// The order keys appear in: the dense DNC's state first (memory, links, weightings), then
/// gates, then any other key (sparse memories' read positions, visible memory, …) by name.
public enum DebugKeyOrder {
    public static let known = ["memory", "link_matrix", "precedence", "write_weights", "read_weights", "usage_vector",
                               "allocation_weights", "read_modes", "write_gate", "free_gates", "read_positions",
                               "visible_memory"]

    public static func sorted(_ keys: [String]) -> [String] {
        keys.sorted { a, b in
            let ia = known.firstIndex(of: a) ?? known.count, ib = known.firstIndex(of: b) ?? known.count
            return (ia, a) < (ib, b)
        }
    }
}
