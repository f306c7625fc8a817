import Foundation

/// A handmade bAbI v1.2 set, small enough for tests: `<root>/en/qaN_mini_<train|test>.txt` for the
/// 20 tasks, stories in the release's format (line numbers restarting at 1, question lines with
/// TAB-separated answers and supporting facts; tasks 8 and 19 with two comma-separated answers).
public enum BabiMiniSet {
    static let people = ["Mary", "John", "Sandra", "Daniel"]
    static let places = ["bathroom", "hallway", "garden", "kitchen", "office"]

    /// Story `index` of task `task`: two moves and a question, then one more move and a
    /// second question (so every story has two questions).
    public static func story(task: Int, index: Int) -> String {
        let a = people[index % people.count], b = people[(index + 1) % people.count]
        let p = places[(index + task) % places.count], q = places[(index + task + 2) % places.count]
        let r = places[(index + task + 3) % places.count]
        if task == 8 || task == 19 {
            // Two answer words.
            return """
            1 \(a) picked up the apple.
            2 \(a) got the football there.
            3 What is \(a) carrying?\tapple,football\t1 2
            4 \(b) went to the \(p).
            5 Where is \(b)?\t\(p)\t4

            """
        }
        return """
        1 \(a) moved to the \(p).
        2 \(b) went to the \(q).
        3 Where is \(a)? \t\(p)\t1
        4 \(a) journeyed to the \(r).
        5 Where is \(a)? \t\(r)\t4

        """
    }

    /// Writes the set under `root` (`stories` training and `testStories` test stories per task,
    /// the same files in each of `sets`) and returns `root`.
    @discardableResult
    public static func write(to root: URL, stories: Int = 4, testStories: Int = 2, sets: [String] = ["en"]) throws -> URL {
        for set in sets { try write(to: root.appendingPathComponent(set), stories: stories, testStories: testStories) }
        return root
    }

    static func write(to directory: URL, stories: Int, testStories: Int) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        for task in 1...20 {
            let train = (0..<stories).map { story(task: task, index: $0) }.joined()
            let test = (0..<testStories).map { story(task: task, index: stories + $0) }.joined()
            try train.write(to: directory.appendingPathComponent("qa\(task)_mini_train.txt"), atomically: true, encoding: .utf8)
            try test.write(to: directory.appendingPathComponent("qa\(task)_mini_test.txt"), atomically: true, encoding: .utf8)
        }
    }
}
