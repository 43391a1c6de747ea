#ifndef RETAIN_PREFETCH_H
#define RETAIN_PREFETCH_H
/* A software prefetch: asks the cache for the line at p without waiting for it and
   without holding a slot in the reorder buffer (a plain load would). Swift has no
   portable spelling of this, hence one inline C function. */
static inline void retain_prefetch(const void *p) { __builtin_prefetch(p, 1, 3); }
#endif
