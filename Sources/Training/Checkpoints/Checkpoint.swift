import DNCLayers
import DNCNumerics

/// One named parameter of a checkpoint; its element offset in the flat layout is the sum of the
/// sizes of the parameters before it.
public struct CheckpointParameter<T: Real>: Equatable, Sendable {
    /// The `ParameterStore` slot name (PyTorch `state_dict` style, e.g. `rnn.weight_ih_l0`).
    public var name: String
    public var value: Tensor<T>

    public init(name: String, value: Tensor<T>) {
        self.name = name
        self.value = value
    }
}

/// Everything needed to resume a training run exactly: parameters, optimiser state, training
/// counters and the configuration that produced them.
///
/// The parameters are kept in one order (the store's slot order when taken from a store) and
/// the optimiser's buffers in the matching flat layout: buffer element `offset(p) + i` belongs
/// to element `i` of parameter `p`. `restore(into:)` re-lays the buffers out for a store that
/// registers the same parameters in another order. A checkpoint never holds NaN or ±Inf,
/// anywhere (parameters, optimiser buffers, configuration and counter doubles): a run that
/// diverged must not overwrite the last good state. See `CheckpointFile` for the file layout.
public struct Checkpoint<T: Real>: Equatable, Sendable {
    /// The `format` attribute that marks a file as a checkpoint.
    public static var formatName: String { "dnc-swift checkpoint" }
    /// The `format_version` this build writes and the only one it reads.
    public static var formatVersion: Int64 { 1 }

    /// The training step this state is from (names the file: `checkpoint-<step>.h5`).
    public var step: Int64
    /// The run configuration, as the trainer chooses to record it (flag name → value).
    public var configuration: [String: CheckpointValue]
    public var parameters: [CheckpointParameter<T>]
    /// nil when the run has no optimiser state to keep (e.g. evaluation only).
    public var optimiser: OptimiserState<T>?
    /// Integer training state: curriculum level, data position, RNG seeds and stream positions
    /// (store a `UInt64` seed as its `Int64` bit pattern). `step` is kept separately.
    public var counters: [String: Int64]
    /// Real-valued training state (e.g. a running loss average).
    public var scalars: [String: Double]

    public init(step: Int64, configuration: [String: CheckpointValue] = [:], parameters: [CheckpointParameter<T>],
                optimiser: OptimiserState<T>?, counters: [String: Int64] = [:], scalars: [String: Double] = [:]) {
        self.step = step
        self.configuration = configuration
        self.parameters = parameters
        self.optimiser = optimiser
        self.counters = counters
        self.scalars = scalars
    }

    /// A snapshot of `store` (copied, in slot order) and of the optimiser's exported state.
    public init(step: Int64, store: ParameterStore<T>, optimiser: OptimiserState<T>?,
                configuration: [String: CheckpointValue] = [:], counters: [String: Int64] = [:],
                scalars: [String: Double] = [:]) {
        self.init(step: step, configuration: configuration,
                  parameters: store.slots.map { CheckpointParameter(name: $0.name, value: store.tensor($0)) },
                  optimiser: optimiser, counters: counters, scalars: scalars)
    }

    /// Scalar parameters in all: the length of every optimiser buffer.
    public var parameterCount: Int { parameters.reduce(0) { $0 + $1.value.count } }

    /// Names that would collide with the format's own attributes.
    static var reservedConfigurationNames: Set<String> { ["format", "format_version", attributesChecksumName] }

    /// The root attribute holding `attributesChecksum` (int64, the UInt64's bit pattern).
    public static var attributesChecksumName: String { "attributes_checksum" }

    /// FNV-1a (64 bit) over everything a checkpoint keeps in attributes rather than in
    /// checksummed datasets: the configuration, the step, counters and scalars, the optimiser's
    /// algorithm and step, the parameter names in order (shapes live in the datasets' own
    /// checksummed headers, and a reshaped dataset is the model mismatch `restore` reports). Attribute values, the
    /// variable-length strings above all, live in parts of an HDF5 file (the global heap) that
    /// carry no checksum of their own, so without this a flipped bit in the configuration would
    /// load as a different experiment. Any change of one byte changes the sum (each FNV-1a step
    /// is a bijection of the state). Deterministic: sorted names, fixed-width little-endian numbers.
    public var attributesChecksum: UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        func bytes<S: Sequence>(_ data: S) where S.Element == UInt8 {
            for byte in data { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        }
        func number(_ value: UInt64) { bytes((0..<8).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) }) }
        func text(_ value: String) { number(UInt64(value.utf8.count)); bytes(value.utf8) }
        text("configuration")
        for (name, value) in configuration.sorted(by: { $0.key < $1.key }) {
            text(name)
            switch value {
            case .string(let v): text("s"); text(v)
            case .int(let v): text("i"); number(UInt64(bitPattern: v))
            case .double(let v): text("d"); number(v.bitPattern)
            case .bool(let v): text("b"); number(v ? 1 : 0)
            }
        }
        text("state"); number(UInt64(bitPattern: step))
        for (name, value) in counters.sorted(by: { $0.key < $1.key }) { text(name); number(UInt64(bitPattern: value)) }
        text("scalars")
        for (name, value) in scalars.sorted(by: { $0.key < $1.key }) { text(name); number(value.bitPattern) }
        text("optimizer")
        if let optimiser {
            text(optimiser.algorithm); number(UInt64(bitPattern: Int64(optimiser.step)))
            for name in optimiser.buffers.keys.sorted() { text(name) }
        }
        text("params")
        for parameter in parameters { text(parameter.name) }
        return hash
    }

    /// Checks what the file format needs and what every checkpoint promises: valid and unique
    /// names, finite numbers, optimiser buffers of the flat layout's size. The writer runs it
    /// before creating any file, the reader after reading one; `file` names the file in errors.
    func validate(file: String) throws(CheckpointError) {
        var seen = Set<String>()
        for parameter in parameters {
            try Self.requireValidName(parameter.name, what: "parameter", file: file)
            guard seen.insert(parameter.name).inserted else {
                throw .invalidContents(file: file, reason: "parameter '\(parameter.name)' appears twice")
            }
            try Self.requireFinite(parameter.value.storage, object: "params/\(parameter.name)", file: file)
        }
        if let optimiser {
            guard !optimiser.algorithm.isEmpty else { throw .invalidContents(file: file, reason: "optimiser algorithm is empty") }
            guard optimiser.step >= 0 else {
                throw .invalidContents(file: file, reason: "optimiser step \(optimiser.step) is negative")
            }
            for (name, buffer) in optimiser.buffers.sorted(by: { $0.key < $1.key }) {
                try Self.requireValidName(name, what: "optimiser buffer", file: file)
                guard buffer.count == parameterCount else {
                    throw .optimiserMismatch(file: file, reason: "buffer '\(name)' holds \(buffer.count) elements, the parameters \(parameterCount)")
                }
                try Self.requireFinite(buffer, object: "optimizer/\(name)", file: file)
            }
        }
        for (name, value) in configuration {
            guard !name.isEmpty, !Self.reservedConfigurationNames.contains(name) else {
                throw .invalidContents(file: file, reason: "configuration name '\(name)' is empty or reserved")
            }
            if case .double(let number) = value, !number.isFinite {
                throw .nonFinite(file: file, object: "@\(name)", index: 0)
            }
        }
        guard counters["step"] == nil, scalars["step"] == nil else {
            throw .invalidContents(file: file, reason: "'step' is the checkpoint's own counter, not a trainer counter")
        }
        for name in counters.keys where scalars[name] != nil {
            throw .invalidContents(file: file, reason: "state '\(name)' is both an integer counter and a scalar")
        }
        for (name, value) in scalars where !value.isFinite {
            throw .nonFinite(file: file, object: "state@\(name)", index: 0)
        }
        for name in Array(counters.keys) + Array(scalars.keys) where name.isEmpty {
            throw .invalidContents(file: file, reason: "a state name is empty")
        }
    }

    /// Copies the parameters into `store` by slot name and returns this checkpoint re-laid out
    /// in the store's slot order, optimiser buffers included, ready for `Optimiser.importState`.
    ///
    /// Everything is checked before `store` changes: both sides must have exactly the same
    /// parameter names and shapes, and with `expectingOptimiser` the checkpoint must hold that
    /// algorithm's state. On error the store is untouched.
    @discardableResult
    public func restore(into store: ParameterStore<T>, expectingOptimiser algorithm: String? = nil,
                        file: String = "(in memory)") throws(CheckpointError) -> Checkpoint<T> {
        let byName = Dictionary(parameters.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        let modelNames = Set(store.slots.map(\.name))
        let missing = store.slots.map(\.name).filter { byName[$0] == nil }
        if !missing.isEmpty { throw .missingParameters(file: file, names: missing) }
        let unexpected = parameters.map(\.name).filter { !modelNames.contains($0) }
        if !unexpected.isEmpty { throw .unexpectedParameters(file: file, names: unexpected) }
        for slot in store.slots where byName[slot.name]!.value.shape != slot.shape {
            throw .shapeMismatch(file: file, parameter: slot.name, checkpoint: byName[slot.name]!.value.shape, model: slot.shape)
        }
        if let algorithm {
            guard let optimiser else {
                throw .optimiserMismatch(file: file, reason: "the checkpoint has no optimiser state, expected \(algorithm)")
            }
            guard optimiser.algorithm == algorithm else {
                throw .optimiserMismatch(file: file, reason: "the checkpoint holds \(optimiser.algorithm) state, expected \(algorithm)")
            }
        }
        for (name, buffer) in optimiser?.buffers ?? [:] where buffer.count != store.count {
            throw .optimiserMismatch(file: file, reason: "buffer '\(name)' holds \(buffer.count) elements, the model has \(store.count) parameters")
        }

        var relaid = self
        relaid.parameters = store.slots.map { byName[$0.name]! }
        if relaid.parameters.map(\.name) != parameters.map(\.name), var state = optimiser {
            var oldOffsets: [String: Int] = [:]
            var offset = 0
            for parameter in parameters {
                oldOffsets[parameter.name] = offset
                offset += parameter.value.count
            }
            for (name, buffer) in state.buffers {
                var moved = [T](repeating: 0, count: buffer.count)
                for slot in store.slots {
                    let source = oldOffsets[slot.name]!
                    moved[slot.offset..<(slot.offset + slot.count)] = buffer[source..<(source + slot.count)]
                }
                state.buffers[name] = moved
            }
            relaid.optimiser = state
        }
        for slot in store.slots { store.set(slot, to: byName[slot.name]!.value) }
        return relaid
    }

    static func requireValidName(_ name: String, what: String, file: String) throws(CheckpointError) {
        // Names become HDF5 link names: no path separators, not "." or "..".
        guard !name.isEmpty, !name.contains("/"), name != ".", name != ".." else {
            throw .invalidContents(file: file, reason: "\(what) name '\(name)' cannot be an HDF5 dataset name")
        }
    }

    static func requireFinite(_ values: [T], object: String, file: String) throws(CheckpointError) {
        if let index = values.firstIndex(where: { !$0.isFinite }) {
            throw .nonFinite(file: file, object: object, index: index)
        }
    }
}
