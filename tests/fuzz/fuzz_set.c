/* fuzz_set: the --set parser on arbitrary overrides of the baseline.
 *
 * The input is a list of overrides, one per line, each NAME=VALUE split
 * at its first '=' exactly as runway's command line splits --set (a line
 * without '=' is a NAME with an empty VALUE, which the loader refuses; the
 * command line refuses it earlier, so this is stricter). At most 16 lines
 * are used. They are applied to scenarios/baseline.yaml through
 * sc_load_text's sc_options.set, and every property of fuzz_check.h is
 * checked, including that the re-emitted text (yaml_text) loads back into
 * the same scenario. Seeds: tests/fuzz/corpus/set/.
 *
 * The baseline is read once, from RUNWAY_FUZZ_BASELINE (compiled in by
 * tests/fuzz/CMakeLists.txt; the environment variable of the same name
 * overrides it).
 */
#include <stddef.h>
#include <stdint.h>

#include "fuzz_check.h"

#ifndef RUNWAY_FUZZ_BASELINE
#define RUNWAY_FUZZ_BASELINE "scenarios/baseline.yaml"
#endif
#define MAX_SETS 16

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *g_base;
static size_t g_base_len;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *path = getenv("RUNWAY_FUZZ_BASELINE");
    if (!path) path = RUNWAY_FUZZ_BASELINE;
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "fuzz_set: cannot open the baseline %s\n", path);
        exit(1);
    }
    size_t cap = 1 << 16;
    g_base = malloc(cap);
    while (g_base) {
        g_base_len += fread(g_base + g_base_len, 1, cap - g_base_len, f);
        if (g_base_len < cap) break;
        char *p = realloc(g_base, cap *= 2);
        if (!p) free(g_base);
        g_base = p;
    }
    fclose(f);
    if (!g_base) {
        fprintf(stderr, "fuzz_set: out of memory\n");
        exit(1);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!g_base) LLVMFuzzerInitialize(NULL, NULL);
    /* One NUL-terminated copy, cut into lines and at each line's '='. */
    char *buf = malloc(size + 1);
    if (!buf) return 0;
    memcpy(buf, data, size);
    buf[size] = 0;
    sc_override set[MAX_SETS];
    size_t n = 0;
    for (char *line = buf; line && n < MAX_SETS;) {
        char *nl = memchr(line, '\n', (size_t)(buf + size - line));
        if (nl) *nl = 0;
        char *eq = strchr(line, '=');
        if (eq) *eq = 0;
        set[n].name = line;
        set[n].value = eq ? eq + 1 : "";
        n++;
        line = nl ? nl + 1 : NULL;
    }
    sc_options o = {set, n, 0, 0, 0, 0};
    sc_scenario *s = (sc_scenario *)1;
    char err[1024];
    memset(err, 'x', sizeof err);
    int rc = sc_load_text(&s, g_base, g_base_len, "baseline.yaml", &o, err,
                          sizeof err);
    if (rc != 0) {
        fz_check_failure(rc, s, err, sizeof err);
    } else {
        fz_check_scenario(s);
        fz_check_roundtrip(s);
        sc_free(s);
    }
    free(buf);
    return 0;
}
