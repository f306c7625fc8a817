// `import DNCKit`: every public module of dnc-swift. DNCCore (numerics, layers, memories,
// models), HDF5 files (DNCStorage), checkpoints, tasks and the training loop (DNCTraining),
// data parallelism over MPI (DNCDistribution), run reports (DNCReports), GPU diagnostics,
// device selection and kernel devices (DNCGPU), and the GPU back end: the DNC on a GPU or its
// CPU emulation (DNCGPUTraining).
@_exported import DNCCore
@_exported import DNCStorage
@_exported import DNCTraining
@_exported import DNCDistribution
@_exported import DNCReports
@_exported import DNCGPU
@_exported import DNCGPUTraining
