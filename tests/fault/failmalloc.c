/* failmalloc: an LD_PRELOAD allocator that fails on demand, for fault
 * injection (tests/test_faults.py).
 *
 *   FAILMALLOC_AT=N      the N-th allocation (1-based) returns NULL
 *   FAILMALLOC_AFTER=1   ... and every one after it, too
 *   FAILMALLOC_COUNT=F   at exit, write the number of allocations to file F
 *   FAILMALLOC_OWN=1     count (and fail) only allocations called from the
 *                        program itself, not from its libraries: runway's
 *                        own allocation sites. (HDF5 1.10 does not survive
 *                        all of its own allocation failures: see
 *                        docs/faults.md.)
 *
 * malloc, calloc, realloc and posix_memalign are counted; the real ones are
 * found with dlsym(RTLD_NEXT). dlsym itself may allocate (calloc) before
 * the real calloc is known: those early calls are served from a static
 * arena and never fail. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <link.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void *(*real_malloc)(size_t);
static void *(*real_calloc)(size_t, size_t);
static void *(*real_realloc)(void *, size_t);
static int (*real_memalign)(void **, size_t, size_t);
static atomic_ulong count;
static unsigned long fail_at;
static int fail_after, ready, own_only;
static uintptr_t exe_lo, exe_hi;

/* The main program's address range: the first object dl_iterate_phdr
 * reports. */
static int find_exe(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size; (void)data;
    for (int i = 0; i < info->dlpi_phnum; i++)
        if (info->dlpi_phdr[i].p_type == PT_LOAD) {
            uintptr_t a = info->dlpi_addr + info->dlpi_phdr[i].p_vaddr;
            uintptr_t b = a + info->dlpi_phdr[i].p_memsz;
            if (!exe_lo || a < exe_lo)
                exe_lo = a;
            if (b > exe_hi)
                exe_hi = b;
        }
    return 1; /* stop after the first: the program */
}
static char arena[1 << 16];
static size_t arena_used;

static void report(void)
{
    const char *f = getenv("FAILMALLOC_COUNT");
    if (f) {
        FILE *o = fopen(f, "w");
        if (o) {
            fprintf(o, "%lu\n", (unsigned long)atomic_load(&count));
            fclose(o);
        }
    }
}

static void init(void)
{
    if (ready)
        return;
    ready = -1; /* dlsym may call calloc: served by the arena */
    real_malloc = dlsym(RTLD_NEXT, "malloc");
    real_calloc = dlsym(RTLD_NEXT, "calloc");
    real_realloc = dlsym(RTLD_NEXT, "realloc");
    real_memalign = dlsym(RTLD_NEXT, "posix_memalign");
    const char *a = getenv("FAILMALLOC_AT");
    fail_at = a ? strtoul(a, NULL, 10) : 0;
    fail_after = getenv("FAILMALLOC_AFTER") != NULL;
    own_only = getenv("FAILMALLOC_OWN") != NULL;
    if (own_only)
        dl_iterate_phdr(find_exe, NULL);
    ready = 1;
    atexit(report);
}

static int should_fail_at(void *caller)
{
    if (own_only && !((uintptr_t)caller >= exe_lo && (uintptr_t)caller < exe_hi))
        return 0;
    unsigned long n = atomic_fetch_add(&count, 1) + 1;
    return fail_at && (n == fail_at || (fail_after && n > fail_at));
}

static void *from_arena(size_t n)
{
    n = (n + 15) & ~(size_t)15;
    if (arena_used + n > sizeof arena)
        return NULL;
    void *p = arena + arena_used;
    arena_used += n;
    return p;
}

static int in_arena(void *p)
{
    return (char *)p >= arena && (char *)p < arena + sizeof arena;
}

void *malloc(size_t n)
{
    init();
    if (ready < 0)
        return from_arena(n);
    if (should_fail_at(__builtin_return_address(0))) {
        errno = ENOMEM;
        return NULL;
    }
    return real_malloc(n);
}

void *calloc(size_t a, size_t b)
{
    if (ready < 0 || !real_calloc) {
        void *p = from_arena(a * b);
        if (p)
            memset(p, 0, a * b);
        return p;
    }
    init();
    if (should_fail_at(__builtin_return_address(0))) {
        errno = ENOMEM;
        return NULL;
    }
    return real_calloc(a, b);
}

void *realloc(void *p, size_t n)
{
    init();
    if (p && in_arena(p)) {
        void *q = real_malloc(n);
        if (q)
            memcpy(q, p, n); /* arena blocks are small and never freed */
        return q;
    }
    if (should_fail_at(__builtin_return_address(0))) {
        errno = ENOMEM;
        return NULL;
    }
    return real_realloc(p, n);
}

int posix_memalign(void **out, size_t al, size_t n)
{
    init();
    if (should_fail_at(__builtin_return_address(0)))
        return ENOMEM;
    return real_memalign(out, al, n);
}

void free(void *p)
{
    static void (*real_free)(void *);
    if (!p || in_arena(p))
        return;
    if (!real_free)
        real_free = dlsym(RTLD_NEXT, "free");
    real_free(p);
}
