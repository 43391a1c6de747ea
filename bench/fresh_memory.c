/* What first touching fresh memory costs on this machine: maps 512 MiB four times in a
   row, touches every 4 KiB page, unmaps. The first round gets pages the process never
   had; later rounds get back the pages it just gave up. Modes:

     (none)     4 KiB pages, one thread writing them in order;
     huge       2 MiB (transparent huge) pages, one thread;
     random2    4 KiB pages, two threads adding to them in random order (as the features
                stage's workers first touch its per-customer sums);
     populate   4 KiB pages populated by the kernel at mmap time (MAP_POPULATE);
     populate2  4 KiB pages populated by the kernel in two halves at once, one thread
                each (madvise MADV_POPULATE_WRITE, Linux 5.14+), as RetainIO's
                ZeroedMemory maps large tables.

     clang -O2 -pthread -o /tmp/fresh_memory bench/fresh_memory.c
     for m in "" huge random2 populate populate2; do /tmp/fresh_memory $m; done

   On the 2-core VM of bench/README.md (2026-11-24), per round: 4 KiB pages 0.16-0.24 s;
   huge pages 0.63-1.23 s in the first round, then 0.024-0.030 s; random2 0.09-0.11 s;
   populate 0.16-0.19 s; populate2 0.08 s (0.15 s in the first round: pages the machine
   never gave the process come no faster on two threads). So here only fresh huge pages
   are dear; the features stage's larger gain from populating (bench/README.md) comes
   from how it faults (amid its cache-missing sums), which this loop does not reproduce.
   .ci/run runs every mode. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

static const size_t n = (size_t)512 << 20;

struct half { char *p; size_t first, pages; unsigned seed; };

/* Touches the pages first..first+pages-1 of p in a random order (a full-period LCG walk
   over a power of two, skipping indices past the end). */
/* Has the kernel populate pages first..first+pages-1 of p, writable. */
static void *populate_half(void *arg) {
    struct half *h = arg;
#ifdef MADV_POPULATE_WRITE
    if (madvise(h->p + h->first * 4096, h->pages * 4096, MADV_POPULATE_WRITE) == 0) return 0;
#endif
    for (size_t i = 0; i < h->pages; i++) h->p[(h->first + i) * 4096] = 0;  /* older kernels: touch */
    return 0;
}

static void *touch_random(void *arg) {
    struct half *h = arg;
    size_t span = 1;
    while (span < h->pages) span <<= 1;
    size_t x = h->seed % span;
    for (size_t k = 0; k < span; k++) {
        x = (x * 5 + 1) & (span - 1);
        if (x < h->pages) h->p[(h->first + x) * 4096] += 1;  /* read, then write: as a sum */
    }
    return 0;
}

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "";
    int huge = strcmp(mode, "huge") == 0, random2 = strcmp(mode, "random2") == 0, populate = strcmp(mode, "populate") == 0;
    int populate2 = strcmp(mode, "populate2") == 0;
    const char *label = huge ? "2 MiB pages" : random2 ? "4 KiB pages, two threads at random" : populate ? "4 KiB pages, MAP_POPULATE"
                      : populate2 ? "4 KiB pages, populated in two halves at once" : "4 KiB pages";
    for (int round = 1; round <= 4; round++) {
        double t = now();
        char *p = mmap(0, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | (populate ? MAP_POPULATE : 0), -1, 0);
        if (p == MAP_FAILED) { perror("mmap"); return 1; }
        if (huge) madvise(p, n, MADV_HUGEPAGE);
        if (random2 || populate2) {
            size_t pages = n / 4096;
            struct half a = {p, 0, pages / 2, 7}, b = {p, pages / 2, pages - pages / 2, 11};
            pthread_t ta, tb;
            pthread_create(&ta, 0, random2 ? touch_random : populate_half, &a);
            pthread_create(&tb, 0, random2 ? touch_random : populate_half, &b);
            pthread_join(ta, 0);
            pthread_join(tb, 0);
        } else if (!populate) {
            for (size_t i = 0; i < n; i += 4096) p[i] = 1;
        }
        printf("%s, round %d: first touch of 512 MiB %.3f s\n", label, round, now() - t);
        munmap(p, n);
    }
    return 0;
}
