#ifndef RETAIN_SUPPORT_H
#define RETAIN_SUPPORT_H
/* Two system facilities Swift cannot spell directly, as inline C functions. */

/* A software prefetch: asks the cache for the line at p without waiting for it and
   without holding a slot in the reorder buffer (a plain load would). */
static inline void retain_prefetch(const void *p) { __builtin_prefetch(p, 1, 3); }

/* Starts writeback of a file range without waiting (Linux sync_file_range, which needs
   _GNU_SOURCE and so is not visible through Swift's Glibc module). Elsewhere a no-op. */
int retain_start_writeback(int fd, long long offset, long long length);
#endif
