/* replay: feeds files to a fuzz target's LLVMFuzzerTestOneInput without
 * libFuzzer, so that CI (any compiler, with or without sanitizers) replays
 * the seed corpora and every regression input.
 *
 *   replay PATH...
 *
 * Each PATH is a file or a directory; a directory's regular files are
 * replayed in name order (not recursively; names starting with '.' and
 * README files are skipped). LLVMFuzzerInitialize is called first when
 * the target defines it. A property that fails aborts inside the target
 * (fuzz_check.h), which fails the test; sanitizer reports do the same.
 * Exit status: 0 when every input ran, 1 when a PATH cannot be read or
 * when no input at all was found (an empty corpus proves nothing). */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "replay: cannot open %s\n", path);
        return -1;
    }
    size_t len = 0, cap = 4096;
    uint8_t *buf = malloc(cap);
    while (buf) {
        len += fread(buf + len, 1, cap - len, f);
        if (len < cap) break;
        uint8_t *p = realloc(buf, cap *= 2);
        if (!p) free(buf);
        buf = p;
    }
    int bad = ferror(f);
    fclose(f);
    if (!buf || bad) {
        free(buf);
        fprintf(stderr, "replay: cannot read %s\n", path);
        return -1;
    }
    /* An exact-size copy, so that ASan catches a read one past the end. */
    uint8_t *exact = malloc(len ? len : 1);
    if (!exact) {
        free(buf);
        return -1;
    }
    memcpy(exact, buf, len);
    free(buf);
    if (getenv("RUNWAY_REPLAY_VERBOSE")) fprintf(stderr, "%s\n", path);
    LLVMFuzzerTestOneInput(exact, len);
    free(exact);
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Returns the number of inputs replayed, or -1. */
static long replay_path(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        fprintf(stderr, "replay: cannot stat %s\n", path);
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) return replay_file(path) ? -1 : 1;
    DIR *d = opendir(path);
    if (!d) {
        fprintf(stderr, "replay: cannot open the folder %s\n", path);
        return -1;
    }
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    long rc = 0;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.' || !strncmp(e->d_name, "README", 6))
            continue;
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            char **p = realloc(names, cap * sizeof *names);
            if (!p) {
                rc = -1;
                break;
            }
            names = p;
        }
        size_t len = strlen(path) + strlen(e->d_name) + 2;
        if (!(names[n] = malloc(len))) {
            rc = -1;
            break;
        }
        snprintf(names[n], len, "%s/%s", path, e->d_name);
        n++;
    }
    closedir(d);
    if (names) qsort(names, n, sizeof *names, cmp_str);
    for (size_t i = 0; i < n; i++) {
        if (rc >= 0 && stat(names[i], &st) == 0 && S_ISREG(st.st_mode)) {
            if (replay_file(names[i]))
                rc = -1;
            else
                rc++;
        }
        free(names[i]);
    }
    free(names);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: replay FILE_OR_FOLDER...\n");
        return 2;
    }
    if (LLVMFuzzerInitialize) LLVMFuzzerInitialize(&argc, &argv);
    long total = 0;
    for (int i = 1; i < argc; i++) {
        long n = replay_path(argv[i]);
        if (n < 0) return 1;
        printf("%s: %ld input%s\n", argv[i], n, n == 1 ? "" : "s");
        total += n;
    }
    printf("%ld inputs replayed, no property failed\n", total);
    return total > 0 ? 0 : 1;
}
