#ifndef RETAIN_SUPPORT_H
#define RETAIN_SUPPORT_H
/* System facilities Swift cannot spell directly. */

/* A software prefetch: asks the cache for the line at p without waiting for it and
   without holding a slot in the reorder buffer (a plain load would). */
static inline void retain_prefetch(const void *p) { __builtin_prefetch(p, 1, 3); }

/* Starts writeback of a file range without waiting (Linux sync_file_range, which needs
   _GNU_SOURCE and so is not visible through Swift's Glibc module). Elsewhere a no-op. */
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

/* Returns memory the process has freed to the kernel (glibc malloc_trim). Elsewhere a
   no-op. */
void retain_return_freed_memory(void);
#endif
