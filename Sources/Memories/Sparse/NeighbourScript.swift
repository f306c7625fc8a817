import DNCNumerics

/// Records the results of every index search, or replays them (tests: hold the index results
/// fixed while finite differences perturb the inputs).
final class NeighbourScript: @unchecked Sendable {
    var recorded: [[Int]] = []
    var replaying = false
    var cursor = 0

    func next(search: () -> Int, into results: UnsafeMutablePointer<Int>) -> Int {
        if replaying {
            let ids = recorded[cursor]
            cursor += 1
            for (j, id) in ids.enumerated() { results[j] = id }
            return ids.count
        }
        let n = search()
        recorded.append(Array(UnsafeBufferPointer(start: results, count: n)))
        return n
    }
}
