/* runway: the command line. Only this file decides to exit. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <gsl/gsl_errno.h>
#include <omp.h>

#include "engine/scenario.h"
#include "engine/sim.h"
#include "output/h5out.h"

#define EXIT_USAGE 2

static volatile sig_atomic_t g_interrupted = 0;

static void on_signal(int sig)
{
    g_interrupted = sig;
}

static void usage(FILE *f)
{
    fputs("Usage: runway run SCENARIO [options]\n"
          "       runway validate SCENARIO [--set NAME=VALUE ...]\n"
          "       runway --help | --version\n"
          "\n"
          "Simulates every lab of a scenario over many Monte Carlo paths and writes\n"
          "survival probabilities and their distributions to an HDF5 file.\n"
          "\n"
          "Options for run:\n"
          "  -o, --output FILE      result file (default: SCENARIO's name with .h5,\n"
          "                         in the current directory)\n"
          "  -n, --paths N          number of paths (default: the scenario's `paths`)\n"
          "  -s, --seed S           seed, 0..2^64-1 (default: the scenario's `seed`)\n"
          "  -t, --threads N        OpenMP threads (default: all cores); results\n"
          "                         are identical for any N\n"
          "  -k, --keep-paths K     keep whole yearly trajectories of paths 0..K-1\n"
          "                         (default 100)\n"
          "      --set NAME=VALUE   override an input, e.g. --set OpenAI.cash0=60,\n"
          "                         --set market.train_cost_growth=\"1.5 to 2.5\",\n"
          "                         --set defaults.max_dilution=0.2 (repeatable)\n"
          "  -q, --quiet            no summary table, no progress\n"
          "  -h, --help             this help\n"
          "  -V, --version          version\n"
          "\n"
          "Exit status: 0 success, 1 invalid scenario or failed run, 2 bad command\n"
          "line. A failed run never leaves a file at the output path.\n"
          "Documentation: README.md and docs/ in the source tree.\n", f);
}

/* Strict unsigned parse: the whole string, decimal, no sign. */
static int parse_u64(const char *s, uint64_t *out)
{
    if (!s || !*s || *s == '-' || *s == '+')
        return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end)
        return -1;
    *out = v;
    return 0;
}

static char *join_argv(int argc, char **argv)
{
    size_t n = 1;
    for (int i = 0; i < argc; i++)
        n += strlen(argv[i]) * 4 + 3;
    char *s = malloc(n), *p = s;
    if (!s)
        return NULL;
    for (int i = 0; i < argc; i++) {
        int quote = strpbrk(argv[i], " \t\"'$\\") != NULL || !*argv[i];
        if (i)
            *p++ = ' ';
        if (quote) {
            *p++ = '\'';
            for (const char *c = argv[i]; *c; c++) {
                if (*c == '\'') {
                    memcpy(p, "'\\''", 4);
                    p += 4;
                } else {
                    *p++ = *c;
                }
            }
            *p++ = '\'';
        } else {
            size_t k = strlen(argv[i]);
            memcpy(p, argv[i], k);
            p += k;
        }
    }
    *p = 0;
    return s;
}

/* "scenarios/baseline.yaml" -> "baseline.h5" */
static char *default_output(const char *scenario)
{
    const char *base = strrchr(scenario, '/');
    base = base ? base + 1 : scenario;
    size_t n = strlen(base);
    const char *dot = strrchr(base, '.');
    if (dot && dot != base)
        n = (size_t)(dot - base);
    char *out = malloc(n + 4);
    if (out)
        snprintf(out, n + 4, "%.*s.h5", (int)n, base);
    return out;
}

typedef struct {
    ho_file *h5;
} sink_ctx;

static int sink_paths(void *ctx, uint64_t first, uint64_t count,
                      const ho_paths *blk, char *err, size_t errlen)
{
    if (g_interrupted) {
        snprintf(err, errlen, "interrupted by signal %d; no result written", (int)g_interrupted);
        return -1;
    }
    return ho_write_paths(((sink_ctx *)ctx)->h5, first, count, blk, err, errlen);
}

static void print_table(const sc_scenario *s, const sim_result *r, double secs,
                        const char *out)
{
    int want[] = { 1, 3, 5, 10 };
    int years[5], ny = 0;
    for (int i = 0; i < 4; i++)
        if (want[i] <= s->horizon)
            years[ny++] = want[i];
    if (years[ny - 1] != s->horizon)
        years[ny++] = s->horizon;
    printf("%s: %llu paths, seed %llu, %d thread%s, %.2f s -> %s\n", s->name,
           (unsigned long long)r->N, (unsigned long long)s->seed, r->threads_used,
           r->threads_used == 1 ? "" : "s", secs, out);
    printf("P(alive at end of year) [95%% Wilson interval]\n%-18s", "lab");
    for (int j = 0; j < ny; j++)
        printf("  %-21d", s->base_year + years[j]);
    printf("\n");
    for (size_t l = 0; l < r->L; l++) {
        printf("%-18.18s", s->labs[l].name);
        for (int j = 0; j < ny; j++) {
            size_t i = l * r->T + (size_t)(years[j] - 1);
            printf("  %5.3f [%5.3f,%5.3f]  ", r->survival[i], r->survival_lo[i], r->survival_hi[i]);
        }
        printf("%s\n", s->labs[l].backstop == SC_BACKSTOP_PARENT ? " (parent backstop)" : "");
    }
    if (r->overflow)
        printf("warning: %llu values beyond +-2^40 were clamped in the quantile sketches\n",
               (unsigned long long)r->overflow);
}

static int cmd_run_or_validate(int validate_only, int argc, char **argv)
{
    static const struct option longopts[] = {
        { "output", required_argument, 0, 'o' },
        { "paths", required_argument, 0, 'n' },
        { "seed", required_argument, 0, 's' },
        { "threads", required_argument, 0, 't' },
        { "keep-paths", required_argument, 0, 'k' },
        { "set", required_argument, 0, 'S' },
        { "quiet", no_argument, 0, 'q' },
        { "help", no_argument, 0, 'h' },
        { 0, 0, 0, 0 },
    };
    const char *out = NULL;
    sc_options so = { 0 };
    sc_override *sets = calloc((size_t)argc, sizeof *sets);
    uint64_t threads = 0, keep = 100;
    int quiet = 0, c;
    if (!sets)
        return 1;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:n:s:t:k:qh", longopts, NULL)) != -1) {
        const char *what = NULL;
        switch (c) {
        case 'o': out = optarg; break;
        case 'n':
            if (parse_u64(optarg, &so.paths) || so.paths == 0)
                what = "--paths: must be a positive integer";
            so.has_paths = 1;
            break;
        case 's':
            if (parse_u64(optarg, &so.seed))
                what = "--seed: must be an integer in 0..18446744073709551615";
            so.has_seed = 1;
            break;
        case 't':
            if (parse_u64(optarg, &threads) || threads == 0 || threads > 4096)
                what = "--threads: must be an integer in 1..4096";
            break;
        case 'k':
            if (parse_u64(optarg, &keep) || keep > 1000000)
                what = "--keep-paths: must be an integer in 0..1000000";
            break;
        case 'S': {
            char *eq = strchr(optarg, '=');
            if (!eq || eq == optarg) {
                fprintf(stderr, "runway: --set %s: expected NAME=VALUE, e.g. OpenAI.cash0=60\n", optarg);
                free(sets);
                return EXIT_USAGE;
            }
            *eq = 0;
            sets[so.nset].name = optarg;
            sets[so.nset].value = eq + 1;
            so.nset++;
            break;
        }
        case 'q': quiet = 1; break;
        case 'h': usage(stdout); free(sets); return 0;
        default:
            fprintf(stderr, "Try 'runway --help' for more information.\n");
            free(sets);
            return EXIT_USAGE;
        }
        if (what) {
            fprintf(stderr, "runway: %s (got '%s')\n", what, optarg);
            free(sets);
            return EXIT_USAGE;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "runway: %s needs exactly one SCENARIO file\n"
                        "Try 'runway --help' for more information.\n",
                validate_only ? "validate" : "run");
        free(sets);
        return EXIT_USAGE;
    }
    const char *path = argv[optind];
    so.set = sets;
    char err[1024];
    sc_scenario *s = NULL;
    if (sc_load(&s, path, &so, err, sizeof err) != 0) {
        fprintf(stderr, "runway: %s\n", err);
        free(sets);
        return 1;
    }
    free(sets);
    if (validate_only) {
        printf("%s: valid: %zu labs, %zu drawn inputs, horizon %d, %llu paths, seed %llu\n",
               path, s->nlabs, s->ninputs, s->horizon, (unsigned long long)s->paths,
               (unsigned long long)s->seed);
        sc_free(s);
        return 0;
    }

    char *outbuf = out ? NULL : default_output(path);
    if (!out)
        out = outbuf;
    char *cmdline = join_argv(argc, argv);
    char created[32];
    time_t now = time(NULL);
    struct tm tmv;
    gmtime_r(&now, &tmv);
    strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", &tmv);

    int nthreads = threads ? (int)threads : omp_get_max_threads();
    const char **labn = calloc(s->nlabs, sizeof *labn);
    const char **inn = calloc(s->ninputs ? s->ninputs : 1, sizeof *inn);
    for (size_t l = 0; labn && l < s->nlabs; l++)
        labn[l] = s->labs[l].name;
    for (size_t i = 0; inn && i < s->ninputs; i++)
        inn[i] = s->inputs[i].name;
    size_t K = keep < s->paths ? (size_t)keep : (size_t)s->paths;
    uint64_t *kept = calloc(K ? K : 1, sizeof *kept);
    for (size_t k = 0; kept && k < K; k++)
        kept[k] = k;
    int rc = 1;
    ho_file *h5 = NULL;
    sim_result res = { 0 };
    if (!labn || !inn || !kept || !cmdline || !out) {
        fprintf(stderr, "runway: out of memory\n");
        goto done;
    }
    char title[512];
    snprintf(title, sizeof title, "runway survival simulation: %s", s->name);
    ho_meta meta = {
        .title = title, .scenario_name = s->name, .scenario_yaml = s->yaml_text,
        .version = RUNWAY_VERSION, .created = created, .command_line = cmdline,
        .seed = s->seed, .paths = s->paths, .horizon = s->horizon,
        .base_year = s->base_year, .threads = nthreads, .processes = 1,
        .nlabs = s->nlabs, .lab_names = labn, .ninputs = s->ninputs,
        .input_names = inn, .nkept = K, .kept_paths = kept, .per_path = 1,
    };
    /* The file is created before any path runs, so an unwritable output
     * fails in a second, not after an hour. */
    h5 = ho_create(out, &meta, err, sizeof err);
    if (!h5) {
        fprintf(stderr, "runway: %s\n", err);
        goto done;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    sink_ctx ctx = { h5 };
    sim_options opt = {
        .paths = s->paths, .seed = s->seed, .threads = nthreads, .keep = K,
        .progress = !quiet && isatty(2), .on_paths = sink_paths, .ctx = &ctx,
    };
    double t0 = omp_get_wtime();
    if (sim_run(s, &opt, &res, err, sizeof err) != 0) {
        fprintf(stderr, "runway: %s\n", err);
        goto done;
    }
    double secs = omp_get_wtime() - t0;
    ho_summary sum;
    ho_traj tr;
    sim_summary_view(&res, &sum);
    sim_traj_view(&res, &tr);
    if (ho_write_summary(h5, &sum, err, sizeof err) != 0
        || ho_write_traj(h5, &tr, err, sizeof err) != 0) {
        fprintf(stderr, "runway: %s\n", err);
        goto done;
    }
    ho_file *f = h5;
    h5 = NULL; /* ho_commit frees it whatever happens */
    if (ho_commit(f, err, sizeof err) != 0) {
        fprintf(stderr, "runway: %s\n", err);
        goto done;
    }
    if (!quiet)
        print_table(s, &res, secs, out);
    rc = 0;
done:
    ho_discard(h5);
    sim_result_free(&res);
    free(labn);
    free(inn);
    free(kept);
    free(cmdline);
    free(outbuf);
    sc_free(s);
    return rc;
}

int main(int argc, char **argv)
{
    /* GSL's default handler aborts; runway checks codes instead. */
    gsl_set_error_handler_off();
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(cmd, "--version") || !strcmp(cmd, "-V")) {
        printf("runway %s\n", RUNWAY_VERSION);
        return 0;
    }
    if (!strcmp(cmd, "run"))
        return cmd_run_or_validate(0, argc - 1, argv + 1);
    if (!strcmp(cmd, "validate"))
        return cmd_run_or_validate(1, argc - 1, argv + 1);
    fprintf(stderr, "runway: unknown command '%s'\nTry 'runway --help' for more information.\n", cmd);
    return EXIT_USAGE;
}
