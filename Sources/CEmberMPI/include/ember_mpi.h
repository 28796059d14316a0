/* Ember's MPI binding, loaded at run time: libmpi (Open MPI, `libmpi.so.40`) or libmpich
 * (MPICH, `libmpich.so.12`) is opened with dlopen when a program first asks for a process group, so
 * Ember builds and runs where no MPI is installed. The two implementations disagree on what a handle
 * is (Open MPI: pointers to exported globals such as `ompi_mpi_comm_world`; MPICH: fixed integers
 * such as 0x44000000), so this file resolves them per implementation, as mlx's distributed backend
 * does, and exposes only Ember's own enums.
 *
 * Calls are not thread-safe with respect to each other: Ember makes all of them from one serial
 * queue (MPI_THREAD_SERIALIZED). Every function returns 0 on success or an MPI error code, with a
 * message in the thread's last-error buffer (ember_mpi_last_error). */
#ifndef EMBER_MPI_H
#define EMBER_MPI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum { EMBER_MPI_FLOAT32 = 0, EMBER_MPI_FLOAT64 = 1, EMBER_MPI_INT64 = 2, EMBER_MPI_BYTE = 3 } ember_mpi_dtype;
typedef enum { EMBER_MPI_SUM = 0, EMBER_MPI_MAX = 1, EMBER_MPI_MIN = 2 } ember_mpi_op;

/* Opens the MPI library (EMBER_MPI_LIBRARY overrides the search) and resolves the entry points.
 * Returns 0, or -1 with the reason in ember_mpi_last_error(). Idempotent. */
int ember_mpi_load(void);
/* "Open MPI" or "MPICH" once loaded, else "". */
const char *ember_mpi_implementation(void);
/* The library path that was opened, else "". */
const char *ember_mpi_library_path(void);
const char *ember_mpi_last_error(void);

/* MPI_Init_thread(MPI_THREAD_SERIALIZED) unless MPI is already initialised; writes rank and size of
 * MPI_COMM_WORLD. */
int ember_mpi_init(int *rank, int *size);
int ember_mpi_finalize(void);
int ember_mpi_is_initialized(void);

/* In-place all-reduce of `count` elements (split into chunks that fit MPI's int counts). */
int ember_mpi_allreduce(void *buffer, int64_t count, ember_mpi_dtype dtype, ember_mpi_op op);
/* Broadcast of `bytes` bytes from `root`. */
int ember_mpi_broadcast(void *buffer, int64_t bytes, int root);
/* Every rank's `bytes` bytes, concatenated in rank order into `receive` (size × bytes). */
int ember_mpi_allgather(const void *send, void *receive, int64_t bytes);
int ember_mpi_barrier(void);
/* MPI_Abort(MPI_COMM_WORLD, code): ends every rank (used when one rank fails so the others don't hang). */
int ember_mpi_abort(int code);

#ifdef __cplusplus
}
#endif
#endif
