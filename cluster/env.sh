# Environment for dnc-dist on cluster nodes; sourced by the scripts in this folder.
#
# - One BLAS thread per MPI rank (dnc-dist's default too): ranks, not threads, use the cores.
# - BLAS kernels: dnc-dist picks the best the CPU supports on each node. Set DNC_BLAS_CORE (e.g.
#   Haswell) to pin one kernel family across heterogeneous nodes; `dnc-dist --version` shows it.
# - Open MPI as root (containers): mpirun refuses root unless told; oversubscribe lets a test use
#   more ranks than cores.
export OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}
if [ "$(id -u)" -eq 0 ]; then
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
# Where the binary is: DNC_DIST, or the release build of the checkout this folder belongs to.
DNC_DIST=${DNC_DIST:-$(cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.." && pwd)/.build/release/dnc-dist}
export DNC_DIST
