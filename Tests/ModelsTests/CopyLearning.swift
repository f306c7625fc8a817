import DNCTraining

/// A small copy-task run through the trainer (400 steps, batch 8, lengths ≤ 3), for the learning
/// tests of each memory; returns the summaries every 50 steps.
func smallCopyRun(memoryType: String, cells: Int) throws -> [TrainingSummary] {
    var c = TrainingConfiguration.defaults(task: "copy")
    c.input_size = 4
    c.memory_type = TrainingConfiguration.MemoryType(rawValue: memoryType)!
    c.nhid = 32
    c.nhlayer = 1
    c.mem_slot = cells
    c.mem_size = 8
    c.read_heads = 1
    c.sparse_reads = 4
    c.temporal_reads = 4
    c.batch_size = 8
    c.sequence_max_length = 3
    c.iterations = 400
    c.summarize_freq = 50
    c.lr = 3e-3
    c.seed = 2
    let trainer = try Trainer(configuration: c, runDirectory: nil, progress: ProgressReporter(enabled: false))
    var summaries: [TrainingSummary] = []
    try trainer.run { summaries.append($0) }
    return summaries
}
