import Foundation

/// Hands the dataset `BabiTask.prepare` read to the `BabiTask` that the run then builds from the
/// prepared configuration, so that a run reads and parses the bAbI files once (20 tasks × 2
/// files; en-10k's took ~20 s a time). The handoff holds one dataset, is taken once, and only
/// by a configuration that would read exactly it: the same folder, set, tasks and validation
/// fraction, and the vocabulary that reading gave (the prepared configuration's). Anything else
/// (eval, predict, a resumed run's stored vocabulary from other files) reads the files itself.
enum BabiPreparedDataset {
    struct Key: Hashable {
        let data: String, set: String, tasks: [Int], validation: Double, vocabulary: [String]

        init(_ c: TrainingConfiguration) {
            data = c.babi_data
            set = c.babi_set
            tasks = c.babiTasks
            validation = c.babi_validation
            vocabulary = c.babi_vocabulary
        }
    }

    private final class Slot: @unchecked Sendable {
        let lock = NSLock()
        var held: (key: Key, dataset: BabiDataset)?
    }

    private static let slot = Slot()

    /// Keeps `dataset`, read for `c`, for the next `take` (replacing any held one).
    static func keep(_ dataset: BabiDataset, for c: TrainingConfiguration) {
        slot.lock.lock()
        defer { slot.lock.unlock() }
        slot.held = (Key(c), dataset)
    }

    /// The held dataset if `c` would read exactly it, released; nil otherwise (the held one is kept).
    static func take(for c: TrainingConfiguration) -> BabiDataset? {
        slot.lock.lock()
        defer { slot.lock.unlock() }
        guard let held = slot.held, held.key == Key(c) else { return nil }
        slot.held = nil
        return held.dataset
    }
}
