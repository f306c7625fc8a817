// clock_gettime under strict -std=c11 builds.
#define _POSIX_C_SOURCE 200809L
#include "dnc_shim.h"

#include <hdf5.h>
#include <limits.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

// MARK: MPI

int dnc_mpi_initialized(void) {
    int initialized = 0, finalized = 0;
    MPI_Initialized(&initialized);
    MPI_Finalized(&finalized);
    return initialized && !finalized;
}

int dnc_mpi_init(void) {
    int initialized = 0;
    MPI_Initialized(&initialized);
    if (initialized) return MPI_SUCCESS;
    int provided = 0;
    int rc = MPI_Init_thread(NULL, NULL, MPI_THREAD_SERIALIZED, &provided);
    if (rc != MPI_SUCCESS) return rc;
    // Hand failures back as codes instead of MPI's default abort, so callers can report them.
    return MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
}

int dnc_mpi_error_string(int code, char *buffer, size_t length) {
    if (buffer == NULL || length == 0) return MPI_ERR_ARG;
    char text[MPI_MAX_ERROR_STRING];
    int used = 0;
    int rc = MPI_Error_string(code, text, &used);
    snprintf(buffer, length, "%s", rc == MPI_SUCCESS ? text : "unknown MPI error");
    return rc;
}

int dnc_mpi_finalize(void) {
    return dnc_mpi_initialized() ? MPI_Finalize() : MPI_SUCCESS;
}

int dnc_mpi_rank(void) {
    int rank = 0;
    if (dnc_mpi_initialized()) MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    return rank;
}

int dnc_mpi_size(void) {
    int size = 1;
    if (dnc_mpi_initialized()) MPI_Comm_size(MPI_COMM_WORLD, &size);
    return size;
}

int dnc_mpi_barrier(void) {
    return dnc_mpi_initialized() ? MPI_Barrier(MPI_COMM_WORLD) : MPI_SUCCESS;
}

int dnc_mpi_node_local_rank(int *rank, int *size) {
    *rank = 0;
    *size = 1;
    if (!dnc_mpi_initialized()) return MPI_SUCCESS;
    MPI_Comm node;
    int rc = MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node);
    if (rc != MPI_SUCCESS) return rc;
    rc = MPI_Comm_rank(node, rank);
    if (rc == MPI_SUCCESS) rc = MPI_Comm_size(node, size);
    MPI_Comm_free(&node);
    return rc;
}

double dnc_mpi_wtime(void) {
    if (dnc_mpi_initialized()) return MPI_Wtime();
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int dnc_mpi_abort(int code) {
    if (dnc_mpi_initialized()) return MPI_Abort(MPI_COMM_WORLD, code);
    exit(code);
}

// MPI counts are int: walk the buffer in chunks of at most INT_MAX elements.
static int allreduce_chunked(void *data, int64_t count, MPI_Datatype type, size_t element_size, MPI_Op op) {
    if (count < 0) return MPI_ERR_COUNT;
    if (!dnc_mpi_initialized() || count == 0) return MPI_SUCCESS;
    char *bytes = (char *)data;
    for (int64_t done = 0; done < count;) {
        int chunk = (count - done > INT_MAX) ? INT_MAX : (int)(count - done);
        int rc = MPI_Allreduce(MPI_IN_PLACE, bytes + (size_t)done * element_size, chunk, type, op, MPI_COMM_WORLD);
        if (rc != MPI_SUCCESS) return rc;
        done += chunk;
    }
    return MPI_SUCCESS;
}

static int bcast_chunked(void *data, int64_t count, MPI_Datatype type, size_t element_size, int root) {
    if (count < 0) return MPI_ERR_COUNT;
    if (!dnc_mpi_initialized() || count == 0) return MPI_SUCCESS;
    char *bytes = (char *)data;
    for (int64_t done = 0; done < count;) {
        int chunk = (count - done > INT_MAX) ? INT_MAX : (int)(count - done);
        int rc = MPI_Bcast(bytes + (size_t)done * element_size, chunk, type, root, MPI_COMM_WORLD);
        if (rc != MPI_SUCCESS) return rc;
        done += chunk;
    }
    return MPI_SUCCESS;
}

int dnc_mpi_allreduce_sum_f32(float *data, int64_t count) {
    return allreduce_chunked(data, count, MPI_FLOAT, sizeof(float), MPI_SUM);
}
int dnc_mpi_allreduce_sum_f64(double *data, int64_t count) {
    return allreduce_chunked(data, count, MPI_DOUBLE, sizeof(double), MPI_SUM);
}
int dnc_mpi_allreduce_sum_i64(int64_t *data, int64_t count) {
    return allreduce_chunked(data, count, MPI_INT64_T, sizeof(int64_t), MPI_SUM);
}
int dnc_mpi_allreduce_max_f64(double *data, int64_t count) {
    return allreduce_chunked(data, count, MPI_DOUBLE, sizeof(double), MPI_MAX);
}
int dnc_mpi_allreduce_min_f64(double *data, int64_t count) {
    return allreduce_chunked(data, count, MPI_DOUBLE, sizeof(double), MPI_MIN);
}

int dnc_mpi_bcast_f32(float *data, int64_t count, int root) {
    return bcast_chunked(data, count, MPI_FLOAT, sizeof(float), root);
}
int dnc_mpi_bcast_f64(double *data, int64_t count, int root) {
    return bcast_chunked(data, count, MPI_DOUBLE, sizeof(double), root);
}
int dnc_mpi_bcast_bytes(void *data, int64_t count, int root) {
    return bcast_chunked(data, count, MPI_BYTE, 1, root);
}

// MARK: HDF5 constants

unsigned dnc_h5f_acc_rdonly(void) { return H5F_ACC_RDONLY; }
unsigned dnc_h5f_acc_rdwr(void) { return H5F_ACC_RDWR; }
unsigned dnc_h5f_acc_trunc(void) { return H5F_ACC_TRUNC; }
unsigned dnc_h5f_acc_excl(void) { return H5F_ACC_EXCL; }

int64_t dnc_h5t_native_float(void) { return H5T_NATIVE_FLOAT; }
int64_t dnc_h5t_native_double(void) { return H5T_NATIVE_DOUBLE; }
int64_t dnc_h5t_native_int64(void) { return H5T_NATIVE_INT64; }
int64_t dnc_h5t_native_int8(void) { return H5T_NATIVE_INT8; }
int64_t dnc_h5t_c_s1(void) { return H5T_C_S1; }
size_t dnc_h5t_variable(void) { return H5T_VARIABLE; }

int64_t dnc_h5p_link_create(void) { return H5P_LINK_CREATE; }
int64_t dnc_h5p_file_access(void) { return H5P_FILE_ACCESS; }
int64_t dnc_h5p_dataset_create(void) { return H5P_DATASET_CREATE; }
int64_t dnc_h5p_group_create(void) { return H5P_GROUP_CREATE; }
int64_t dnc_h5p_file_create(void) { return H5P_FILE_CREATE; }

uint64_t dnc_h5s_unlimited(void) { return H5S_UNLIMITED; }

// MARK: HDF5 errors

// The thread-safe HDF5 build keeps the auto-print setting in each thread's error stack, so it
// has to be turned off once per thread; the flag keeps repeat calls to one TLS read.
int dnc_h5_silence_errors(void) {
    static _Thread_local int silenced = 0;
    if (silenced) return 0;
    if (H5Eset_auto2(H5E_DEFAULT, NULL, NULL) < 0) return -1;
    silenced = 1;
    return 0;
}

typedef struct {
    int count;
    char outer[256];
    char inner[256];
    char inner_minor[128];
} error_walk;

// Walked downward: entry 0 is the API call the caller made, the last one is where HDF5 failed.
static herr_t record_error(unsigned n, const H5E_error2_t *entry, void *client) {
    error_walk *walk = (error_walk *)client;
    const char *desc = (entry->desc && entry->desc[0]) ? entry->desc : entry->func_name;
    if (!desc) desc = "";
    if (n == 0) snprintf(walk->outer, sizeof walk->outer, "%s", desc);
    snprintf(walk->inner, sizeof walk->inner, "%s", desc);
    walk->inner_minor[0] = '\0';
    H5Eget_msg(entry->min_num, NULL, walk->inner_minor, sizeof walk->inner_minor);
    walk->count += 1;
    return 0;
}

int dnc_h5_error_message(char *buffer, size_t length) {
    error_walk walk;
    memset(&walk, 0, sizeof walk);
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, record_error, &walk);
    H5Eclear2(H5E_DEFAULT);
    if (buffer == NULL || length == 0) return walk.count;
    buffer[0] = '\0';
    if (walk.count == 0) return 0;
    if (walk.count == 1 || strcmp(walk.outer, walk.inner) == 0) {
        snprintf(buffer, length, "%s", walk.inner);
    } else {
        snprintf(buffer, length, "%s: %s", walk.outer, walk.inner);
    }
    if (walk.inner_minor[0] && strstr(buffer, walk.inner_minor) == NULL) {
        size_t used = strlen(buffer);
        if (used + 4 < length) snprintf(buffer + used, length - used, " (%s)", walk.inner_minor);
    }
    return walk.count;
}

// MARK: Process exit

int dnc_h5_open_file_count(void) {
    ssize_t count = H5Fget_obj_count(H5F_OBJ_ALL, H5F_OBJ_FILE);
    return count < 0 ? 0 : (int)count;
}

void dnc_exit_skipping_library_shutdown(int code) {
    fflush(NULL);
    _exit(code);
}

// MARK: Bytes

const void *dnc_find_bytes(const void *haystack, size_t length, const void *needle, size_t needle_length) {
    if (needle_length == 0 || length < needle_length) return NULL;
    const unsigned char *h = (const unsigned char *)haystack;
    const unsigned char first = *(const unsigned char *)needle;
    const unsigned char *end = h + (length - needle_length) + 1;
    while (h < end) {
        const unsigned char *hit = memchr(h, first, (size_t)(end - h));
        if (hit == NULL) return NULL;
        if (memcmp(hit, needle, needle_length) == 0) return hit;
        h = hit + 1;
    }
    return NULL;
}
