// Loads an MPI implementation at run time (dlopen) and maps Ember's dtype/op enums onto its handles.
// Handle conventions: Open MPI 4/5 — MPI_Comm/Datatype/Op are pointers to exported objects
// (`ompi_mpi_comm_world`, `ompi_mpi_float`, `ompi_mpi_op_sum`, see ompi/include/mpi.h.in in
// https://github.com/open-mpi/ompi), MPI_IN_PLACE is (void *)1, MPI_STATUS_IGNORE is NULL. MPICH 3/4
// — handles are ints with fixed values (MPI_COMM_WORLD 0x44000000, MPI_FLOAT 0x4c00040a,
// MPI_DOUBLE 0x4c00080b, MPI_INT64_T 0x4c00083a, MPI_BYTE 0x4c00010d, MPI_MAX 0x58000001,
// MPI_MIN 0x58000002, MPI_SUM 0x58000003; src/include/mpi.h.in in https://github.com/pmodels/mpich),
// MPI_IN_PLACE is (void *)-1. Both number the thread levels SINGLE 0 … MULTIPLE 3.
#include "ember_mpi.h"

#include <dlfcn.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { IMPL_NONE = 0, IMPL_OPENMPI = 1, IMPL_MPICH = 2 };
static int impl = IMPL_NONE;
static void *library = NULL;
static char library_path[512];
static _Thread_local char last_error[512];

// A handle of either kind fits in a pointer-sized integer.
typedef intptr_t handle;

static handle comm_world;
static handle dtypes[4];
static handle ops[3];
static void *in_place;

// Entry points, called through prototypes with pointer-sized handles. MPICH's handles are `int`;
// on x86-64 and arm64 an int argument passed as a pointer-sized value reads the same low 32 bits
// (integer registers), so one prototype serves both.
typedef int (*fn_init_thread)(int *, char ***, int, int *);
typedef int (*fn_initialized)(int *);
typedef int (*fn_finalized)(int *);
typedef int (*fn_finalize)(void);
typedef int (*fn_comm_int)(handle, int *);
typedef int (*fn_allreduce)(const void *, void *, int, handle, handle, handle);
typedef int (*fn_bcast)(void *, int, handle, int, handle);
typedef int (*fn_allgather)(const void *, int, handle, void *, int, handle, handle);
typedef int (*fn_barrier)(handle);
typedef int (*fn_abort)(handle, int);
typedef int (*fn_error_string)(int, char *, int *);

static fn_init_thread p_init_thread;
static fn_initialized p_initialized;
static fn_finalized p_finalized;
static fn_finalize p_finalize;
static fn_comm_int p_comm_rank, p_comm_size;
static fn_allreduce p_allreduce;
static fn_bcast p_bcast;
static fn_allgather p_allgather;
static fn_barrier p_barrier;
static fn_abort p_abort;
static fn_error_string p_error_string;

const char *ember_mpi_last_error(void) { return last_error; }
const char *ember_mpi_implementation(void) {
    return impl == IMPL_OPENMPI ? "Open MPI" : impl == IMPL_MPICH ? "MPICH" : "";
}
const char *ember_mpi_library_path(void) { return library_path; }

static int fail(const char *what, int code) {
    char text[256] = "";
    int length = 0;
    if (p_error_string && code > 0 && p_error_string(code, text, &length) == 0 && length > 0) {
        snprintf(last_error, sizeof last_error, "%s failed: %s (MPI error %d)", what, text, code);
    } else {
        snprintf(last_error, sizeof last_error, "%s failed (MPI error %d)", what, code);
    }
    return code == 0 ? -1 : code;
}

static void *symbol(const char *name) { return dlsym(library, name); }

static int resolve(void) {
#define NEED(var, type, name)                                                                  \
    do {                                                                                       \
        var = (type)symbol(name);                                                              \
        if (!var) {                                                                            \
            snprintf(last_error, sizeof last_error, "%s has no symbol %s", library_path, name); \
            return -1;                                                                         \
        }                                                                                      \
    } while (0)
    NEED(p_init_thread, fn_init_thread, "MPI_Init_thread");
    NEED(p_initialized, fn_initialized, "MPI_Initialized");
    NEED(p_finalized, fn_finalized, "MPI_Finalized");
    NEED(p_finalize, fn_finalize, "MPI_Finalize");
    NEED(p_comm_rank, fn_comm_int, "MPI_Comm_rank");
    NEED(p_comm_size, fn_comm_int, "MPI_Comm_size");
    NEED(p_allreduce, fn_allreduce, "MPI_Allreduce");
    NEED(p_bcast, fn_bcast, "MPI_Bcast");
    NEED(p_allgather, fn_allgather, "MPI_Allgather");
    NEED(p_barrier, fn_barrier, "MPI_Barrier");
    NEED(p_abort, fn_abort, "MPI_Abort");
    p_error_string = (fn_error_string)symbol("MPI_Error_string");
    if (symbol("ompi_mpi_comm_world")) {
        impl = IMPL_OPENMPI;
        const char *names[] = {"ompi_mpi_comm_world", "ompi_mpi_float", "ompi_mpi_double", "ompi_mpi_int64_t",
                               "ompi_mpi_byte", "ompi_mpi_op_sum", "ompi_mpi_op_max", "ompi_mpi_op_min"};
        handle *slots[] = {&comm_world, &dtypes[0], &dtypes[1], &dtypes[2], &dtypes[3], &ops[0], &ops[1], &ops[2]};
        for (int i = 0; i < 8; i++) {
            void *s = symbol(names[i]);
            if (!s) {
                snprintf(last_error, sizeof last_error, "%s (Open MPI) has no symbol %s", library_path, names[i]);
                impl = IMPL_NONE;
                return -1;
            }
            *slots[i] = (handle)s;
        }
        in_place = (void *)1;
    } else {
        impl = IMPL_MPICH;
        comm_world = 0x44000000;
        dtypes[EMBER_MPI_FLOAT32] = 0x4c00040a;
        dtypes[EMBER_MPI_FLOAT64] = 0x4c00080b;
        dtypes[EMBER_MPI_INT64] = 0x4c00083a;
        dtypes[EMBER_MPI_BYTE] = 0x4c00010d;
        ops[EMBER_MPI_SUM] = 0x58000003;
        ops[EMBER_MPI_MAX] = 0x58000001;
        ops[EMBER_MPI_MIN] = 0x58000002;
        in_place = (void *)-1;
    }
    return 0;
#undef NEED
}

int ember_mpi_load(void) {
    if (impl != IMPL_NONE) return 0;
    const char *override = getenv("EMBER_MPI_LIBRARY");
    const char *candidates[] = {override, "libmpi.so.40", "libmpi.so.12", "libmpich.so.12", "libmpi.so",
                                "libmpich.so", "libmpi.dylib", "libmpich.dylib"};
    char tried[400] = "";
    for (size_t i = 0; i < sizeof candidates / sizeof candidates[0]; i++) {
        if (!candidates[i] || !candidates[i][0]) continue;
        // RTLD_GLOBAL: Open MPI's own plugins (mca_*.so), loaded later, resolve libmpi's symbols globally.
        void *h = dlopen(candidates[i], RTLD_NOW | RTLD_GLOBAL);
        if (!h) {
            size_t used = strlen(tried);
            snprintf(tried + used, sizeof tried - used, "%s%s", used ? ", " : "", candidates[i]);
            if (override && i == 0) {
                snprintf(last_error, sizeof last_error, "EMBER_MPI_LIBRARY=%s cannot be opened: %s", override, dlerror());
                return -1;
            }
            continue;
        }
        library = h;
        snprintf(library_path, sizeof library_path, "%s", candidates[i]);
        if (resolve() == 0) return 0;
        dlclose(h);
        library = NULL;
        library_path[0] = 0;
        return -1;
    }
    snprintf(last_error, sizeof last_error,
             "no MPI library found (tried %s); install Open MPI (Debian: apt-get install openmpi-bin) or MPICH, "
             "or set EMBER_MPI_LIBRARY to the library's path", tried);
    return -1;
}

int ember_mpi_is_initialized(void) {
    int flag = 0;
    if (impl == IMPL_NONE || p_initialized(&flag) != 0) return 0;
    return flag;
}

int ember_mpi_init(int *rank, int *size) {
    if (ember_mpi_load() != 0) return -1;
    int flag = 0, code;
    if ((code = p_initialized(&flag)) != 0) return fail("MPI_Initialized", code);
    if (!flag) {
        int provided = 0;
        if ((code = p_init_thread(NULL, NULL, 2 /* MPI_THREAD_SERIALIZED */, &provided)) != 0)
            return fail("MPI_Init_thread", code);
    }
    if ((code = p_comm_rank(comm_world, rank)) != 0) return fail("MPI_Comm_rank", code);
    if ((code = p_comm_size(comm_world, size)) != 0) return fail("MPI_Comm_size", code);
    return 0;
}

int ember_mpi_finalize(void) {
    if (impl == IMPL_NONE) return 0;
    int initialized = 0, finalized = 0;
    p_initialized(&initialized);
    p_finalized(&finalized);
    if (!initialized || finalized) return 0;
    int code = p_finalize();
    return code ? fail("MPI_Finalize", code) : 0;
}

static const size_t element_size[4] = {4, 8, 8, 1};

int ember_mpi_allreduce(void *buffer, int64_t count, ember_mpi_dtype dtype, ember_mpi_op op) {
    if (impl == IMPL_NONE) { snprintf(last_error, sizeof last_error, "MPI is not loaded"); return -1; }
    char *p = (char *)buffer;
    while (count > 0) {
        int chunk = count > INT_MAX ? INT_MAX : (int)count;
        int code = p_allreduce(in_place, p, chunk, dtypes[dtype], ops[op], comm_world);
        if (code) return fail("MPI_Allreduce", code);
        p += (size_t)chunk * element_size[dtype];
        count -= chunk;
    }
    return 0;
}

int ember_mpi_broadcast(void *buffer, int64_t bytes, int root) {
    if (impl == IMPL_NONE) { snprintf(last_error, sizeof last_error, "MPI is not loaded"); return -1; }
    char *p = (char *)buffer;
    while (bytes > 0) {
        int chunk = bytes > INT_MAX ? INT_MAX : (int)bytes;
        int code = p_bcast(p, chunk, dtypes[EMBER_MPI_BYTE], root, comm_world);
        if (code) return fail("MPI_Bcast", code);
        p += chunk;
        bytes -= chunk;
    }
    return 0;
}

int ember_mpi_allgather(const void *send, void *receive, int64_t bytes) {
    if (impl == IMPL_NONE) { snprintf(last_error, sizeof last_error, "MPI is not loaded"); return -1; }
    if (bytes > INT_MAX) { snprintf(last_error, sizeof last_error, "allgather of %lld bytes per rank exceeds MPI's int count", (long long)bytes); return -1; }
    int code = p_allgather(send, (int)bytes, dtypes[EMBER_MPI_BYTE], receive, (int)bytes, dtypes[EMBER_MPI_BYTE], comm_world);
    return code ? fail("MPI_Allgather", code) : 0;
}

int ember_mpi_barrier(void) {
    if (impl == IMPL_NONE) { snprintf(last_error, sizeof last_error, "MPI is not loaded"); return -1; }
    int code = p_barrier(comm_world);
    return code ? fail("MPI_Barrier", code) : 0;
}

int ember_mpi_abort(int code) {
    if (impl == IMPL_NONE) return -1;
    return p_abort(comm_world, code);
}
