import Foundation

/// The run configuration as a checkpoint's root attributes, each in its own type (batch_size
/// int64, lr float64, debug a boolean, task a string), so h5py and MATLAB read numbers as
/// numbers. Files of earlier versions hold every setting as a string; readers must accept both
/// (resuming reads `configuration_json`, never these attributes, so either kind resumes).
extension TrainingConfiguration {
    public var checkpointAttributes: [String: CheckpointValue] {
        // The stored properties carry the types; the JSON keys (`keyValues`) say which settings
        // a checkpoint records, with their text for the rest (choices, lists).
        var typed: [String: CheckpointValue] = [:]
        for child in Mirror(reflecting: self).children {
            guard let label = child.label else { continue }
            switch child.value {
            case let flag as Bool: typed[label] = .bool(flag)
            case let number as Int: typed[label] = .int(Int64(number))
            case let number as Int64: typed[label] = .int(number)
            case let number as UInt64 where number <= UInt64(Int64.max): typed[label] = .int(Int64(number))
            // Checkpoints hold no NaN or ±Inf anywhere: such a setting stays text.
            case let number as Double where number.isFinite: typed[label] = .double(number)
            case let number as Float where number.isFinite: typed[label] = .double(Double(number))
            default: break
            }
        }
        var attributes: [String: CheckpointValue] = [:]
        for (key, text) in keyValues { attributes[key] = typed[key] ?? .string(text) }
        return attributes
    }
}
