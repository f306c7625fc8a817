#ifndef DNC_SHIM_H
#define DNC_SHIM_H
// The few MPI and HDF5 facilities Swift cannot import: object-like macros that expand to
// function calls or casts (MPI_COMM_WORLD, MPI_IN_PLACE, H5F_ACC_*, H5T_NATIVE_*, H5P_*) and
// C callbacks. This header deliberately includes neither mpi.h nor hdf5.h, so that modules
// importing it do not inherit either library's macro soup; HDF5 ids travel as int64_t (hid_t).
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

// MARK: MPI (all on MPI_COMM_WORLD; every function returns an MPI error code, 0 = MPI_SUCCESS)
//
// A process that never called dnc_mpi_init is a world of one: rank 0, size 1, and the
// collectives leave their buffers unchanged (which is what they would compute on one rank).
// That lets single-process tools and tests share the data-parallel code path.

/// Initialises MPI with MPI_THREAD_SERIALIZED (Swift may hop threads between calls, but never
/// calls concurrently) and sets MPI_ERRORS_RETURN on MPI_COMM_WORLD, so failures come back as
/// codes rather than aborting the job: callers must check them. Safe to call twice.
int dnc_mpi_init(void);
/// MPI's text for an error code, NUL-terminated into `buffer` (MPI_MAX_ERROR_STRING is 256).
int dnc_mpi_error_string(int code, char *buffer, size_t length);
/// 1 if MPI is initialised and not yet finalised, else 0.
int dnc_mpi_initialized(void);
/// Finalises MPI if it is initialised and not yet finalised.
int dnc_mpi_finalize(void);
/// This process's rank in MPI_COMM_WORLD; 0 when MPI is not initialised.
int dnc_mpi_rank(void);
/// The number of ranks in MPI_COMM_WORLD; 1 when MPI is not initialised.
int dnc_mpi_size(void);
int dnc_mpi_barrier(void);
/// This process's rank among the ranks sharing its node, and their number
/// (MPI_Comm_split_type with MPI_COMM_TYPE_SHARED): the node-local rank that picks a GPU.
/// Collective over MPI_COMM_WORLD. 0 and 1 when MPI is not initialised.
int dnc_mpi_node_local_rank(int *rank, int *size);
/// Seconds since an arbitrary origin (MPI_Wtime; a monotonic clock when MPI is not initialised).
double dnc_mpi_wtime(void);
/// Aborts every rank with `code`; exits this process when MPI is not initialised.
int dnc_mpi_abort(int code);

/// In-place element-wise reductions of `count` elements over all ranks. Counts above INT_MAX
/// are sent in several chunks, because MPI counts are `int`.
int dnc_mpi_allreduce_sum_f32(float *data, int64_t count);
int dnc_mpi_allreduce_sum_f64(double *data, int64_t count);
int dnc_mpi_allreduce_sum_i64(int64_t *data, int64_t count);
int dnc_mpi_allreduce_max_f64(double *data, int64_t count);
int dnc_mpi_allreduce_min_f64(double *data, int64_t count);

/// Broadcasts `count` elements from `root` into every rank's buffer (chunked like allreduce).
int dnc_mpi_bcast_f32(float *data, int64_t count, int root);
int dnc_mpi_bcast_f64(double *data, int64_t count, int root);
int dnc_mpi_bcast_bytes(void *data, int64_t count, int root);

// MARK: HDF5 constants hidden behind macros (each macro first calls H5open, so these do too)

unsigned dnc_h5f_acc_rdonly(void);
unsigned dnc_h5f_acc_rdwr(void);
unsigned dnc_h5f_acc_trunc(void);
unsigned dnc_h5f_acc_excl(void);

int64_t dnc_h5t_native_float(void);
int64_t dnc_h5t_native_double(void);
int64_t dnc_h5t_native_int64(void);
/// H5T_NATIVE_INT8: the base type of h5py's boolean enum ({FALSE = 0, TRUE = 1}).
int64_t dnc_h5t_native_int8(void);
/// H5T_C_S1: the one-byte C string type to copy and resize for string attributes.
int64_t dnc_h5t_c_s1(void);
/// H5T_VARIABLE: the size that makes a string type variable-length.
size_t dnc_h5t_variable(void);

/// Property list classes for H5Pcreate.
int64_t dnc_h5p_link_create(void);
int64_t dnc_h5p_file_access(void);
int64_t dnc_h5p_dataset_create(void);
int64_t dnc_h5p_group_create(void);
int64_t dnc_h5p_file_create(void);

/// H5S_UNLIMITED: the maximum size of an extendible dimension.
uint64_t dnc_h5s_unlimited(void);

// MARK: HDF5 errors

/// Turns off HDF5's automatic printing of error stacks to stderr for the calling thread (the
/// thread-safe build keeps that setting per thread). Cheap after the first call on a thread, so
/// call it before every batch of HDF5 calls. Returns 0 on success.
int dnc_h5_silence_errors(void);

/// Formats the current thread's HDF5 error stack as one line, "outermost reason: innermost
/// reason (minor message)", into `buffer` (always NUL-terminated when `length` > 0), then clears
/// the stack. Must run right after the failing call: every HDF5 API call resets the stack.
/// Returns the number of entries that were on the stack (0: `buffer` is empty).
int dnc_h5_error_message(char *buffer, size_t length);

// MARK: Bytes

/// The first occurrence of `needle` in `haystack` (memmem without _GNU_SOURCE), or NULL.
const void *dnc_find_bytes(const void *haystack, size_t length, const void *needle, size_t needle_length);

// MARK: Process exit

/// HDF5 files this process has open (ids the library still holds, including files whose close
/// failed, e.g. on a full disk).
int dnc_h5_open_file_count(void);
/// Flushes stdio and ends the process with `code` without running atexit handlers: HDF5's
/// shutdown (H5_term_library) crashes closing a file whose earlier close failed (a full disk),
/// turning a reported error into a segfault. Data already flushed stays on disk.
__attribute__((noreturn)) void dnc_exit_skipping_library_shutdown(int code);

#ifdef __cplusplus
}
#endif
#endif
