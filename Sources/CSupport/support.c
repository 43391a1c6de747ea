#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <spawn.h>
#include <errno.h>
#include <sys/resource.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include "retain_support.h"

int retain_processors_allowed(void) {
#ifdef __linux__
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) != 0) return 0;
    return CPU_COUNT(&set);
#else
    return 0;
#endif
}

int retain_start_writeback(int fd, long long offset, long long length) {
#ifdef __linux__
    return sync_file_range(fd, (off_t)offset, (off_t)length, SYNC_FILE_RANGE_WRITE);
#else
    (void)fd; (void)offset; (void)length;
    return 0;
#endif
}

int retain_drop_cached(int fd, long long offset, long long length) {
#ifdef __linux__
    return posix_fadvise(fd, (off_t)offset, (off_t)length, POSIX_FADV_DONTNEED);
#else
    (void)fd; (void)offset; (void)length;
    return 0;
#endif
}

int retain_drop_written(int fd, long long offset, long long length) {
#ifdef __linux__
    int r = sync_file_range(fd, (off_t)offset, (off_t)length,
                            SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER);
    if (r != 0) return r;
#endif
    return retain_drop_cached(fd, offset, length);
}

void retain_keep_freed_memory(void) {
#if defined(__GLIBC__)
    mallopt(M_MMAP_THRESHOLD, 1 << 30);
    mallopt(M_TRIM_THRESHOLD, 1 << 30);
#endif
}

void retain_return_freed_memory(void) {
#if defined(__GLIBC__)
    malloc_trim(0);
#endif
}

int retain_run_when_idle(int idle) {
#ifdef __linux__
    struct sched_param p = { .sched_priority = 0 };
    return sched_setscheduler(0, idle ? SCHED_IDLE : SCHED_OTHER, &p);  /* 0: the calling thread */
#else
    return setpriority(PRIO_PROCESS, 0, idle ? 20 : 0);
#endif
}

int retain_spawn_add_chdir(posix_spawn_file_actions_t *actions, const char *directory) {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 29))
    return posix_spawn_file_actions_addchdir_np(actions, directory);
#else
    (void)actions; (void)directory;
    return ENOSYS;
#endif
}
