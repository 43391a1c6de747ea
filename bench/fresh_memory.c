/* What first touching fresh memory costs on this machine, with 4 KiB and with 2 MiB
   (transparent huge) pages: maps 512 MiB four times in a row, writes one byte per 4 KiB,
   unmaps. The first round gets pages the process never had; later rounds get back the
   pages it just gave up.

     clang -O2 -o /tmp/fresh_memory bench/fresh_memory.c && /tmp/fresh_memory && /tmp/fresh_memory huge

   On the 2-core VM of bench/README.md (2026-11-24): 4 KiB pages 0.17-0.24 s every round;
   huge pages 0.63-1.23 s in the first round, then 0.024-0.030 s. .ci/run runs it. */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
    size_t n = (size_t)512 << 20;
    int huge = argc > 1 && strcmp(argv[1], "huge") == 0;
    for (int round = 1; round <= 4; round++) {
        char *p = mmap(0, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) { perror("mmap"); return 1; }
        if (huge) madvise(p, n, MADV_HUGEPAGE);
        double t = now();
        for (size_t i = 0; i < n; i += 4096) p[i] = 1;
        printf("%s pages, round %d: first touch of 512 MiB %.3f s\n", huge ? "2 MiB" : "4 KiB", round, now() - t);
        munmap(p, n);
    }
    return 0;
}
