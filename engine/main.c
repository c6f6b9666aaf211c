/* runway: the command line. Only this file decides to exit. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gsl/gsl_errno.h>
#include <omp.h>

#include "engine/evidence.h"
#include "engine/observe.h"
#include "engine/part.h"
#include "engine/scenario.h"
#include "engine/sim.h"
#include "output/h5evidence.h"
#include "output/h5out.h"
#include "output/h5read.h"

#include <hdf5.h>

#ifdef RUNWAY_MPI
#include <mpi.h>
#endif

#define EXIT_USAGE 2

#ifndef RUNWAY_SCRIPTS_DIR
#define RUNWAY_SCRIPTS_DIR "scripts"
#endif

static volatile sig_atomic_t g_interrupted = 0;

static void on_signal(int sig)
{
    g_interrupted = sig;
}

static void usage(FILE *f)
{
    fputs("Usage: runway run SCENARIO [options]            simulate one scenario\n"
          "       runway run SCEN1 SCEN2 ... -O DIR [options]   a batch, with DIR/index.html\n"
          "       runway sweep SCENARIO --vary NAME=V1,V2,... [--vary ...] [-O DIR] [options]\n"
          "       runway run SCENARIO --shard I/N -o PART.h5   one shard of a run\n"
          "       runway merge PART... -o OUT.h5                join a run's shards\n"
          "       runway backtest SCENARIO OBSERVATIONS.yaml [options]  score a scenario\n"
          "                         against observed figures (docs/evidence.md)\n"
          "       runway run --resume OUT.h5                    finish a checkpoint\n"
          "       mpirun -np N runway-mpi run SCENARIO [options] (MPI build)\n"
          "       runway validate SCENARIO... [--set NAME=VALUE ...]\n"
          "       runway report RESULT.h5 [-o NAME] [--baseline A.h5]   HTML + PDF report\n"
          "       runway compare A.h5 B.h5 [-o OUT.csv] [--json] [--years LIST]\n"
          "       runway explain RESULT.h5 --where EXPR   which inputs lead to the paths\n"
          "                         where EXPR holds (e.g. \"OpenAI.fail_year <= 2029\")\n"
          "       runway --help | --version\n"
          "\n"
          "Simulates every lab of a scenario over many Monte Carlo paths and writes\n"
          "survival probabilities and their distributions to an HDF5 file.\n"
          "\n"
          "Options for run and sweep:\n"
          "  -o, --output FILE      result file (default: SCENARIO's name with .h5,\n"
          "                         in the current directory)\n"
          "  -O, --output-dir DIR   directory for a batch's or a sweep's files\n"
          "  -n, --paths N          number of paths (default: the scenario's `paths`)\n"
          "  -s, --seed S           seed, 0..2^64-1 (default: the scenario's `seed`)\n"
          "  -t, --threads N        OpenMP threads (default: all cores); results\n"
          "                         are identical for any N\n"
          "  -k, --keep-paths K     keep whole yearly trajectories of paths 0..K-1\n"
          "                         (default 100)\n"
          "      --set NAME=VALUE   override an input, e.g. --set OpenAI.cash0=60,\n"
          "                         --set market.train_cost_growth=\"1.5 to 2.5\",\n"
          "                         --set defaults.max_dilution=0.2 (repeatable)\n"
          "      --per-path WHAT    per-path data to keep: all (default: outcomes and\n"
          "                         drawn inputs), outcomes, or none (summaries only)\n"
          "      --target-halfwidth H  add paths until every lab's survival interval\n"
          "                         at the horizon is at most H on each side\n"
          "      --shard I/N        run only shard I (0-based) of N: a contiguous\n"
          "                         share of the paths, for `runway merge`\n"
          "      --condition OBS    weight every path by the likelihood of the observed\n"
          "                         figures in OBS (an observations file, docs/evidence.md):\n"
          "                         every summary becomes the conditioned one\n"
          "      --resume FILE      continue the checkpoint FILE (written with exit\n"
          "                         status 75 on SIGTERM or SIGUSR1)\n"
          "      --vary NAME=V1,V2  (sweep) values to run; several --vary: every\n"
          "                         combination; same seed for all (common random numbers)\n"
          "  -q, --quiet            no summary table, no progress\n"
          "  -h, --help             this help\n"
          "  -V, --version          version\n"
          "\n"
          "Exit status: 0 success, 1 invalid scenario or failed run, 2 bad command\n"
          "line, 75 stopped by a signal with a checkpoint. A failed run never leaves\n"
          "a file at the output path.\n"
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
}

typedef struct {
    ho_file *h5;
    uint64_t first_path; /* the file's first row (a shard's) */
} sink_ctx;

static int sink_paths(void *ctx, uint64_t first, uint64_t count,
                      const ho_paths *blk, char *err, size_t errlen)
{
    if (g_interrupted) {
        snprintf(err, errlen, "interrupted by signal %d; no result written", (int)g_interrupted);
        return -1;
    }
    sink_ctx *c = ctx;
    return c->h5 ? ho_write_paths(c->h5, first - c->first_path, count, blk, err, errlen) : 0;
}

/* Options shared by run, validate, sweep and batches. */
typedef struct {
    const char *out;      /* -o */
    const char *outdir;   /* -O */
    sc_options so;        /* --set, --paths, --seed */
    sc_override *sets;    /* owned copies */
    char **owned;         /* strings owned by sets */
    size_t nowned;
    uint64_t threads, keep;
    int quiet;
    int per_path;         /* HO_PER_PATH_* */
    double target_hw;     /* --target-halfwidth, 0 = off */
    uint64_t shard_i, shard_n; /* --shard I/N; shard_n = 0: whole run */
    const char *resume;   /* --resume FILE */
    const char *observations; /* backtest: the observations file */
    const char *condition;    /* --condition FILE */
    char *cmdline;
} run_opts;

static void run_opts_free(run_opts *o)
{
    for (size_t i = 0; i < o->nowned; i++)
        free(o->owned[i]);
    free(o->owned);
    free(o->sets);
    free(o->cmdline);
}

/* Adds --set NAME=VALUE, copied: argv stays intact for command_line. */
static int add_set(run_opts *o, const char *arg)
{
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg) {
        fprintf(stderr, "runway: --set %s: expected NAME=VALUE, e.g. OpenAI.cash0=60\n", arg);
        return -1;
    }
    char *name = strndup(arg, (size_t)(eq - arg)), *value = strdup(eq + 1);
    sc_override *ns = realloc(o->sets, (o->so.nset + 1) * sizeof *ns);
    if (ns)
        o->sets = ns;
    char **no = realloc(o->owned, (o->nowned + 2) * sizeof *no);
    if (no)
        o->owned = no;
    if (!name || !value || !ns || !no) {
        free(name);
        free(value);
        fprintf(stderr, "runway: out of memory\n");
        return -1;
    }
    o->owned[o->nowned++] = name;
    o->owned[o->nowned++] = value;
    o->sets[o->so.nset].name = name;
    o->sets[o->so.nset].value = value;
    o->so.nset++;
    o->so.set = o->sets;
    return 0;
}

typedef int (*extra_opt_fn)(void *ctx, const char *arg);
enum { OPT_SET = 256, OPT_PER_PATH, OPT_TARGET, OPT_VARY, OPT_SHARD, OPT_RESUME, OPT_CONDITION };

/* Parses the options; positional arguments are argv[*first ..]. Returns
 * 0, -1 after --help, or an exit status. vary: sweep's --vary handler. */
static int parse_run_opts(int argc, char **argv, run_opts *o, int *first,
                          extra_opt_fn vary, void *vctx)
{
    static const struct option longopts[] = {
        { "output", required_argument, 0, 'o' },
        { "output-dir", required_argument, 0, 'O' },
        { "paths", required_argument, 0, 'n' },
        { "seed", required_argument, 0, 's' },
        { "threads", required_argument, 0, 't' },
        { "keep-paths", required_argument, 0, 'k' },
        { "set", required_argument, 0, OPT_SET },
        { "per-path", required_argument, 0, OPT_PER_PATH },
        { "target-halfwidth", required_argument, 0, OPT_TARGET },
        { "vary", required_argument, 0, OPT_VARY },
        { "shard", required_argument, 0, OPT_SHARD },
        { "resume", required_argument, 0, OPT_RESUME },
        { "condition", required_argument, 0, OPT_CONDITION },
        { "quiet", no_argument, 0, 'q' },
        { "help", no_argument, 0, 'h' },
        { 0, 0, 0, 0 },
    };
    memset(o, 0, sizeof *o);
    o->keep = 100;
    o->per_path = HO_PER_PATH_ALL;
    /* argv[-1] is the program: the subcommands get main's argv + 1 */
    o->cmdline = join_argv(argc + 1, argv - 1);
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:O:n:s:t:k:qh", longopts, NULL)) != -1) {
        const char *what = NULL;
        switch (c) {
        case 'o': o->out = optarg; break;
        case 'O': o->outdir = optarg; break;
        case 'n':
            if (parse_u64(optarg, &o->so.paths) || o->so.paths == 0)
                what = "--paths: must be a positive integer";
            o->so.has_paths = 1;
            break;
        case 's':
            if (parse_u64(optarg, &o->so.seed))
                what = "--seed: must be an integer in 0..18446744073709551615";
            o->so.has_seed = 1;
            break;
        case 't':
            if (parse_u64(optarg, &o->threads) || o->threads == 0 || o->threads > 4096)
                what = "--threads: must be an integer in 1..4096";
            break;
        case 'k':
            if (parse_u64(optarg, &o->keep) || o->keep > SIM_MAX_KEEP)
                what = "--keep-paths: must be an integer in 0..1000000";
            break;
        case OPT_SET:
            if (add_set(o, optarg) != 0)
                return EXIT_USAGE;
            break;
        case OPT_PER_PATH:
            if (!strcmp(optarg, "all"))
                o->per_path = HO_PER_PATH_ALL;
            else if (!strcmp(optarg, "outcomes"))
                o->per_path = HO_PER_PATH_OUTCOMES;
            else if (!strcmp(optarg, "none"))
                o->per_path = HO_PER_PATH_NONE;
            else
                what = "--per-path: must be all, outcomes or none";
            break;
        case OPT_TARGET: {
            char *end;
            errno = 0;
            o->target_hw = strtod(optarg, &end);
            if (errno || *end || !(o->target_hw > 0.0 && o->target_hw < 0.5))
                what = "--target-halfwidth: must be a number in (0, 0.5), e.g. 0.005";
            break;
        }
        case OPT_VARY:
            if (!vary)
                what = "--vary: only 'runway sweep' takes it";
            else if (vary(vctx, optarg) != 0)
                return EXIT_USAGE;
            break;
        case OPT_SHARD: {
            char *slash = strchr(optarg, '/');
            if (!slash || (*slash = 0, parse_u64(optarg, &o->shard_i)) || parse_u64(slash + 1, &o->shard_n)
                || o->shard_n == 0 || o->shard_i >= o->shard_n || o->shard_n > 1000000)
                what = "--shard: must be I/N with 0 <= I < N, e.g. 0/8";
            if (slash)
                *slash = '/';
            break;
        }
        case OPT_RESUME: o->resume = optarg; break;
        case OPT_CONDITION: o->condition = optarg; break;
        case 'q': o->quiet = 1; break;
        case 'h': usage(stdout); return -1;
        default:
            fprintf(stderr, "Try 'runway --help' for more information.\n");
            return EXIT_USAGE;
        }
        if (what) {
            fprintf(stderr, "runway: %s (got '%s')\n", what, optarg);
            return EXIT_USAGE;
        }
    }
    *first = optind;
    return 0;
}

/* The headline of one finished run, for a batch's index. */
typedef struct {
    char *name;
    size_t L;
    int T, base_year;
    char **labs;
    double *surv, *lo, *hi; /* [L][T] */
    uint64_t paths;
} headline;

static void headline_free(headline *h)
{
    for (size_t l = 0; l < h->L && h->labs; l++)
        free(h->labs[l]);
    free(h->labs);
    free(h->name);
    free(h->surv); free(h->lo); free(h->hi);
    memset(h, 0, sizeof *h);
}

static int headline_take(headline *h, const sc_scenario *s, const sim_result *r)
{
    size_t LT = r->L * r->T;
    h->L = r->L; h->T = (int)r->T; h->base_year = s->base_year; h->paths = r->N;
    h->name = strdup(s->name);
    h->labs = calloc(r->L, sizeof *h->labs);
    h->surv = malloc(LT * 8); h->lo = malloc(LT * 8); h->hi = malloc(LT * 8);
    if (!h->name || !h->labs || !h->surv || !h->lo || !h->hi)
        return -1;
    for (size_t l = 0; l < r->L; l++)
        if (!(h->labs[l] = strdup(s->labs[l].name)))
            return -1;
    memcpy(h->surv, r->survival, LT * 8);
    memcpy(h->lo, r->survival_lo, LT * 8);
    memcpy(h->hi, r->survival_hi, LT * 8);
    return 0;
}

/* Largest distance from a survival estimate to either end of its interval
 * at the horizon, over labs. */
static double horizon_halfwidth(const sim_result *r)
{
    double hw = 0.0;
    for (size_t l = 0; l < r->L; l++) {
        size_t i = l * r->T + r->T - 1;
        double a = r->survival[i] - r->survival_lo[i], b = r->survival_hi[i] - r->survival[i];
        hw = a > hw ? a : hw;
        hw = b > hw ? b : hw;
    }
    return hw;
}

static int load(sc_scenario **s, const char *path, const sc_options *so,
                const sc_override *extra, size_t nextra)
{
    char err[1024];
    sc_options o = *so;
    sc_override *all = NULL;
    if (nextra) {
        all = calloc(o.nset + nextra, sizeof *all);
        if (!all) {
            fprintf(stderr, "runway: out of memory\n");
            return -1;
        }
        if (o.nset)
            memcpy(all, o.set, o.nset * sizeof *all);
        memcpy(all + o.nset, extra, nextra * sizeof *all);
        o.set = all;
        o.nset += nextra;
    }
    int rc = sc_load(s, path, &o, err, sizeof err);
    if (rc != 0)
        fprintf(stderr, "runway: %s\n", err);
    free(all);
    return rc;
}

/* --target-halfwidth: the path count at which the widest survival interval
 * at the horizon is narrow enough. Every trial depends only on (scenario,
 * seed, N), so the count found, and the file, depend on them alone. */
static int find_paths(const sc_scenario *s, double target, int threads, int quiet,
                      uint64_t *N)
{
    char err[1024];
    uint64_t n = s->paths;
    for (;;) {
        sim_options topt = { .paths = n, .seed = s->seed, .threads = threads };
        sim_result tr;
        if (sim_run(s, &topt, &tr, err, sizeof err) != 0) {
            fprintf(stderr, "runway: %s\n", err);
            return -1;
        }
        double hw = horizon_halfwidth(&tr);
        sim_result_free(&tr);
        if (!quiet)
            fprintf(stderr, "runway: %llu paths: widest half-interval at the horizon %.5f (target %.5f)\n",
                    (unsigned long long)n, hw, target);
        if (hw <= target || g_interrupted) {
            *N = n;
            return g_interrupted ? -1 : 0;
        }
        /* The half-width falls as 1/sqrt(N): aim 10% past the target,
         * at least doubling, in whole blocks. */
        double f = (hw / target) * (hw / target) * 1.1;
        uint64_t next = (uint64_t)((double)n * (f > 2.0 ? f : 2.0));
        next = (next + SIM_BLOCK - 1) / SIM_BLOCK * SIM_BLOCK;
        if (next > ((uint64_t)1 << 40)) {
            fprintf(stderr, "runway: --target-halfwidth %g would need more than 2^40 paths\n", target);
            return -1;
        }
        n = next;
    }
}

/* ---- shards, merge, checkpoints ---- */

#define EXIT_CHECKPOINT 75 /* EX_TEMPFAIL: stopped by a signal, resumable */

static volatile sig_atomic_t g_stop = 0;

static void on_stop_signal(int sig)
{
    g_stop = sig;
}

/* What a run writes, whatever its kind (whole, shard, resumed, merged). */
typedef struct {
    const sc_scenario *s;
    const char *out;
    const char *cmdline;
    int threads, processes, per_path;
    size_t K;
    uint64_t rows, first_path;   /* the file's path rows */
    int shard;                   /* 1: a shard file */
    uint64_t shard_index, shard_count;
    const ob_set *cond;          /* a conditioned run's observations, or NULL */
} file_plan;

static ho_file *open_output(const file_plan *fp, char *err, size_t errlen)
{
    const sc_scenario *s = fp->s;
    char created[32], title[512];
    time_t now = time(NULL);
    struct tm tmv;
    gmtime_r(&now, &tmv);
    strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", &tmv);
    snprintf(title, sizeof title, "runway survival simulation: %s%s", s->name,
             fp->shard ? " (one shard)" : "");
    const char **labn = calloc(s->nlabs, sizeof *labn);
    const char **inn = calloc(s->ninputs ? s->ninputs : 1, sizeof *inn);
    uint64_t *kept = calloc(fp->K ? fp->K : 1, sizeof *kept);
    ho_file *h5 = NULL;
    if (!labn || !inn || !kept) {
        snprintf(err, errlen, "out of memory");
    } else {
        for (size_t l = 0; l < s->nlabs; l++)
            labn[l] = s->labs[l].name;
        for (size_t i = 0; i < s->ninputs; i++)
            inn[i] = s->inputs[i].name;
        for (size_t k = 0; k < fp->K; k++)
            kept[k] = k;
        ho_meta meta = {
            .title = title, .scenario_name = s->name, .scenario_yaml = s->yaml_text,
            .version = RUNWAY_VERSION, .created = created, .command_line = fp->cmdline,
            .seed = s->seed, .paths = fp->rows, .horizon = s->horizon,
            .base_year = s->base_year, .threads = fp->threads, .processes = fp->processes,
            .nlabs = s->nlabs, .lab_names = labn, .ninputs = s->ninputs,
            .input_names = inn, .nkept = fp->K, .kept_paths = kept, .per_path = fp->per_path,
            .first_path = fp->first_path, .weighted = fp->cond != NULL,
        };
        h5 = ho_create(fp->out, &meta, err, errlen);
        if (h5 && fp->cond
            && (ho_put_attr_str(h5, "observations_yaml", fp->cond->yaml_text, err, errlen)
                || ho_put_attr_str(h5, "observations_file", fp->cond->file, err, errlen)
                || ho_put_attr_u64(h5, "conditioned", 1, err, errlen))) {
            ho_discard(h5);
            h5 = NULL;
        }
        if (h5 && (ho_put_attr_u64(h5, "run_paths", s->paths, err, errlen)
                   || (fp->shard && (ho_put_attr_u64(h5, "shard_index", fp->shard_index, err, errlen)
                                     || ho_put_attr_u64(h5, "shard_count", fp->shard_count, err, errlen))))) {
            ho_discard(h5);
            h5 = NULL;
        }
    }
    free(labn);
    free(inn);
    free(kept);
    return h5;
}

/* A backtest's observations, their probes and the paths' values. */
typedef struct {
    ob_set *obs;
    sim_probe *probes;
    double *x;       /* [N][obs->n] */
    ev_scores sc;
    int scored;
} backtest;

static void backtest_free(backtest *b)
{
    ob_free(b->obs);
    free(b->probes);
    free(b->x);
    if (b->scored)
        ev_scores_free(&b->sc);
    memset(b, 0, sizeof *b);
}

/* Reads the observations against s and makes room for every path's
 * value of each. Returns 0, or 1 after printing why. */
static int backtest_open(backtest *b, const char *path, const sc_scenario *s)
{
    char err[1024];
    memset(b, 0, sizeof *b);
    if (ob_load(&b->obs, path, s, err, sizeof err) != 0) {
        fprintf(stderr, "runway: %s\n", err);
        return 1;
    }
    size_t n = b->obs->n;
    b->probes = calloc(n, sizeof *b->probes);
    /* every path's value of every observation: PIT is counted exactly */
    b->x = s->paths <= SIZE_MAX / sizeof(double) / n ? malloc((size_t)s->paths * n * sizeof(double)) : NULL;
    if (!b->probes || !b->x) {
        fprintf(stderr, "runway: out of memory for the backtest: %llu paths x %zu observations "
                        "need %.3g GB; run fewer paths (-n)\n",
                (unsigned long long)s->paths, n, (double)s->paths * (double)n * 8e-9);
        backtest_free(b);
        return 1;
    }
    ev_probes(b->obs, b->probes);
    return 0;
}

/* What a conditioned run learnt: its effective sample size and evidence,
 * and a warning when the scenario can hardly produce the observations
 * (naming the observation it finds least likely). */
static void report_conditioning(const ob_set *obs, const sim_result *r, int quiet)
{
    if (!quiet)
        printf("conditioned on %zu observations (%s): effective sample size %.0f of %llu paths, "
               "evidence (mean weight) %.3g\n", obs->n, obs->file, r->n_eff,
               (unsigned long long)r->N, r->evidence);
    if (r->n_eff < 100.0) {
        size_t worst = 0;
        for (size_t k = 1; k < r->nobs; k++)
            if (r->obs_evidence[k] < r->obs_evidence[worst])
                worst = k;
        fprintf(stderr, "runway: warning: effective sample size %.1f < 100: the scenario can hardly "
                        "produce what was observed; least likely: %s (%s:%d, mean likelihood %.3g)\n",
                r->n_eff, obs->obs[worst].label, obs->file, obs->obs[worst].line,
                r->obs_evidence[worst]);
    }
}

/* Summaries, trajectories and commit: the end of every complete file.
 * bt (may be NULL): a backtest, scored and written before the commit. */
static int finish_output(ho_file *h5, const sim_state *st, const sc_scenario *s, int threads,
                         sim_result *res, backtest *bt, char *err, size_t errlen)
{
    if (sim_finalize(st, s, threads, res, err, errlen) != 0) {
        ho_discard(h5);
        return -1;
    }
    ho_summary sum;
    ho_traj tr;
    sim_summary_view(res, &sum);
    sim_traj_view(res, &tr);
    /* A value beyond the sketches' range (|x| >= 2^40: a path whose
     * numbers blew up) is clamped there; the file says how many were. */
    if (ho_write_summary(h5, &sum, err, errlen) != 0 || ho_write_traj(h5, &tr, err, errlen) != 0
        || ho_put_attr_u64(h5, "values_clamped", res->overflow, err, errlen) != 0) {
        ho_discard(h5);
        return -1;
    }
    if (res->weighted && (ho_put_attr_f64(h5, "n_eff", res->n_eff, err, errlen)
                          || ho_put_attr_f64(h5, "evidence", res->evidence, err, errlen))) {
        ho_discard(h5);
        return -1;
    }
    if (bt) {
        if (ev_score(bt->obs, bt->x, s->paths, &bt->sc, err, errlen) != 0) {
            ho_discard(h5);
            return -1;
        }
        bt->scored = 1;
        if (he_write_backtest(h5, s, bt->obs, &bt->sc, err, errlen) != 0) {
            ho_discard(h5);
            return -1;
        }
    }
    if (res->overflow)
        fprintf(stderr, "runway: warning: %llu values beyond +-2^40 were clamped in the quantiles "
                        "(attribute values_clamped); the scenario lets numbers explode\n",
                (unsigned long long)res->overflow);
    return ho_commit(h5, err, errlen);
}

/* A checkpoint: the state and the rows so far, complete = 0, at the
 * output path. */
static int write_checkpoint(ho_file *h5, const sim_state *st, const char *out)
{
    char err[1024];
    uint64_t done = sim_state_paths_done(st);
    if (sim_state_save(st, h5, err, sizeof err) != 0 || ho_commit_partial(h5, done, err, sizeof err) != 0) {
        fprintf(stderr, "runway: cannot write the checkpoint: %s\n", err);
        return 1;
    }
    fprintf(stderr, "runway: stopped by signal %d after %llu paths; checkpoint %s "
                    "(resume with: runway run --resume %s)\n", (int)g_stop,
            (unsigned long long)done, out, out);
    return EXIT_CHECKPOINT;
}

/* Simulates blocks [blo, bhi) not yet done into h5 and ends the file:
 * a checkpoint if a signal stopped the run, a shard's state if fp is a
 * shard, else the summaries. Owns h5 from here on. Returns an exit status. */
static int drive(const sc_scenario *s, sim_state *st, ho_file *h5, const file_plan *fp,
                 uint64_t blo, uint64_t bhi, const run_opts *ro, double t0, headline *hl,
                 backtest *bt)
{
    char err[1024];
    sink_ctx ctx = { h5, fp->first_path };
    sim_options opt = {
        .paths = s->paths, .seed = s->seed, .threads = fp->threads, .keep = st->K,
        .progress = !ro->quiet && isatty(2), .stop = &g_stop,
        .on_paths = fp->per_path != HO_PER_PATH_NONE ? sink_paths : NULL, .ctx = &ctx,
        .probes = bt ? bt->probes : NULL, .nprobes = bt ? bt->obs->n : 0,
        .probe_x = bt ? bt->x : NULL, .cond = fp->cond,
    };
    if (sim_accumulate(st, s, &opt, blo, bhi, err, sizeof err) != 0 || g_interrupted) {
        fprintf(stderr, "runway: %s\n", g_interrupted ? "interrupted; no result written" : err);
        ho_discard(h5);
        return 1;
    }
    int all = 1;
    for (uint64_t b = blo; b < bhi; b++)
        all &= st->done[b];
    if (!all)
        return write_checkpoint(h5, st, fp->out);
    if (fp->shard) {
        /* A shard holds its rows and its exact state; complete stays 0
         * until `runway merge` joins every shard. */
        if (sim_state_save(st, h5, err, sizeof err) != 0
            || ho_commit_partial(h5, fp->rows, err, sizeof err) != 0) {
            fprintf(stderr, "runway: %s\n", err);
            return 1;
        }
        if (!ro->quiet)
            printf("%s: shard %llu/%llu, paths %llu..%llu -> %s\n", s->name,
                   (unsigned long long)fp->shard_index, (unsigned long long)fp->shard_count,
                   (unsigned long long)fp->first_path,
                   (unsigned long long)(fp->first_path + fp->rows - 1), fp->out);
        return 0;
    }
    sim_result res;
    if (finish_output(h5, st, s, fp->threads, &res, bt, err, sizeof err) != 0) {
        fprintf(stderr, "runway: %s\n", err);
        return 1;
    }
    int rc = 0;
    if (!ro->quiet)
        print_table(s, &res, omp_get_wtime() - t0, fp->out);
    if (res.weighted)
        report_conditioning(fp->cond, &res, ro->quiet);
    if (bt) { /* the backtest's table, even with -q: it is what was asked */
        printf("\nbacktest of %s on %s (%llu paths)\n", s->name, bt->obs->file,
               (unsigned long long)s->paths);
        ev_print(stdout, bt->obs, &bt->sc);
    }
    if (hl && headline_take(hl, s, &res) != 0) {
        fprintf(stderr, "runway: out of memory\n");
        rc = 1;
    }
    sim_result_free(&res);
    return rc;
}

/* Runs one scenario to one file; extra: further overrides (a sweep's).
 * hl (may be NULL) receives the headline. Returns an exit status. */
static int run_one(const char *path, const run_opts *ro, const char *out,
                   const sc_override *extra, size_t nextra, headline *hl)
{
    char err[1024];
    sc_scenario *s = NULL;
    if (load(&s, path, &ro->so, extra, nextra) != 0)
        return 1;
    int nthreads = ro->threads ? (int)ro->threads : omp_get_max_threads();
    double t0 = omp_get_wtime();
    if (ro->target_hw > 0.0) {
        uint64_t N;
        if (find_paths(s, ro->target_hw, nthreads, ro->quiet, &N) != 0) {
            sc_free(s);
            return 1;
        }
        /* Reload with the count found, so scenario_yaml records it. */
        run_opts r2 = *ro;
        r2.so.has_paths = 1;
        r2.so.paths = N;
        sc_free(s);
        s = NULL;
        if (load(&s, path, &r2.so, extra, nextra) != 0)
            return 1;
    }
    sim_state st;
    if (sim_state_init(&st, s, s->paths, (size_t)ro->keep) != 0) {
        fprintf(stderr, "runway: out of memory\n");
        sc_free(s);
        return 1;
    }
    uint64_t blo = 0, bhi = st.nblocks;
    if (ro->shard_n)
        pt_shard_blocks(st.nblocks, ro->shard_i, ro->shard_n, &blo, &bhi);
    uint64_t first_path = blo * SIM_BLOCK;
    uint64_t end_path = bhi * SIM_BLOCK < s->paths ? bhi * SIM_BLOCK : s->paths;
    file_plan fp = { .s = s, .out = out, .cmdline = ro->cmdline, .threads = nthreads,
                     .processes = 1, .per_path = ro->per_path, .K = st.K,
                     .rows = end_path - first_path, .first_path = first_path,
                     .shard = ro->shard_n > 0, .shard_index = ro->shard_i,
                     .shard_count = ro->shard_n };
    int rc = 1;
    backtest bt = { 0 };
    if (ro->observations && backtest_open(&bt, ro->observations, s) != 0) {
        sim_state_free(&st);
        sc_free(s);
        return 1;
    }
    ob_set *cond = NULL;
    if (ro->condition) {
        if (ob_load(&cond, ro->condition, s, err, sizeof err) != 0
            || sim_state_weigh(&st, cond->n) != 0) {
            fprintf(stderr, "runway: %s\n", cond ? "out of memory" : err);
            ob_free(cond);
            backtest_free(&bt);
            sim_state_free(&st);
            sc_free(s);
            return 1;
        }
        if (s->paths > SIM_WMAX_PATHS) {
            fprintf(stderr, "runway: --condition: a conditioned run takes at most 2^31 paths "
                            "(its weights are summed exactly in 64 bits); got %llu\n",
                    (unsigned long long)s->paths);
            ob_free(cond);
            backtest_free(&bt);
            sim_state_free(&st);
            sc_free(s);
            return 1;
        }
        fp.cond = cond;
    }
    /* The file is created before any path runs, so an unwritable output
     * fails in a second, not after an hour. */
    ho_file *h5 = open_output(&fp, err, sizeof err);
    if (!h5)
        fprintf(stderr, "runway: %s\n", err);
    else
        rc = drive(s, &st, h5, &fp, blo, bhi, ro, t0, hl, ro->observations ? &bt : NULL);
    backtest_free(&bt);
    ob_free(cond);
    sim_state_free(&st);
    sc_free(s);
    return rc;
}

/* runway run --resume FILE: continue a checkpoint (of a whole run or of
 * a shard) into the same path. */
static int run_resume(const char *path, const run_opts *ro)
{
    char err[1024];
    pt_part p;
    int rc = 1;
    ho_file *h5 = NULL;
    if (pt_open(&p, path, err, sizeof err) != 0 || pt_check_resume(&p, err, sizeof err) != 0) {
        fprintf(stderr, "runway: %s\n", err);
        goto done;
    }
    int nthreads = ro->threads ? (int)ro->threads : omp_get_max_threads();
    file_plan fp = { .s = p.s, .out = path, .cmdline = ro->cmdline, .threads = nthreads,
                     .processes = 1, .per_path = p.per_path, .K = p.st.K,
                     .rows = p.rows, .first_path = p.first_path, .shard = p.is_shard,
                     .shard_index = p.shard_index, .shard_count = p.shard_count,
                     .cond = p.cond };
    h5 = open_output(&fp, err, sizeof err);
    if (!h5) {
        fprintf(stderr, "runway: %s\n", err);
        goto done;
    }
    /* The rows the checkpoint has, then the rest of the run. */
    sink_ctx ctx = { h5, p.first_path };
    if (fp.per_path != HO_PER_PATH_NONE
        && pt_copy_paths(&p, fp.per_path == HO_PER_PATH_ALL, sink_paths, &ctx, err,
                         sizeof err) != 0) {
        fprintf(stderr, "runway: %s\n", err);
        goto done;
    }
    pt_close_file(&p);
    if (!ro->quiet)
        fprintf(stderr, "runway: resuming %s: %llu of %llu paths done\n", path,
                (unsigned long long)sim_state_paths_done(&p.st), (unsigned long long)p.rows);
    ho_file *f = h5;
    h5 = NULL;
    rc = drive(p.s, &p.st, f, &fp, p.blo, p.bhi, ro, omp_get_wtime(), NULL, NULL);
done:
    ho_discard(h5);
    pt_close(&p);
    return rc;
}

/* runway merge SHARD... -o OUT.h5 */
static int cmd_merge(int argc, char **argv)
{
    run_opts ro;
    int first, rc = parse_run_opts(argc, argv, &ro, &first, NULL, NULL);
    if (rc != 0) {
        run_opts_free(&ro);
        return rc < 0 ? 0 : rc;
    }
    int n = argc - first;
    if (n < 1 || !ro.out) {
        fprintf(stderr, "runway: merge needs the shard files and -o OUT.h5\n");
        run_opts_free(&ro);
        return EXIT_USAGE;
    }
    char err[1024];
    pt_part *parts = calloc((size_t)n, sizeof *parts);
    pt_merge m = { 0 };
    sim_result res = { 0 };
    ho_file *h5 = NULL;
    rc = parts ? 0 : 1;
    if (!parts)
        fprintf(stderr, "runway: out of memory\n");
    for (int i = 0; i < n && rc == 0; i++)
        if (pt_open(&parts[i], argv[first + i], err, sizeof err) != 0
            || pt_merge_add(&m, &parts[i], err, sizeof err) != 0) {
            fprintf(stderr, "runway: %s\n", err);
            rc = 1;
        }
    if (rc == 0 && pt_merge_finish(&m, err, sizeof err) != 0) {
        fprintf(stderr, "runway: %s\n", err);
        rc = 1;
    }
    /* the shards of a conditioned run were conditioned on the same facts */
    for (int i = 1; i < n && rc == 0; i++)
        if ((parts[i].cond == NULL) != (parts[0].cond == NULL)
            || (parts[0].cond && strcmp(parts[i].cond->yaml_text, parts[0].cond->yaml_text))) {
            fprintf(stderr, "runway: %s and %s were conditioned on different observations\n",
                    argv[first], argv[first + i]);
            rc = 1;
        }
    int nthreads = ro.threads ? (int)ro.threads : omp_get_max_threads();
    if (rc == 0) {
        const sc_scenario *s = parts[0].s;
        file_plan fp = { .s = s, .out = ro.out, .cmdline = ro.cmdline, .threads = nthreads,
                         .processes = (int)m.count, .per_path = parts[0].per_path,
                         .K = parts[0].st.K, .rows = s->paths, .cond = parts[0].cond };
        h5 = open_output(&fp, err, sizeof err);
        rc = h5 ? 0 : 1;
        if (!h5)
            fprintf(stderr, "runway: %s\n", err);
        sink_ctx ctx = { h5, 0 };
        for (int i = 0; i < n && rc == 0 && fp.per_path != HO_PER_PATH_NONE; i++)
            if (pt_copy_paths(&parts[i], fp.per_path == HO_PER_PATH_ALL, sink_paths, &ctx, err,
                              sizeof err) != 0) {
                fprintf(stderr, "runway: %s\n", err);
                rc = 1;
            }
        if (rc == 0) {
            ho_file *f = h5;
            h5 = NULL;
            parts[0].st.threads_used = nthreads;
            if (finish_output(f, &parts[0].st, s, nthreads, &res, NULL, err, sizeof err) != 0) {
                fprintf(stderr, "runway: %s\n", err);
                rc = 1;
            } else if (!ro.quiet) {
                printf("merged %llu shards -> %s\n", (unsigned long long)m.count, ro.out);
                print_table(s, &res, 0.0, ro.out);
            }
            if (rc == 0 && res.weighted)
                report_conditioning(parts[0].cond, &res, ro.quiet);
        }
    }
    ho_discard(h5);
    pt_merge_free(&m);
    for (int i = 0; parts && i < n; i++)
        pt_close(&parts[i]);
    sim_result_free(&res);
    free(parts);
    run_opts_free(&ro);
    return rc;
}

/* DIR/STEM[SUFFIX].h5 for a scenario file. */
static char *output_in(const char *dir, const char *scenario, const char *suffix)
{
    char *base = default_output(scenario);
    if (!base)
        return NULL;
    base[strlen(base) - 3] = 0; /* drop .h5 */
    size_t n = strlen(dir) + strlen(base) + (suffix ? strlen(suffix) : 0) + 8;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s%s.h5", dir, base, suffix ? suffix : "");
    free(base);
    return p;
}

static void html_escape(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '&': fputs("&amp;", f); break;
        case '"': fputs("&quot;", f); break;
        default: fputc(*s, f);
        }
    }
}

/* DIR/index.html: every scenario's headline numbers on one page, written
 * under a temporary name and renamed. */
static int write_index(const char *dir, char **files, headline *h, size_t n)
{
    size_t len = strlen(dir) + 64;
    char *path = malloc(len), *tmp = malloc(len);
    if (!path || !tmp) {
        free(path); free(tmp);
        return -1;
    }
    snprintf(path, len, "%s/index.html", dir);
    snprintf(tmp, len, "%s/index.html.tmp-%ld", dir, (long)getpid());
    FILE *f = fopen(tmp, "w");
    if (!f) {
        fprintf(stderr, "runway: %s: cannot write: %s\n", path, strerror(errno));
        free(path); free(tmp);
        return -1;
    }
    fputs("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>runway batch</title>\n"
          "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin-bottom:2em}"
          "td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}"
          "th:first-child,td:first-child{text-align:left}</style></head><body>\n"
          "<h1>runway batch: survival at a glance</h1>\n"
          "<p>P(lab alive at the end of the year) and its 95% Wilson interval. "
          "<code>runway report FILE</code> gives the full report of one file.</p>\n", f);
    for (size_t k = 0; k < n; k++) {
        const headline *x = &h[k];
        int want[4], ny = 0;
        const int cand[3] = { 1, 3, 5 };
        for (int j = 0; j < 3; j++)
            if (cand[j] < x->T)
                want[ny++] = cand[j];
        want[ny++] = x->T;
        fputs("<h2>", f);
        html_escape(f, x->name);
        fputs("</h2>\n<p>file <code>", f);
        html_escape(f, files[k]);
        fprintf(f, "</code>, %llu paths</p>\n<table><tr><th>lab</th>", (unsigned long long)x->paths);
        for (int j = 0; j < ny; j++)
            fprintf(f, "<th>%d</th>", x->base_year + want[j]);
        fputs("</tr>\n", f);
        for (size_t l = 0; l < x->L; l++) {
            fputs("<tr><td>", f);
            html_escape(f, x->labs[l]);
            fputs("</td>", f);
            for (int j = 0; j < ny; j++) {
                size_t i = l * (size_t)x->T + (size_t)(want[j] - 1);
                fprintf(f, "<td>%.3f [%.3f, %.3f]</td>", x->surv[i], x->lo[i], x->hi[i]);
            }
            fputs("</tr>\n", f);
        }
        fputs("</table>\n", f);
    }
    fputs("</body></html>\n", f);
    int bad = ferror(f);
    bad |= fclose(f) != 0;
    if (bad || rename(tmp, path) != 0) {
        fprintf(stderr, "runway: %s: cannot write: %s\n", path, strerror(errno));
        unlink(tmp);
        free(path); free(tmp);
        return -1;
    }
    free(path); free(tmp);
    return 0;
}

#ifdef RUNWAY_MPI
/* mpirun -np N runway-mpi run SCENARIO: rank r runs shard r/N into a
 * temporary shard file beside the output; rank 0 merges them in shard
 * order, exactly as `runway merge` would (integer counts and sketches,
 * rows at their path index), and removes them. The result is the
 * single-process file, bit for bit, for any N. */
static int run_mpi(const char *scen, const run_opts *ro, const char *out)
{
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    /* Part names depend only on the output and the rank count, so that a
     * checkpointed run resumes rank by rank. */
    size_t len = strlen(out) + 64;
    char **parts = calloc((size_t)size, sizeof *parts);
    for (int r = 0; parts && r < size; r++)
        if ((parts[r] = malloc(len)))
            snprintf(parts[r], len, "%s.part%dof%d.h5", out, r, size);
    run_opts mine = *ro;
    mine.shard_i = (uint64_t)rank;
    mine.shard_n = (uint64_t)size;
    mine.quiet = 1;
    int rc = 1;
    if (parts && parts[rank])
        rc = ro->resume ? run_resume(parts[rank], &mine)
                        : run_one(scen, &mine, parts[rank], NULL, 0, NULL);
    int worst = 0, any_stop = 0, stop = rc == EXIT_CHECKPOINT;
    MPI_Allreduce(&rc, &worst, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    MPI_Allreduce(&stop, &any_stop, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
    if (any_stop) {
        /* every rank keeps its part; any failure beats a checkpoint */
        if (rank == 0 && worst == EXIT_CHECKPOINT)
            fprintf(stderr, "runway: checkpoint in %s.part*of%d.h5; resume with: mpirun -np %d "
                            "runway-mpi run --resume %s\n", out, size, size, out);
        worst = worst == EXIT_CHECKPOINT ? EXIT_CHECKPOINT : worst;
    } else if (rank == 0 && worst == 0) {
        /* runway merge PART0 .. PARTn-1 -o OUT; av[0] is the program:
         * parse_run_opts reads argv[-1] */
        char **av0 = calloc((size_t)size + 8, sizeof *av0), **av = av0 ? av0 + 1 : NULL;
        int ac = 0;
        if (av) {
            av0[0] = "runway-mpi";
            av[ac++] = "merge";
            for (int r = 0; r < size; r++)
                av[ac++] = parts[r];
            av[ac++] = "-o";
            av[ac++] = (char *)out;
            if (ro->quiet)
                av[ac++] = "-q";
            av[ac] = NULL;
        }
        worst = av ? cmd_merge(ac, av) : 1;
        free(av0);
    }
    MPI_Bcast(&worst, 1, MPI_INT, 0, MPI_COMM_WORLD);
    if (!any_stop && worst == 0 && parts && parts[rank])
        unlink(parts[rank]);
    for (int r = 0; parts && r < size; r++)
        free(parts[r]);
    free(parts);
    return worst;
}
#endif

static int cmd_run(int argc, char **argv)
{
    run_opts ro;
    int first, rc = parse_run_opts(argc, argv, &ro, &first, NULL, NULL);
    if (rc != 0) {
        run_opts_free(&ro);
        return rc < 0 ? 0 : rc;
    }
    signal(SIGTERM, on_stop_signal);
    signal(SIGUSR1, on_stop_signal);
    signal(SIGINT, on_signal);
#ifdef RUNWAY_MPI
    int nranks = 1;
    MPI_Comm_size(MPI_COMM_WORLD, &nranks);
    if (nranks > 1) {
        int nscen_mpi = argc - first;
        if ((ro.resume ? nscen_mpi != 0 : nscen_mpi != 1) || ro.outdir || ro.shard_n
            || ro.target_hw > 0.0) {
            fprintf(stderr, "runway: under mpirun, run takes one SCENARIO, or --resume OUT.h5 "
                            "(no -O, --shard or --target-halfwidth)\n");
            run_opts_free(&ro);
            return EXIT_USAGE;
        }
        char *dout = ro.out || ro.resume ? NULL : default_output(argv[first]);
        const char *o = ro.resume ? ro.resume : ro.out ? ro.out : dout;
        rc = run_mpi(ro.resume ? NULL : argv[first], &ro, o);
        free(dout);
        run_opts_free(&ro);
        return rc;
    }
#endif
    if (ro.resume) {
        if (argc - first != 0) {
            fprintf(stderr, "runway: --resume FILE takes no SCENARIO: the file holds it\n");
            run_opts_free(&ro);
            return EXIT_USAGE;
        }
        rc = run_resume(ro.resume, &ro);
        run_opts_free(&ro);
        return rc;
    }
    int nscen = argc - first;
    if (ro.shard_n && (nscen != 1 || ro.target_hw > 0.0)) {
        fprintf(stderr, "runway: --shard runs one SCENARIO, without --target-halfwidth\n");
        run_opts_free(&ro);
        return EXIT_USAGE;
    }
    if (nscen < 1 || (nscen > 1 && ro.out)) {
        fprintf(stderr, nscen < 1 ? "runway: run needs a SCENARIO file\n"
                                  : "runway: -o names one file; for several scenarios use -O DIR\n");
        fprintf(stderr, "Try 'runway --help' for more information.\n");
        run_opts_free(&ro);
        return EXIT_USAGE;
    }
    if (nscen == 1 && !ro.outdir) {
        char *out = ro.out ? NULL : default_output(argv[first]);
        rc = run_one(argv[first], &ro, ro.out ? ro.out : out, NULL, 0, NULL);
        free(out);
        run_opts_free(&ro);
        return rc;
    }
    /* A batch: one file each in DIR, then DIR/index.html. Every scenario
     * is checked before any runs, so a typo in the last costs nothing. */
    const char *dir = ro.outdir ? ro.outdir : ".";
    for (int i = first; i < argc; i++) {
        sc_scenario *s = NULL;
        if (load(&s, argv[i], &ro.so, NULL, 0) != 0) {
            run_opts_free(&ro);
            return 1;
        }
        sc_free(s);
    }
    headline *h = calloc((size_t)nscen, sizeof *h);
    char **files = calloc((size_t)nscen, sizeof *files);
    rc = h && files ? 0 : 1;
    for (int i = 0; i < nscen && rc == 0; i++) {
        files[i] = output_in(dir, argv[first + i], NULL);
        rc = files[i] ? run_one(argv[first + i], &ro, files[i], NULL, 0, &h[i]) : 1;
    }
    if (rc == 0)
        rc = write_index(dir, files, h, (size_t)nscen) ? 1 : 0;
    if (rc == 0 && !ro.quiet)
        printf("index of %d scenarios: %s/index.html\n", nscen, dir);
    for (int i = 0; i < nscen && h && files; i++) {
        headline_free(&h[i]);
        free(files[i]);
    }
    free(h);
    free(files);
    run_opts_free(&ro);
    return rc;
}

static int cmd_validate(int argc, char **argv)
{
    run_opts ro;
    int first, rc = parse_run_opts(argc, argv, &ro, &first, NULL, NULL);
    if (rc != 0) {
        run_opts_free(&ro);
        return rc < 0 ? 0 : rc;
    }
    if (argc - first < 1) {
        fprintf(stderr, "runway: validate needs a SCENARIO file\n");
        run_opts_free(&ro);
        return EXIT_USAGE;
    }
    for (int i = first; i < argc; i++) {
        sc_scenario *s = NULL;
        if (load(&s, argv[i], &ro.so, NULL, 0) != 0) {
            rc = 1;
            continue;
        }
        printf("%s: valid: %zu labs, %zu drawn inputs, horizon %d, %llu paths, seed %llu\n",
               argv[i], s->nlabs, s->ninputs, s->horizon, (unsigned long long)s->paths,
               (unsigned long long)s->seed);
        sc_free(s);
    }
    run_opts_free(&ro);
    return rc;
}

/* ---- sweep ---- */

typedef struct {
    char *name;
    char **values;
    size_t nvalues;
} vary;

typedef struct {
    vary *v;
    size_t n;
} vary_set;

/* "NAME=V1,V2,..." split at commas outside {}, [] and quotes, so that a
 * value may be a distribution such as {dist: normal, mean: 1, sd: 0.2}. */
static int add_vary(void *ctx, const char *arg)
{
    vary_set *vs = ctx;
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg || !eq[1]) {
        fprintf(stderr, "runway: --vary %s: expected NAME=V1,V2,..., e.g. OpenAI.cash0=20,40,60\n", arg);
        return -1;
    }
    vary *nv = realloc(vs->v, (vs->n + 1) * sizeof *nv);
    if (!nv)
        return -1;
    vs->v = nv;
    vary *v = &vs->v[vs->n++];
    memset(v, 0, sizeof *v);
    v->name = strndup(arg, (size_t)(eq - arg));
    const char *p = eq + 1, *start = p;
    int depth = 0;
    char quote = 0;
    for (;; p++) {
        if (quote) {
            if (*p == quote)
                quote = 0;
            if (*p)
                continue;
        }
        if (!quote && (*p == '"' || *p == '\''))
            quote = *p;
        else if (*p == '{' || *p == '[')
            depth++;
        else if (*p == '}' || *p == ']')
            depth--;
        if (!*p || (*p == ',' && depth == 0 && !quote)) {
            while (*start == ' ')
                start++;
            size_t len = (size_t)(p - start);
            char **nvals = realloc(v->values, (v->nvalues + 1) * sizeof *nvals);
            if (!nvals)
                return -1;
            v->values = nvals;
            v->values[v->nvalues++] = strndup(start, len);
            if (len == 0 || strpbrk(v->values[v->nvalues - 1], ";=")) {
                fprintf(stderr, "runway: --vary %s: values must be non-empty and contain no ';' or '='\n", arg);
                return -1;
            }
            if (!*p)
                break;
            start = p + 1;
        }
    }
    if (quote || depth != 0) {
        fprintf(stderr, "runway: --vary %s: unbalanced quotes or brackets\n", arg);
        return -1;
    }
    return 0;
}

static void vary_free(vary_set *vs)
{
    for (size_t i = 0; i < vs->n; i++) {
        for (size_t k = 0; k < vs->v[i].nvalues; k++)
            free(vs->v[i].values[k]);
        free(vs->v[i].values);
        free(vs->v[i].name);
    }
    free(vs->v);
}

/* The Python scripts: RUNWAY_SCRIPTS, else the source tree's scripts/;
 * Debian's interpreter unless RUNWAY_PYTHON says otherwise. */
static const char *scripts_dir(void)
{
    const char *d = getenv("RUNWAY_SCRIPTS");
    return d && *d ? d : RUNWAY_SCRIPTS_DIR;
}

static const char *python(void)
{
    const char *p = getenv("RUNWAY_PYTHON");
    return p && *p ? p : "/usr/bin/python3";
}

/* Runs scripts/NAME ARGS... and returns its exit status. */
static int run_script(const char *name, char **args, size_t nargs)
{
    char script[4096];
    snprintf(script, sizeof script, "%s/%s", scripts_dir(), name);
    char **av = calloc(nargs + 3, sizeof *av);
    if (!av)
        return 1;
    av[0] = (char *)python();
    av[1] = script;
    for (size_t i = 0; i < nargs; i++)
        av[i + 2] = args[i];
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        execv(av[0], av);
        fprintf(stderr, "runway: cannot run %s: %s\n", av[0], strerror(errno));
        _exit(127);
    }
    free(av);
    int st = 0;
    if (pid < 0 || waitpid(pid, &st, 0) < 0)
        return 1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}

/* report and compare are Python (matplotlib): hand the process over. */
static int exec_script(const char *name, int argc, char **argv)
{
    char script[4096];
    snprintf(script, sizeof script, "%s/%s", scripts_dir(), name);
    char **av = calloc((size_t)argc + 2, sizeof *av);
    if (!av)
        return 1;
    av[0] = (char *)python();
    av[1] = script;
    for (int i = 1; i < argc; i++)
        av[i + 1] = argv[i];
    fflush(stdout);
    execv(av[0], av);
    fprintf(stderr, "runway: cannot run %s %s: %s\n", av[0], script, strerror(errno));
    free(av);
    return 1;
}

static int cmd_sweep(int argc, char **argv)
{
    vary_set vs = { 0 };
    run_opts ro;
    int first, rc = parse_run_opts(argc, argv, &ro, &first, add_vary, &vs);
    if (rc != 0 || argc - first != 1 || vs.n == 0 || ro.out) {
        if (rc == 0)
            fprintf(stderr, "runway: sweep needs one SCENARIO, at least one --vary NAME=V1,V2,... "
                            "and optionally -O DIR (not -o)\n");
        vary_free(&vs);
        run_opts_free(&ro);
        return rc < 0 ? 0 : rc ? rc : EXIT_USAGE;
    }
    const char *scen = argv[first], *dir = ro.outdir ? ro.outdir : ".";
    size_t ncomb = 1;
    for (size_t i = 0; i < vs.n && ncomb <= 10000; i++)
        ncomb *= vs.v[i].nvalues;
    if (ncomb > 10000) {
        fprintf(stderr, "runway: a sweep of more than 10000 variants is refused\n");
        vary_free(&vs);
        run_opts_free(&ro);
        return EXIT_USAGE;
    }
    sc_override *ov = calloc(vs.n, sizeof *ov);
    char **labels = calloc(ncomb, sizeof *labels), **files = calloc(ncomb, sizeof *files);
    rc = ov && labels && files ? 0 : 1;
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    /* Pass 0 checks every variant; pass 1 runs them, all with the same
     * seed: common random numbers make their differences signal, not noise. */
    for (int pass = 0; pass < 2 && rc == 0; pass++) {
        for (size_t c = 0; c < ncomb && rc == 0; c++) {
            size_t idx = c;
            for (size_t i = vs.n; i-- > 0;) {
                size_t k = idx % vs.v[i].nvalues;
                idx /= vs.v[i].nvalues;
                ov[i].name = vs.v[i].name;
                ov[i].value = vs.v[i].values[k];
            }
            char label[4096] = "";
            for (size_t i = 0; i < vs.n; i++) {
                size_t at = strlen(label);
                snprintf(label + at, sizeof label - at, "%s%s=%s", i ? ";" : "", ov[i].name, ov[i].value);
            }
            if (pass == 0) {
                sc_scenario *s = NULL;
                if (load(&s, scen, &ro.so, ov, vs.n) != 0) {
                    fprintf(stderr, "runway: (in sweep variant %s)\n", label);
                    rc = 1;
                }
                sc_free(s);
                continue;
            }
            char suffix[32];
            snprintf(suffix, sizeof suffix, "_v%03zu", c + 1);
            files[c] = output_in(dir, scen, suffix);
            size_t ll = strlen(label) + (files[c] ? strlen(files[c]) : 0) + 2;
            labels[c] = malloc(ll);
            if (!files[c] || !labels[c]) {
                rc = 1;
                break;
            }
            snprintf(labels[c], ll, "%s=%s", label, files[c]);
            if (!ro.quiet)
                printf("variant %zu/%zu: %s\n", c + 1, ncomb, label);
            rc = run_one(scen, &ro, files[c], ov, vs.n, NULL);
        }
    }
    if (rc == 0) {
        size_t na = ncomb + 2 * vs.n + 2, len = strlen(dir) + 32, k = 0;
        char **args = calloc(na, sizeof *args), *csv = malloc(len), *png = malloc(len);
        rc = args && csv && png ? 0 : 1;
        if (rc == 0) {
            snprintf(csv, len, "%s/sweep_summary.csv", dir);
            snprintf(png, len, "%s/sweep_summary.png", dir);
            for (size_t c = 0; c < ncomb; c++)
                args[k++] = labels[c];
            for (size_t i = 0; i < vs.n; i++) {
                args[k++] = "--var";
                args[k++] = vs.v[i].name;
            }
            args[k++] = "-o";
            args[k++] = csv;
            rc = run_script("sweep_summary.py", args, k);
            char *pa[] = { csv, "-o", png };
            if (rc == 0)
                rc = run_script("sweep_plot.py", pa, 3);
            if (rc == 0 && !ro.quiet)
                printf("sweep: %zu result files in %s, summary %s, plot %s\n", ncomb, dir, csv, png);
        }
        free(args);
        free(csv);
        free(png);
    }
    for (size_t c = 0; c < ncomb && labels && files; c++) {
        free(labels[c]);
        free(files[c]);
    }
    free(labels);
    free(files);
    free(ov);
    vary_free(&vs);
    run_opts_free(&ro);
    return rc;
}

static int dispatch(int argc, char **argv);

static volatile int g_returned = 0;

/* HDF5 calls exit() when some of its own allocations fail, and its exit
 * handler can then crash. This guard is registered after HDF5's, so it
 * runs first: it removes any half-written result, says so in one line,
 * and ends the process before HDF5's handler. */
static void exit_guard(void)
{
    if (g_returned)
        return;
    ho_remove_temporaries();
    fputs("runway: a library ended the process (out of memory inside HDF5?); "
          "no result written\n", stderr);
    fflush(stderr);
    _exit(1);
}

int main(int argc, char **argv)
{
    H5open();
    atexit(exit_guard);
#ifdef RUNWAY_MPI
    int provided;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
#endif
    int rc = dispatch(argc, argv);
    g_returned = 1;
#ifdef RUNWAY_MPI
    MPI_Finalize();
#endif
    if (rc != 0) {
        /* The error is reported and every file cleaned up; after an
         * allocation failure HDF5's own exit handler may crash, so leave
         * without it. */
        fflush(stdout);
        fflush(stderr);
        _exit(rc);
    }
    return 0;
}

/* runway backtest SCENARIO OBSERVATIONS [run options]: a run that also
 * scores the scenario against what was observed (MODEL.md section 8).
 * It measures, it does not judge: exit 0 whatever the scores. */
static int cmd_backtest(int argc, char **argv)
{
    run_opts ro;
    int first, rc = parse_run_opts(argc, argv, &ro, &first, NULL, NULL);
    if (rc != 0) {
        run_opts_free(&ro);
        return rc < 0 ? 0 : rc;
    }
    const char *why = argc - first != 2 ? "backtest needs SCENARIO and OBSERVATIONS.yaml"
                    : ro.outdir ? "backtest writes one file: use -o, not -O"
                    : ro.shard_n || ro.resume ? "backtest runs whole: no --shard or --resume"
                    : ro.target_hw > 0.0 ? "backtest takes the path count as given: no --target-halfwidth"
                    : NULL;
    if (why) {
        fprintf(stderr, "runway: %s\nTry 'runway --help' for more information.\n", why);
        run_opts_free(&ro);
        return EXIT_USAGE;
    }
#ifdef RUNWAY_MPI
    int nranks = 1;
    MPI_Comm_size(MPI_COMM_WORLD, &nranks);
    if (nranks > 1) {
        fprintf(stderr, "runway: backtest runs in one process (use runway, not mpirun)\n");
        run_opts_free(&ro);
        return EXIT_USAGE;
    }
#endif
    signal(SIGTERM, on_stop_signal);
    signal(SIGUSR1, on_stop_signal);
    signal(SIGINT, on_signal);
    ro.observations = argv[first + 1];
    char *out = ro.out ? NULL : default_output(argv[first]);
    rc = run_one(argv[first], &ro, ro.out ? ro.out : out, NULL, 0, NULL);
    free(out);
    run_opts_free(&ro);
    return rc;
}

static int dispatch(int argc, char **argv)
{
    /* GSL's default handler aborts; runway checks codes instead. */
    gsl_set_error_handler_off();
    /* A full disk or a file-size limit must fail a write (EFBIG), not kill
     * the process: the run then ends with a message and no file. */
    signal(SIGXFSZ, SIG_IGN);
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
        return cmd_run(argc - 1, argv + 1);
    if (!strcmp(cmd, "validate"))
        return cmd_validate(argc - 1, argv + 1);
    if (!strcmp(cmd, "sweep"))
        return cmd_sweep(argc - 1, argv + 1);
    if (!strcmp(cmd, "merge"))
        return cmd_merge(argc - 1, argv + 1);
    if (!strcmp(cmd, "backtest"))
        return cmd_backtest(argc - 1, argv + 1);
    if (!strcmp(cmd, "report"))
        return exec_script("report.py", argc - 1, argv + 1);
    if (!strcmp(cmd, "compare"))
        return exec_script("compare.py", argc - 1, argv + 1);
    if (!strcmp(cmd, "explain"))
        return exec_script("explain.py", argc - 1, argv + 1);
    fprintf(stderr, "runway: unknown command '%s'\nTry 'runway --help' for more information.\n", cmd);
    return EXIT_USAGE;
}
