// `import DNCCore`: the models without storage, MPI or command-line code. Tensors and BLAS
// kernels (DNCNumerics), layers, losses and optimisers (DNCLayers), the dense and sparse
// memories (DNCMemories) and the DNC, SAM and SDNC (DNCModels).
@_exported import DNCNumerics
@_exported import DNCLayers
@_exported import DNCMemories
@_exported import DNCModels
