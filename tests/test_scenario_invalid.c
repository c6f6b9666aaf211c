/* test_scenario_invalid: every malformed scenario is refused with one line
 * that names the file, the line, the key and the rule.
 *
 * Each file in tests/invalid/ breaks exactly one rule of MODEL.md sections
 * 1, 4 and 7 (its second line says which). Its first line states the
 * expected message, written by hand from the file, not from the loader:
 *
 *   # expect: LINE KEY PHRASE[; PHRASE...]
 *
 * and the test checks that sc_load fails, that the message is one line,
 * and that it contains "NAME.yaml:LINE:", KEY, and every PHRASE.
 * Then the command-line overrides: bad --set names, keys, labs and values,
 * and --paths 0, each refused with a message that starts "--set NAME" (or
 * "--paths").
 *
 * Run from tests/ (CTest sets the working directory). */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/scenario.h"
#include "test_util.h"

#define BASELINE "../scenarios/baseline.yaml"

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Checks one invalid file; returns 1 if it was a scenario file. */
static int check_file(const char *dir, const char *fname)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, fname);
    FILE *f = fopen(path, "r");
    if (!f) {
        TU_FAIL_("cannot open %s", path);
        return 0;
    }
    char first[512] = "";
    if (!fgets(first, sizeof first, f)) first[0] = 0;
    fclose(f);
    first[strcspn(first, "\r\n")] = 0;

    int line = 0, n = 0;
    char key[128] = "";
    if (sscanf(first, "# expect: %d %127s %n", &line, key, &n) < 2 || n == 0) {
        TU_FAIL_("%s: first line must be '# expect: LINE KEY PHRASES', "
                 "got '%s'", fname, first);
        return 1;
    }
    const char *phrases = first + n;

    sc_scenario *s = (sc_scenario *)1;
    char err[1024] = "";
    int rc = sc_load(&s, path, NULL, err, sizeof err);
    if (rc == 0) {
        TU_FAIL_("%s: accepted, expected a failure at line %d", fname, line);
        sc_free(s);
        return 1;
    }
    ASSERT_TRUE(s == NULL);
    if (strchr(err, '\n')) TU_FAIL_("%s: message is not one line: %s", fname,
                                    err);

    char where[600];
    snprintf(where, sizeof where, "%s:%d:", fname, line);
    if (!strstr(err, where))
        TU_FAIL_("%s: message lacks '%s': %s", fname, where, err);
    if (!strstr(err, key))
        TU_FAIL_("%s: message lacks the key '%s': %s", fname, key, err);
    char buf[512];
    snprintf(buf, sizeof buf, "%s", phrases);
    for (char *p = buf; p && *p;) {
        char *semi = strstr(p, "; ");
        if (semi) *semi = 0;
        if (*p && !strstr(err, p))
            TU_FAIL_("%s: message lacks '%s': %s", fname, p, err);
        p = semi ? semi + 2 : NULL;
    }
    if (getenv("RUNWAY_TEST_VERBOSE")) printf("%s\n", err);
    return 1;
}

/* A --set (or --paths) that must fail with a message starting `prefix`
 * and containing `word`. */
static void check_override(const char *name, const char *value,
                           const char *prefix, const char *word)
{
    sc_override set = {name, value};
    sc_options o = {&set, 1, 0, 0, 0, 0};
    sc_scenario *s = (sc_scenario *)1;
    char err[1024] = "";
    if (sc_load(&s, BASELINE, &o, err, sizeof err) == 0) {
        TU_FAIL_("--set %s=%s accepted", name ? name : "(null)",
                 value ? value : "(null)");
        sc_free(s);
        return;
    }
    ASSERT_TRUE(s == NULL);
    if (strncmp(err, prefix, strlen(prefix)) != 0)
        TU_FAIL_("--set %s=%s: message does not start with '%s': %s",
                 name ? name : "(null)", value ? value : "(null)", prefix,
                 err);
    if (!strstr(err, word))
        TU_FAIL_("--set %s=%s: message lacks '%s': %s", name ? name : "",
                 value ? value : "", word, err);
    if (getenv("RUNWAY_TEST_VERBOSE")) printf("%s\n", err);
}

int main(void)
{
    /* The files, in name order so that failures read the same each run. */
    const char *dir = "invalid";
    DIR *d = opendir(dir);
    ASSERT_TRUE(d != NULL);
    char *names[256];
    size_t n = 0;
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)) && n < 256) {
            size_t len = strlen(e->d_name);
            if (len > 5 && !strcmp(e->d_name + len - 5, ".yaml"))
                names[n++] = strdup(e->d_name);
        }
        closedir(d);
    }
    qsort(names, n, sizeof names[0], cmp_str);
    int checked = 0;
    for (size_t i = 0; i < n; i++) {
        checked += check_file(dir, names[i]);
        free(names[i]);
    }
    if (checked < 20) TU_FAIL_("only %d invalid scenarios, want >= 20",
                               checked);

    /* A file that is not there. */
    {
        sc_scenario *s = (sc_scenario *)1;
        char err[512] = "";
        ASSERT_EQ_INT(sc_load(&s, "invalid/no_such_file.yml", NULL, err,
                              sizeof err), -1);
        ASSERT_TRUE(s == NULL);
        ASSERT_TRUE(strstr(err, "no_such_file.yml") != NULL);
    }

    /* Overrides. */
    check_override("OpenAI.cahs0", "3", "--set OpenAI.cahs0", "cash0");
    check_override("Nobody.cash0", "3", "--set Nobody.cash0", "unknown lab");
    check_override("market.price_declne", "3", "--set market.price_declne",
                   "unknown key");
    check_override("defaults.name", "x", "--set defaults.name",
                   "name cannot be set");
    check_override("OpenAI.name", "x", "--set OpenAI.name", "name");
    check_override("OpenAI.cash0", "abc", "--set OpenAI.cash0",
                   "not a number or a distribution");
    check_override("OpenAI.cash0", "{dist: normal, mean: 1",
                   "--set OpenAI.cash0", "not valid YAML");
    check_override("OpenAI.cash0", "", "--set OpenAI.cash0", "empty");
    check_override("OpenAI.cash0", "[1, 2]", "--set OpenAI.cash0", "list");
    check_override("OpenAI.cash0", ".nan", "--set OpenAI.cash0",
                   "not finite");
    check_override("market.price_decline", "10 to 2",
                   "--set market.price_decline", "a must be < b");
    check_override("market.maturity", "{dist: uniform, min: 0.5, max: 1.5}",
                   "--set market.maturity", "(0, 1]");
    check_override("OpenAI.cash0", "{dist: uniform, min: 1, max: 2, "
                   "per: year}", "--set OpenAI.cash0", "per: year");
    check_override("defaults.max_dilution", "1",
                   "--set defaults.max_dilution", "[0, 1)");
    check_override("market.sentiment.rho", "2", "--set market.sentiment.rho",
                   "(-1, 1)");
    check_override("OpenAI.subs0", "100", "", "sum of subs0");
    check_override("", "1", "--set", "empty");
    check_override("cash0", "1", "--set cash0", "market.KEY");
    check_override(".cash0", "1", "--set .cash0", "market.KEY");
    check_override("OpenAI.", "1", "--set OpenAI.", "market.KEY");
    check_override(NULL, "1", "--set", "empty");
    {
        sc_options o = {NULL, 0, 1, 0, 0, 0};
        sc_scenario *s = (sc_scenario *)1;
        char err[512] = "";
        ASSERT_EQ_INT(sc_load(&s, BASELINE, &o, err, sizeof err), -1);
        ASSERT_TRUE(s == NULL);
        ASSERT_TRUE(strncmp(err, "--paths", 7) == 0);
    }
    /* A tiny error buffer is never overrun, and NULL is allowed. */
    {
        sc_scenario *s = (sc_scenario *)1;
        char small[8];
        ASSERT_EQ_INT(sc_load(&s, "invalid/horizon_zero.yaml", NULL, small,
                              sizeof small), -1);
        ASSERT_TRUE(strlen(small) < sizeof small);
        ASSERT_EQ_INT(sc_load(&s, "invalid/horizon_zero.yaml", NULL, NULL,
                              0), -1);
    }
    printf("%d invalid scenarios\n", checked);
    TU_DONE();
}
