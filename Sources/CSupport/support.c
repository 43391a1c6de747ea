#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <unistd.h>
#include <sys/wait.h>
#ifdef __linux__
#include <sys/prctl.h>
#include <sys/syscall.h>
#endif
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

void retain_return_freed_memory_from_now(void) {
#if defined(__GLIBC__)
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 64 << 20);
    malloc_trim(0);
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

/* Closes every descriptor from `first` on but `keep` (close_range where the kernel has
   it, else one by one below `highest`). Async-signal-safe: for a child between fork and exec. */
static void close_from(int first, int keep, int highest) {
#if defined(__linux__) && defined(SYS_close_range)
    if (keep > first && syscall(SYS_close_range, (unsigned)first, (unsigned)(keep - 1), 0) == 0
        && syscall(SYS_close_range, (unsigned)(keep + 1), ~0U, 0) == 0) return;
#endif
    for (int fd = first; fd < highest; fd++) if (fd != keep) close(fd);
}

pid_t retain_spawn_tied(const char *path, char *const argv[], char *const envp[], const char *output,
                        const char *directory, int *error) {
    /* The child reports a failure before its exec through a close-on-exec pipe: no bytes
       read = the exec happened. Between fork and exec only async-signal-safe calls. */
    int report[2];
    if (pipe2(report, O_CLOEXEC) != 0) { *error = errno; return -1; }
    pid_t parent = getpid();
    long limit = sysconf(_SC_OPEN_MAX);
    int highest = (limit < 0 || limit > 65536) ? 65536 : (int)limit;
    pid_t pid = fork();
    if (pid < 0) { *error = errno; close(report[0]); close(report[1]); return -1; }
    if (pid == 0) {
        int failure = 0;
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        setpgid(0, 0);
#ifdef __linux__
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent) _exit(127);  /* the parent ended before the tie was made */
#endif
        int in = open("/dev/null", O_RDONLY);
        int out = open(output, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (in < 0 || out < 0) failure = errno;
        else if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0) failure = errno;
        else if (chdir(directory) != 0) failure = errno;
        else {
            /* No descriptor of retain's (its lock, its pipes) passes to the child: a child
               holding retain's output pipe would keep a cron job's pipe open after retain. */
            close_from(3, report[1], highest);
            execve(path, argv, envp);
            failure = errno;
        }
        ssize_t ignored = write(report[1], &failure, sizeof failure);
        (void)ignored;
        _exit(127);
    }
    setpgid(pid, pid);  /* also here, so the group exists before the caller may signal it */
    close(report[1]);
    int failure = 0;
    ssize_t n;
    do { n = read(report[0], &failure, sizeof failure); } while (n < 0 && errno == EINTR);
    close(report[0]);
    if (n == (ssize_t)sizeof failure) {
        int status;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
        *error = failure;
        return -1;
    }
    return pid;
}
