/*
 * flann_bench: measures FLANN's randomized k-d tree forest on the datasets that the
 * index comparison writes, so that its numbers sit beside ours on the same rows,
 * queries and exact truth.
 *
 * Usage: flann_bench DATASET_DIR...
 *
 * Each directory holds meta.txt ("N W Q K U"), base.f32 (N x W), queries.f32 (Q x W),
 * truth.i32 (Q x K exact cosine top-K ids, best first), updates.f32 (U x W),
 * update_ids.i32 (U ids in [0,N)) and name.txt; all little-endian, row-major.
 *
 * For every (dataset, trees, checks) one JSON object is printed on stdout:
 *   {"library":"flann","dataset":...,"nr_cells":N,"width":W,"trees":t,"checks":c,
 *    "build_ms":...,"query_us":...,"recall_at_k":...,"update_us":...,"memory_mib":...}
 * Diagnostics go to stderr.
 */
#include <errno.h>
#include <flann/flann.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The paper's configuration: a forest of 4 or 8 randomized k-d trees, searched with a
 * growing budget of leaf checks to trace the speed / recall curve. */
static const int TREE_COUNTS[] = {4, 8};
static const int CHECK_COUNTS[] = {32, 64, 128, 256};
#define NR_TREE_COUNTS ((int)(sizeof TREE_COUNTS / sizeof TREE_COUNTS[0]))
#define NR_CHECK_COUNTS ((int)(sizeof CHECK_COUNTS / sizeof CHECK_COUNTS[0]))

/* Small query sets finish a pass in microseconds, where one clock reading is noise, so
 * timed passes repeat until at least this much time has been spent. */
static const double MIN_QUERY_TIMING_S = 0.25;

/* FLANN's own default: the trees are rebuilt from scratch only once the point count has
 * doubled since the last build; below that, new points are inserted into the trees. */
static const float REBUILD_THRESHOLD = 2.0f;

typedef struct {
    char name[256];
    int n, w, q, k, u;
    float *base;    /* n x w, unit-normalised */
    float *queries; /* q x w, unit-normalised */
    int *truth;     /* q x k */
    float *updates; /* u x w, unit-normalised */
    int *update_ids;
} Dataset;

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void *xmalloc(size_t bytes) {
    void *p = malloc(bytes ? bytes : 1);
    if (!p) {
        fprintf(stderr, "flann_bench: out of memory (%zu bytes)\n", bytes);
        exit(1);
    }
    return p;
}

/* Reads exactly `count` elements of `elem_size` bytes, and insists the file holds no
 * more: a size mismatch means meta.txt and the data disagree, and every number after
 * that would be wrong. The files are little-endian, as is every host this runs on. */
static void *read_exact(const char *dir, const char *file, size_t elem_size, size_t count) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "flann_bench: cannot open %s: %s\n", path, strerror(errno));
        exit(1);
    }
    void *data = xmalloc(elem_size * count);
    size_t got = fread(data, elem_size, count, f);
    int extra = fgetc(f);
    fclose(f);
    if (got != count || extra != EOF) {
        fprintf(stderr, "flann_bench: %s does not hold exactly %zu elements of %zu bytes\n",
                path, count, elem_size);
        exit(1);
    }
    return data;
}

/* Cosine ranking equals squared-L2 ranking on unit vectors, which is what FLANN's
 * default distance computes. The epsilon keeps all-zero rows finite, and matches the
 * normalisation used by the index being compared. */
static void normalise_rows(float *rows, int nr_rows, int width) {
    for (int r = 0; r < nr_rows; r++) {
        float *v = rows + (size_t)r * width;
        double sq = 0.0;
        for (int j = 0; j < width; j++) sq += (double)v[j] * v[j];
        double inv = 1.0 / sqrt(sq + 1e-6);
        for (int j = 0; j < width; j++) v[j] = (float)(v[j] * inv);
    }
}

static void load_dataset(const char *dir, Dataset *d) {
    char path[4096];
    snprintf(path, sizeof path, "%s/meta.txt", dir);
    FILE *f = fopen(path, "r");
    if (!f || fscanf(f, "%d %d %d %d %d", &d->n, &d->w, &d->q, &d->k, &d->u) != 5) {
        fprintf(stderr, "flann_bench: cannot read \"N W Q K U\" from %s\n", path);
        exit(1);
    }
    fclose(f);
    if (d->n <= 0 || d->w <= 0 || d->q <= 0 || d->k <= 0 || d->u < 0 || d->k > d->n) {
        fprintf(stderr, "flann_bench: implausible sizes in %s\n", path);
        exit(1);
    }

    snprintf(path, sizeof path, "%s/name.txt", dir);
    f = fopen(path, "r");
    if (!f || !fgets(d->name, sizeof d->name, f)) {
        fprintf(stderr, "flann_bench: cannot read %s\n", path);
        exit(1);
    }
    fclose(f);
    d->name[strcspn(d->name, "\r\n")] = '\0';

    size_t n = (size_t)d->n, w = (size_t)d->w, q = (size_t)d->q, k = (size_t)d->k,
           u = (size_t)d->u;
    d->base = read_exact(dir, "base.f32", sizeof(float), n * w);
    d->queries = read_exact(dir, "queries.f32", sizeof(float), q * w);
    d->truth = read_exact(dir, "truth.i32", sizeof(int), q * k);
    d->updates = read_exact(dir, "updates.f32", sizeof(float), u * w);
    d->update_ids = read_exact(dir, "update_ids.i32", sizeof(int), u);

    for (size_t i = 0; i < u; i++) {
        if (d->update_ids[i] < 0 || d->update_ids[i] >= d->n) {
            fprintf(stderr, "flann_bench: update id %d out of range in %s\n",
                    d->update_ids[i], dir);
            exit(1);
        }
    }
    normalise_rows(d->base, d->n, d->w);
    normalise_rows(d->queries, d->q, d->w);
    normalise_rows(d->updates, d->u, d->w);
}

static void free_dataset(Dataset *d) {
    free(d->base);
    free(d->queries);
    free(d->truth);
    free(d->updates);
    free(d->update_ids);
}

/* JSON string escaping for the dataset label, which comes from a file we do not control. */
static void print_json_string(const char *s) {
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') printf("\\%c", c);
        else if (c < 0x20) printf("\\u%04x", c);
        else putchar(c);
    }
    putchar('"');
}

static double recall_at_k(const Dataset *d, const int *found) {
    double sum = 0.0;
    for (int i = 0; i < d->q; i++) {
        const int *t = d->truth + (size_t)i * d->k;
        const int *r = found + (size_t)i * d->k;
        int hits = 0;
        /* K is small (tens), so the quadratic intersection is cheaper than sorting. */
        for (int a = 0; a < d->k; a++) {
            for (int b = 0; b < d->k; b++) {
                if (r[a] == t[b]) {
                    hits++;
                    break;
                }
            }
        }
        sum += (double)hits / d->k;
    }
    return sum / d->q;
}

typedef struct {
    double query_us;
    double recall;
} CheckResult;

/* One untimed pass gives the result ids (and warms caches); timed passes follow. The
 * ids FLANN returns are its own point ids, which before any update equal our row ids. */
static CheckResult measure_queries(flann_index_t index, const Dataset *d,
                                   struct FLANNParameters *params, int *indices, float *dists) {
    if (flann_find_nearest_neighbors_index_float(index, d->queries, d->q, indices, dists, d->k,
                                                 params) < 0) {
        fprintf(stderr, "flann_bench: search failed on %s\n", d->name);
        exit(1);
    }
    CheckResult res;
    res.recall = recall_at_k(d, indices);

    long passes = 0;
    double start = now_s(), elapsed;
    do {
        flann_find_nearest_neighbors_index_float(index, d->queries, d->q, indices, dists, d->k,
                                                 params);
        passes++;
        elapsed = now_s() - start;
    } while (elapsed < MIN_QUERY_TIMING_S);
    res.query_us = elapsed * 1e6 / ((double)passes * d->q);
    return res;
}

/* Applies every update as remove + add, the only way FLANN can change a stored point,
 * and returns the mean cost per update in microseconds.
 *
 * FLANN gives each added point a fresh id (N, N+1, ...) rather than reusing the removed
 * one, so two maps are kept: row -> current FLANN id, so that a row updated twice removes
 * the point added by its first update, and FLANN id -> row, to translate search results.
 * FLANN keeps pointers to the rows rather than copying them, so `d->updates` must
 * outlive the index. */
static double apply_updates(flann_index_t index, const Dataset *d, int *flann_of_row,
                            int *row_of_flann) {
    for (int r = 0; r < d->n; r++) flann_of_row[r] = row_of_flann[r] = r;
    int next_flann_id = d->n;

    double start = now_s();
    for (int i = 0; i < d->u; i++) {
        int row = d->update_ids[i];
        if (flann_remove_point_float(index, (unsigned)flann_of_row[row]) != 0 ||
            flann_add_points_float(index, d->updates + (size_t)i * d->w, 1, d->w,
                                   REBUILD_THRESHOLD) != 0) {
            fprintf(stderr, "flann_bench: update %d failed on %s\n", i, d->name);
            exit(1);
        }
        flann_of_row[row] = next_flann_id;
        row_of_flann[next_flann_id] = row;
        next_flann_id++;
    }
    double elapsed = now_s() - start;
    return d->u > 0 ? elapsed * 1e6 / d->u : 0.0;
}

/* Recall is not re-measured after updates (the truth describes the original rows), but a
 * cheap check that the updates took effect guards the update timing against measuring a
 * no-op: each updated row, searched for with its new content, should find itself. Only
 * the last update of a row is checked, since earlier contents are gone by design. */
static void check_updates(flann_index_t index, const Dataset *d, struct FLANNParameters *params,
                          const int *flann_of_row, const int *row_of_flann, int trees) {
    if (d->u == 0) return;
    int checked = 0, found_self = 0;
    int *ids = xmalloc(sizeof(int) * (size_t)d->k);
    float *dists = xmalloc(sizeof(float) * (size_t)d->k);
    for (int i = 0; i < d->u; i++) {
        int row = d->update_ids[i];
        if (flann_of_row[row] != d->n + i) continue;
        checked++;
        flann_find_nearest_neighbors_index_float(index, d->updates + (size_t)i * d->w, 1, ids,
                                                 dists, d->k, params);
        for (int j = 0; j < d->k; j++) {
            if (ids[j] >= 0 && ids[j] < d->n + d->u && row_of_flann[ids[j]] == row) {
                found_self++;
                break;
            }
        }
    }
    fprintf(stderr, "flann_bench: %s trees=%d: %d of %d updated rows find themselves after update\n",
            d->name, trees, found_self, checked);
    free(ids);
    free(dists);
}

static void bench_dataset(const char *dir) {
    Dataset d;
    load_dataset(dir, &d);

    int *indices = xmalloc(sizeof(int) * (size_t)d.q * d.k);
    float *dists = xmalloc(sizeof(float) * (size_t)d.q * d.k);
    int *flann_of_row = xmalloc(sizeof(int) * (size_t)d.n);
    int *row_of_flann = xmalloc(sizeof(int) * ((size_t)d.n + d.u));

    for (int ti = 0; ti < NR_TREE_COUNTS; ti++) {
        struct FLANNParameters params = DEFAULT_FLANN_PARAMETERS;
        params.algorithm = FLANN_INDEX_KDTREE;
        params.trees = TREE_COUNTS[ti];
        params.target_precision = -1.0f; /* fixed parameters, no autotuning */
        params.cores = 1;                /* single-threaded, like the index it is compared to */
        params.sorted = 1;
        params.eps = 0.0f;
        params.log_level = FLANN_LOG_WARN;
        /* Seeds the rand() that picks split dimensions. FLANN 1.9.2 shuffles the points
         * with std::random_device regardless, so trees (and low-checks recall) still vary
         * a little from run to run. */
        params.random_seed = 42;

        float speedup = 0.0f;
        double start = now_s();
        flann_index_t index = flann_build_index_float(d.base, d.n, d.w, &speedup, &params);
        double build_ms = (now_s() - start) * 1e3;
        if (!index) {
            fprintf(stderr, "flann_bench: index build failed on %s\n", d.name);
            exit(1);
        }
        /* Tree nodes plus the index permutation; FLANN does not copy the rows, so their
         * N x W floats are not included. Taken before updates, which only add to it. */
        double memory_mib = flann_used_memory_float(index) / (1024.0 * 1024.0);

        CheckResult results[NR_CHECK_COUNTS];
        for (int ci = 0; ci < NR_CHECK_COUNTS; ci++) {
            params.checks = CHECK_COUNTS[ci];
            results[ci] = measure_queries(index, &d, &params, indices, dists);
        }

        /* Updates mutate the index, so they come after every query measurement. */
        double update_us = apply_updates(index, &d, flann_of_row, row_of_flann);
        params.checks = CHECK_COUNTS[NR_CHECK_COUNTS - 1];
        check_updates(index, &d, &params, flann_of_row, row_of_flann, TREE_COUNTS[ti]);
        flann_free_index_float(index, &params);

        for (int ci = 0; ci < NR_CHECK_COUNTS; ci++) {
            printf("{\"library\":\"flann\",\"dataset\":");
            print_json_string(d.name);
            printf(",\"nr_cells\":%d,\"width\":%d,\"trees\":%d,\"checks\":%d,"
                   "\"build_ms\":%.3f,\"query_us\":%.3f,\"recall_at_k\":%.6f,"
                   "\"update_us\":%.3f,\"memory_mib\":%.3f}\n",
                   d.n, d.w, TREE_COUNTS[ti], CHECK_COUNTS[ci], build_ms,
                   results[ci].query_us, results[ci].recall, update_us, memory_mib);
        }
        fflush(stdout);
    }

    free(indices);
    free(dists);
    free(flann_of_row);
    free(row_of_flann);
    free_dataset(&d);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s DATASET_DIR...\n", argv[0]);
        return 2;
    }
    for (int i = 1; i < argc; i++) bench_dataset(argv[i]);
    return 0;
}
