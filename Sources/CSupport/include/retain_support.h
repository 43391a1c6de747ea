#ifndef RETAIN_SUPPORT_H
#define RETAIN_SUPPORT_H
/* System facilities Swift cannot spell directly. */

#include <stdint.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* The positions of bytes a and b among the 64 bytes at p, a bit each (bit i: byte i).
   With SSE2 (every x86-64 processor) sixteen bytes are compared at once and the result
   gathered into bits (movemask), which Swift's SIMD types cannot spell; elsewhere byte by
   byte. All 64 bytes must be readable. */
static inline uint64_t retain_match2_64(const void *p, unsigned char a, unsigned char b) {
    const unsigned char *s = (const unsigned char *)p;
#if defined(__SSE2__)
    const __m128i va = _mm_set1_epi8((char)a), vb = _mm_set1_epi8((char)b);
    uint64_t m = 0;
    for (int k = 0; k < 4; k++) {
        __m128i x = _mm_loadu_si128((const __m128i *)(s + 16 * k));
        __m128i e = _mm_or_si128(_mm_cmpeq_epi8(x, va), _mm_cmpeq_epi8(x, vb));
        m |= (uint64_t)(uint32_t)_mm_movemask_epi8(e) << (16 * k);
    }
    return m;
#else
    uint64_t m = 0;
    for (int i = 0; i < 64; i++) m |= (uint64_t)(s[i] == a || s[i] == b) << i;
    return m;
#endif
}

/* A software prefetch: asks the cache for the line at p without waiting for it and
   without holding a slot in the reorder buffer (a plain load would). */
static inline void retain_prefetch(const void *p) { __builtin_prefetch(p, 1, 3); }

/* Starts writeback of a file range without waiting (Linux sync_file_range, which needs
   _GNU_SOURCE and so is not visible through Swift's Glibc module). Elsewhere a no-op. */
/* The processors this process may run on (its CPU affinity mask, which `taskset` and
   container CPU sets narrow), or 0 where the system cannot say. */
int retain_processors_allowed(void);

int retain_start_writeback(int fd, long long offset, long long length);

/* Waits until a written range is on disk and drops it from the page cache, so the next
   writes reuse those pages (see OutputBuffer.dropBehind). Linux; elsewhere a no-op. */
int retain_drop_written(int fd, long long offset, long long length);

/* Drops a range already on disk from the page cache (length 0: to the end). Linux;
   elsewhere a no-op. */
int retain_drop_cached(int fd, long long offset, long long length);

/* Keeps memory the process frees for its own later allocations instead of returning it
   to the kernel (glibc: mmap and trim thresholds of 1 GiB). Fresh pages cost a fault and
   zeroing each; see Runner.run for when this pays. Elsewhere a no-op. */
void retain_keep_freed_memory(void);

/* idle = 1: lets the calling thread run only when a core would otherwise be idle (Linux
   SCHED_IDLE, which needs _GNU_SOURCE; no privilege needed to lower one's own priority;
   elsewhere the lowest nice value instead). idle = 0: back to normal scheduling.
   Returns 0 on success. */
int retain_run_when_idle(int idle);

/* Returns memory the process has freed to the kernel (glibc malloc_trim). Elsewhere a
   no-op. */
void retain_return_freed_memory(void);

/* Undoes retain_keep_freed_memory: from now on blocks of 32 MiB or more get their own
   mapping, unmapped when freed, and free memory above 64 MiB at the heap's top goes back
   (glibc's own limits once it has adapted to large blocks); what is kept now goes back at
   once. Elsewhere a no-op. */
void retain_return_freed_memory_from_now(void);
/* Starts `path` (argv, envp: NULL-terminated) as a child in a process group of its own,
   stdin from /dev/null, stdout and stderr to `output` (created or truncated), in
   `directory`, tied to this process: the kernel sends it SIGKILL when the thread that
   started it ends (PR_SET_PDEATHSIG on Linux), so a retain killed with SIGKILL leaves no
   child behind. The caller waits on the returned pid from that same thread, so the
   thread outlives the child. Returns the pid, or -1 with `*error` set to the errno of
   the step that failed (the chdir, the output's open or the exec). */
#include <sys/types.h>
pid_t retain_spawn_tied(const char *path, char *const argv[], char *const envp[], const char *output,
                        const char *directory, int *error);

#endif
