/* runway: the command line (option parsing, usage, dispatch). The only
 * file that prints, handles signals or decides to exit: the runs
 * themselves (run.c, merge.c, batch.c, mpi.c) return statuses and tell
 * what happened through the hooks this file gives them. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gsl/gsl_errno.h>
#include <hdf5.h>
#include <omp.h>

#include "app/batch.h"
#include "app/merge.h"
#include "app/run.h"
#include "output/h5out.h"

#ifdef RUNWAY_MPI
#include <mpi.h>
#include "app/mpi.h"
#endif

#define EXIT_USAGE 2

#ifndef RUNWAY_SCRIPTS_DIR
#define RUNWAY_SCRIPTS_DIR "scripts"
#endif

/* SIGINT (and every signal during a merge, a sweep or a batch): abandon
 * the run, no file. */
static volatile sig_atomic_t g_interrupted = 0;
/* SIGTERM, SIGUSR1, SIGHUP, SIGQUIT during a run: stop between blocks and
 * leave a checkpoint. */
static volatile sig_atomic_t g_stop = 0;

static void on_signal(int sig)
{
    g_interrupted = sig;
}

static void on_stop_signal(int sig)
{
    g_stop = sig;
}

/* The signals a cluster (SIGTERM, SIGUSR1 before a time limit) or a
 * terminal (SIGINT, SIGHUP on hang-up, SIGQUIT) sends. stop handles every
 * one but SIGINT, which intr handles. sigaction without SA_RESETHAND: a
 * second signal must not kill the process half-way through its cleanup
 * (glibc's signal() under strict POSIX resets the handler). */
static void catch_signals(void (*stop)(int), void (*intr)(int))
{
    static const int stops[] = { SIGTERM, SIGUSR1, SIGHUP, SIGQUIT };
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = stop;
    for (size_t i = 0; i < sizeof stops / sizeof stops[0]; i++)
        sigaction(stops[i], &sa, NULL);
    sa.sa_handler = intr;
    sigaction(SIGINT, &sa, NULL);
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
          "       runway rerun RESULT.h5 [-o OUT.h5]            the stored run again, from the\n"
          "                         file alone (its scenario as written and its overrides)\n"
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
          "      --target-halfwidth H  run the fewest paths at which every lab's 95%\n"
          "                         survival interval is at most H on each side, in\n"
          "                         every year (or those of --years); prints the count\n"
          "      --max-paths N      --target-halfwidth's cap (default 4194304 = 2^22,\n"
          "                         enough for H = 0.0005 at any probability)\n"
          "      --years Y1,Y2,...  the years --target-halfwidth judges (default: all)\n"
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

/* ---- what the runs tell: printed here ---- */

/* The hooks' context: when progress was last shown. */
typedef struct {
    double last;
} cli_ctx;

/* Writes s to f with every control character (C0, DEL, and C1, which is
 * two bytes in UTF-8) shown as \xNN: names and messages may come from a
 * result, a checkpoint or a shard made elsewhere, and an escape sequence
 * in them must not reach the terminal, nor a newline break a table.
 * width > 0: padded or cut to that many bytes (a table's column). */
static void put_clean(FILE *f, const char *s, int width)
{
    int n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p && (width <= 0 || n < width); p++) {
        if (*p < 0x20 || *p == 0x7f) {
            n += fprintf(f, "\\x%02x", *p);
        } else if (*p == 0xc2 && p[1] >= 0x80 && p[1] < 0xa0) {
            n += fprintf(f, "\\u%04x", p[1]);
            p++;
        } else {
            fputc(*p, f);
            n++;
        }
    }
    for (; n < width; n++)
        fputc(' ', f);
}

/* s as put_clean writes it, in buf (cut to fit). */
static const char *cln(const char *s, char *buf, size_t n)
{
    FILE *f = fmemopen(buf, n, "w");
    if (!f)
        return "?";
    setbuf(f, NULL);
    put_clean(f, s ? s : "", 0);
    fclose(f);
    buf[n - 1] = 0;
    return buf;
}

/* A message on stderr, each of its lines (a scenario's load reports
 * every error, one per line) prefixed "runway: ", cleaned (put_clean). */
static void print_error(const char *msg)
{
    for (;;) {
        const char *nl = strchr(msg, '\n');
        size_t len = nl ? (size_t)(nl - msg) : strlen(msg);
        char *line = strndup(msg, len);
        fputs("runway: ", stderr);
        put_clean(stderr, line ? line : "(out of memory)", 0);
        fputc('\n', stderr);
        free(line);
        if (!nl)
            break;
        msg = nl + 1;
    }
}

static void note(void *ctx, const char *line)
{
    (void)ctx;
    print_error(line);
}

static void say(void *ctx, const char *line)
{
    (void)ctx;
    put_clean(stdout, line, 0);
    fputc('\n', stdout);
}

/* Progress on stderr (a terminal only: the hook is set only then), at
 * most every half second, and the line cleared at the end. */
static void show_progress(void *ctx, sim_progress_event ev, uint64_t done, uint64_t N)
{
    cli_ctx *c = ctx;
    double tn = omp_get_wtime();
    if (ev == SIM_PROGRESS_START) {
        c->last = tn;
    } else if (ev == SIM_PROGRESS_END) {
        fprintf(stderr, "\r%60s\r", "");
    } else if (tn - c->last > 0.5) {
        c->last = tn;
        fprintf(stderr, "\r  %llu / %llu paths (%.0f%%)", (unsigned long long)done,
                (unsigned long long)N, 100.0 * (double)done / (double)N);
    }
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
    char nb[1024];
    printf("%s: %llu paths, seed %llu, %d thread%s, %.2f s -> %s\n", cln(s->name, nb, sizeof nb),
           (unsigned long long)r->N, (unsigned long long)s->seed, r->threads_used,
           r->threads_used == 1 ? "" : "s", secs, out);
    /* the lab column as wide as the longest name: never cut */
    int w = 18;
    for (size_t l = 0; l < r->L; l++)
        if (strlen(s->labs[l].name) > (size_t)w)
            w = (int)strlen(s->labs[l].name);
    printf("P(alive at end of year) [95%% Wilson interval]\n%-*s", w, "lab");
    for (int j = 0; j < ny; j++)
        printf("  %-21d", s->base_year + years[j]);
    printf("\n");
    for (size_t l = 0; l < r->L; l++) {
        put_clean(stdout, s->labs[l].name, w);
        for (int j = 0; j < ny; j++) {
            size_t i = l * r->T + (size_t)(years[j] - 1);
            printf("  %5.3f [%5.3f,%5.3f]  ", r->survival[i], r->survival_lo[i], r->survival_hi[i]);
        }
        printf("%s\n", s->labs[l].backstop == SC_BACKSTOP_PARENT ? " (parent backstop)" : "");
    }
}

/* What a conditioned run learnt: its effective sample size and evidence,
 * and a warning when the scenario can hardly produce the observations
 * (naming the observation it finds least likely). */
static void report_conditioning(const ob_set *obs, const sim_result *r, int quiet)
{
    char fb[1024], lb[512];
    if (!quiet)
        printf("conditioned on %zu observations (%s): effective sample size %.0f of %llu paths, "
               "evidence (mean weight) %.3g\n", obs->n, cln(obs->file, fb, sizeof fb), r->n_eff,
               (unsigned long long)r->N, r->evidence);
    if (r->n_eff < 100.0) {
        size_t worst = 0;
        for (size_t k = 1; k < r->nobs; k++)
            if (r->obs_evidence[k] < r->obs_evidence[worst])
                worst = k;
        fprintf(stderr, "runway: warning: effective sample size %.1f < 100: the scenario can hardly "
                        "produce what was observed; least likely: %s (%s:%d, mean likelihood %.3g)\n",
                r->n_eff, cln(obs->obs[worst].label, lb, sizeof lb), cln(obs->file, fb, sizeof fb),
                obs->obs[worst].line,
                r->obs_evidence[worst]);
    }
}

/* What `runway run` prints after a run, whatever its end. */
static void print_result(const run_result *r)
{
    char nb[1024], fb[1024];
    switch (r->end) {
    case RUN_FAILED:
        if (r->err[0])
            print_error(r->err);
        break;
    case RUN_CHECKPOINT:
        fprintf(stderr, "runway: stopped by signal %d after %llu paths; checkpoint %s "
                        "(resume with: runway run --resume %s)\n", r->signal,
                (unsigned long long)r->paths_done, r->out, r->out);
        break;
    case RUN_SHARD:
        if (!r->quiet)
            printf("%s: shard %llu/%llu, paths %llu..%llu -> %s\n", cln(r->s->name, nb, sizeof nb),
                   (unsigned long long)r->shard_index, (unsigned long long)r->shard_count,
                   (unsigned long long)r->first_path,
                   (unsigned long long)(r->first_path + r->rows - 1), r->out);
        break;
    case RUN_COMPLETE:
        if (!r->quiet) {
            if (r->merged)
                printf("merged %llu shards -> %s\n", (unsigned long long)r->merged, r->out);
            print_table(r->s, &r->res, r->secs, r->out);
        }
        /* what --target-halfwidth found, even with -q: it is what was asked */
        if (r->target_paths)
            printf("%s: target half-width met with %llu paths (the widest: %s %d, %.5f)\n",
                   r->s->name, (unsigned long long)r->target_paths,
                   r->s->labs[r->target_lab].name, r->target_year, r->target_widest);
        if (r->res.weighted)
            report_conditioning(r->cond, &r->res, r->quiet);
        if (r->obs) { /* the backtest's table, even with -q: it is what was asked */
            printf("\nbacktest of %s on %s (%llu paths)\n", cln(r->s->name, nb, sizeof nb),
                   cln(r->obs->file, fb, sizeof fb),
                   (unsigned long long)r->s->paths);
            ev_print(stdout, r->obs, &r->sc);
        }
        break;
    }
}

static void finished(void *ctx, const run_result *r)
{
    (void)ctx;
    print_result(r);
}

/* ---- options ---- */

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

/* The command line as a shell would read it back (command_line). */
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

/* Options shared by run, validate, sweep, merge and backtest. */
typedef struct {
    run_spec spec;        /* what the runs take */
    cli_ctx ctx;          /* the hooks' */
    const char *out;      /* -o */
    const char *outdir;   /* -O */
    sc_override *sets;    /* owned copies */
    char **owned;         /* strings owned by sets */
    size_t nowned;
    const char *resume;   /* --resume FILE */
    int *years;           /* --years (owned) */
    char others[200];     /* the options given besides -t, -q and --resume */
} run_opts;

static void run_opts_free(run_opts *o)
{
    free(o->years);
    for (size_t i = 0; i < o->nowned; i++)
        free(o->owned[i]);
    free(o->owned);
    free(o->sets);
}

/* Adds --set NAME=VALUE, copied: argv stays intact for command_line. */
static int add_set(run_opts *o, const char *arg)
{
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg) {
        fprintf(stderr, "runway: --set %s: expected NAME=VALUE, e.g. OpenAI.cash0=60\n", arg);
        return -1;
    }
    sc_options *so = &o->spec.so;
    char *name = strndup(arg, (size_t)(eq - arg)), *value = strdup(eq + 1);
    sc_override *ns = realloc(o->sets, (so->nset + 1) * sizeof *ns);
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
    o->sets[so->nset].name = name;
    o->sets[so->nset].value = value;
    so->nset++;
    so->set = o->sets;
    return 0;
}

/* getopt_long's complaint, made ours: an unknown option gets the
 * nearest known one (the edit distance that suggests scenario keys,
 * sc_suggest), a missing or unwanted value says so. c is what
 * getopt_long returned ('?' or ':'); arg is the offending word. */
static void bad_option(const struct option *lo, int c, const char *arg)
{
    const char *names[64];
    size_t n = 0;
    for (; lo[n].name && n < 64; n++)
        names[n] = lo[n].name;
    if (arg && !strncmp(arg, "--", 2)) {
        size_t len = strcspn(arg + 2, "=");
        char word[128];
        snprintf(word, sizeof word, "%.*s", (int)(len < 127 ? len : 127), arg + 2);
        if (c == ':')
            fprintf(stderr, "runway: option --%s needs a value\n", word);
        else if (optopt)
            fprintf(stderr, "runway: option --%s takes no value (got '%s')\n", word, arg);
        else {
            const char *best = sc_suggest(word, names, n);
            fprintf(stderr, "runway: unrecognized option '--%s'%s%s%s\n", word,
                    best ? "; did you mean --" : "", best ? best : "", best ? "?" : "");
        }
    } else if (c == ':') {
        fprintf(stderr, "runway: option -%c needs a value\n", optopt);
    } else {
        fprintf(stderr, "runway: unrecognized option '-%c'\n", optopt ? optopt : '?');
    }
    fprintf(stderr, "Try 'runway --help' for more information.\n");
}

/* Is name one of the comma-separated items of list? */
static int listed(const char *list, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = list; (p = strstr(p, name)) != NULL; p += n)
        if ((p == list || p[-1] == ' ') && (p[n] == ',' || p[n] == 0))
            return 1;
    return 0;
}

typedef int (*extra_opt_fn)(void *ctx, const char *arg);
enum { OPT_SET = 256, OPT_PER_PATH, OPT_TARGET, OPT_VARY, OPT_SHARD, OPT_RESUME, OPT_CONDITION,
       OPT_MAX_PATHS, OPT_YEARS };

/* --years Y1,Y2,...: calendar years, each 1000..9999 (checked against the
 * scenario's when the run starts). 0, or -1. */
static int parse_years(run_opts *o, const char *arg)
{
    size_t n = 1;
    for (const char *p = arg; *p; p++)
        n += *p == ',';
    int *y = realloc(o->years, n * sizeof *y);
    if (!y)
        return -1;
    o->years = y;
    const char *p = arg;
    for (size_t i = 0; i < n; i++) {
        char *end;
        errno = 0;
        long v = strtol(p, &end, 10);
        if (errno || end == p || (*end && *end != ',') || v < 1000 || v > 9999)
            return -1;
        y[i] = (int)v;
        p = end + 1;
    }
    o->spec.target_years = y;
    o->spec.ntarget_years = n;
    return 0;
}

/* Parses a subcommand's options (argv[0] is the subcommand); positional
 * arguments are argv[*first ..]. cmdline: the whole command line, for
 * the file. Returns 0, -1 after --help, or an exit status. vary: sweep's
 * --vary handler. */
static int parse_run_opts(int argc, char **argv, const char *cmdline, run_opts *o, int *first,
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
        { "max-paths", required_argument, 0, OPT_MAX_PATHS },
        { "years", required_argument, 0, OPT_YEARS },
        { "quiet", no_argument, 0, 'q' },
        { "help", no_argument, 0, 'h' },
        { 0, 0, 0, 0 },
    };
    memset(o, 0, sizeof *o);
    run_spec *sp = &o->spec;
    uint64_t threads = 0, keep = 100;
    sp->per_path = HO_PER_PATH_ALL;
    sp->cmdline = cmdline;
    sp->stop = &g_stop;
    sp->interrupt = &g_interrupted;
    sp->hooks = (run_hooks){ .ctx = &o->ctx, .note = note, .say = say, .finished = finished,
                             .progress = isatty(2) ? show_progress : NULL };
    int c;
    optind = 1;
    opterr = 0; /* bad_option says it, with a suggestion */
    while ((c = getopt_long(argc, argv, ":o:O:n:s:t:k:qh", longopts, NULL)) != -1) {
        const char *what = NULL;
        switch (c) {
        case 'o': o->out = optarg; break;
        case 'O': o->outdir = optarg; break;
        case 'n':
            if (parse_u64(optarg, &sp->so.paths) || sp->so.paths == 0
                || sp->so.paths > ((uint64_t)1 << 40))
                what = "--paths: must be an integer from 1 to 2^40 (1099511627776)";
            sp->so.has_paths = 1;
            break;
        case 's':
            if (parse_u64(optarg, &sp->so.seed))
                what = "--seed: must be an integer in 0..18446744073709551615";
            sp->so.has_seed = 1;
            break;
        case 't':
            if (parse_u64(optarg, &threads) || threads == 0 || threads > 4096)
                what = "--threads: must be an integer in 1..4096";
            sp->threads = (int)(threads <= 4096 ? threads : 0);
            break;
        case 'k':
            if (parse_u64(optarg, &keep) || keep > SIM_MAX_KEEP)
                what = "--keep-paths: must be an integer in 0..1000000";
            break;
        case OPT_SET:
            if (add_set(o, optarg) != 0)
                return EXIT_USAGE;
            break;
        case OPT_PER_PATH:
            if (!strcmp(optarg, "all"))
                sp->per_path = HO_PER_PATH_ALL;
            else if (!strcmp(optarg, "outcomes"))
                sp->per_path = HO_PER_PATH_OUTCOMES;
            else if (!strcmp(optarg, "none"))
                sp->per_path = HO_PER_PATH_NONE;
            else
                what = "--per-path: must be all, outcomes or none";
            break;
        case OPT_TARGET: {
            char *end;
            errno = 0;
            sp->target_hw = strtod(optarg, &end);
            if (errno || *end || !(sp->target_hw > 0.0 && sp->target_hw < 0.5))
                what = "--target-halfwidth: must be a number in (0, 0.5), e.g. 0.005";
            break;
        }
        case OPT_MAX_PATHS:
            if (parse_u64(optarg, &sp->max_paths) || sp->max_paths == 0
                || sp->max_paths > ((uint64_t)1 << 40))
                what = "--max-paths: must be an integer in 1..2^40";
            break;
        case OPT_YEARS:
            if (parse_years(o, optarg) != 0)
                what = "--years: must be years separated by commas, e.g. 2026,2030";
            break;
        case OPT_VARY:
            if (!vary)
                what = "--vary: only 'runway sweep' takes it";
            else if (vary(vctx, optarg) != 0)
                return EXIT_USAGE;
            break;
        case OPT_SHARD: {
            char *slash = strchr(optarg, '/');
            if (!slash || (*slash = 0, parse_u64(optarg, &sp->shard_i)) || parse_u64(slash + 1, &sp->shard_n)
                || sp->shard_n == 0 || sp->shard_i >= sp->shard_n || sp->shard_n > 1000000)
                what = "--shard: must be I/N with 0 <= I < N, e.g. 0/8";
            if (slash)
                *slash = '/';
            break;
        }
        case OPT_RESUME: o->resume = optarg; break;
        case OPT_CONDITION: sp->condition = optarg; break;
        case 'q': sp->quiet = 1; break;
        case 'h': usage(stdout); return -1;
        default:
            bad_option(longopts, c, optind > 0 && optind <= argc ? argv[optind - 1] : NULL);
            return EXIT_USAGE;
        }
        if (what) {
            fprintf(stderr, "runway: %s (got '%s')\n", what, optarg);
            return EXIT_USAGE;
        }
        const char *name = c == 'o' ? "-o" : c == 'O' ? "-O" : c == 'n' ? "-n" : c == 's' ? "-s"
                         : c == 'k' ? "-k" : c == OPT_SET ? "--set"
                         : c == OPT_PER_PATH ? "--per-path" : c == OPT_TARGET ? "--target-halfwidth"
                         : c == OPT_VARY ? "--vary" : c == OPT_SHARD ? "--shard"
                         : c == OPT_CONDITION ? "--condition" : NULL;
        if (name && !listed(o->others, name)) {
            size_t at = strlen(o->others);
            snprintf(o->others + at, sizeof o->others - at, "%s%s", at ? ", " : "", name);
        }
    }
    sp->keep = (size_t)keep;
    *first = optind;
    const char *why = (sp->max_paths || sp->ntarget_years) && !(sp->target_hw > 0.0)
                          ? "--max-paths and --years go with --target-halfwidth"
                    : sp->target_hw > 0.0 && sp->condition
                          ? "--target-halfwidth judges Wilson intervals of unweighted counts: "
                            "not with --condition (read n_eff instead)"
                    : NULL;
    if (why) {
        fprintf(stderr, "runway: %s\nTry 'runway --help' for more information.\n", why);
        return EXIT_USAGE;
    }
    return 0;
}

/* ---- commands ---- */

/* Runs one scenario to one file and prints what it did. */
static int run_print(const char *scenario, const char *out, const run_opts *ro)
{
    run_result r;
    int rc = run_one(scenario, NULL, 0, out, &ro->spec, &r);
    print_result(&r);
    run_result_free(&r);
    return rc;
}

/* parse_run_opts for a command with no options of its own: 1 when the
 * command goes on (ro filled, its caller frees it; *status 0), else 0
 * with *status the exit status to return (ro freed: 0 after --help, the
 * error's status otherwise). */
static int command_opts(int argc, char **argv, const char *cmdline, run_opts *ro, int *first,
                        int *status)
{
    int rc = parse_run_opts(argc, argv, cmdline, ro, first, NULL, NULL);
    *status = rc < 0 ? 0 : rc;
    if (rc == 0)
        return 1;
    run_opts_free(ro);
    return 0;
}

/* Runs scripts/NAME ARGS... (defined below, with the other script calls). */
static int run_script(const char *name, char **args, size_t nargs);

static int cmd_run(int argc, char **argv, const char *cmdline)
{
    run_opts ro;
    int first, rc;
    if (!command_opts(argc, argv, cmdline, &ro, &first, &rc))
        return rc;
    if (ro.resume && ro.others[0]) {
        fprintf(stderr, "runway: --resume continues a checkpoint exactly as it was started, "
                        "into the same file; it takes only -t and -q (got %s)\n", ro.others);
        run_opts_free(&ro);
        return EXIT_USAGE;
    }
    int batch = !ro.resume && (ro.outdir || argc - first > 1);
    /* A single run stops with a checkpoint on a cluster's or a terminal's
     * signals; a batch abandons the scenario it is running (with no file)
     * and says which scenarios are complete. */
    catch_signals(batch ? on_signal : on_stop_signal, on_signal);
    if (batch)
        ro.spec.stop = &g_interrupted;
#ifdef RUNWAY_MPI
    int nranks = 1;
    MPI_Comm_size(MPI_COMM_WORLD, &nranks);
    if (nranks > 1) {
        int nscen_mpi = argc - first;
        if ((ro.resume ? nscen_mpi != 0 : nscen_mpi != 1) || ro.outdir || ro.spec.shard_n
            || ro.spec.target_hw > 0.0) {
            fprintf(stderr, "runway: under mpirun, run takes one SCENARIO, or --resume OUT.h5 "
                            "(no -O, --shard or --target-halfwidth)\n");
            run_opts_free(&ro);
            return EXIT_USAGE;
        }
        char *dout = ro.out || ro.resume ? NULL : batch_default_output(argv[first]);
        const char *o = ro.resume ? ro.resume : ro.out ? ro.out : dout;
        rc = mpi_run(ro.resume ? NULL : argv[first], o, ro.resume != NULL, &ro.spec);
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
        run_result r;
        rc = run_resume(ro.resume, &ro.spec, &r);
        print_result(&r);
        run_result_free(&r);
        run_opts_free(&ro);
        return rc;
    }
    int nscen = argc - first;
    if (ro.spec.shard_n && (nscen != 1 || ro.spec.target_hw > 0.0)) {
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
        char *out = ro.out ? NULL : batch_default_output(argv[first]);
        rc = run_print(argv[first], ro.out ? ro.out : out, &ro);
        free(out);
        run_opts_free(&ro);
        return rc;
    }
    /* A batch: one file each in DIR, then DIR/index.html (Python:
     * scripts/batch_index.py says in one line why it could not). */
    const char *dir = ro.outdir ? ro.outdir : ".";
    char **files = NULL;
    rc = batch_run((const char *const *)argv + first, (size_t)nscen, dir, &ro.spec, &files);
    if (rc == 0) {
        char **args = calloc((size_t)nscen + 1, sizeof *args);
        rc = args ? 0 : 1;
        if (args) {
            args[0] = (char *)dir;
            memcpy(args + 1, files, (size_t)nscen * sizeof *args);
            rc = run_script("batch_index.py", args, (size_t)nscen + 1);
        } else {
            fprintf(stderr, "runway: out of memory\n");
        }
        free(args);
        batch_free_labels(files, (size_t)nscen);
    }
    if (rc == 0 && !ro.spec.quiet) {
        char *index = batch_join(dir, "index.html");
        printf("index of %d scenarios: %s\n", nscen, index ? index : dir);
        free(index);
    }
    run_opts_free(&ro);
    return rc;
}

static int cmd_validate(int argc, char **argv, const char *cmdline)
{
    run_opts ro;
    int first, rc;
    if (!command_opts(argc, argv, cmdline, &ro, &first, &rc))
        return rc;
    if (argc - first < 1) {
        fprintf(stderr, "runway: validate needs a SCENARIO file\n");
        run_opts_free(&ro);
        return EXIT_USAGE;
    }
    for (int i = first; i < argc; i++) {
        char err[RUN_ERR_LEN];
        sc_scenario *s = NULL;
        if (run_load(&s, argv[i], &ro.spec.so, NULL, 0, err, sizeof err) != 0) {
            print_error(err);
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

/* runway rerun RESULT.h5 [-o OUT.h5]: the stored run again, from the
 * file alone (run.h, run_rerun). */
static int cmd_rerun(int argc, char **argv, const char *cmdline)
{
    run_opts ro;
    int first, rc;
    if (!command_opts(argc, argv, cmdline, &ro, &first, &rc))
        return rc;
    const run_spec *sp = &ro.spec;
    if (argc - first != 1 || ro.outdir || ro.resume || sp->so.nset || sp->so.has_paths
        || sp->so.has_seed || sp->target_hw > 0.0 || sp->shard_n || sp->condition) {
        fprintf(stderr, "runway: rerun takes one RESULT.h5 and only -o, -t and -q: the file "
                        "holds everything else\nTry 'runway --help' for more information.\n");
        run_opts_free(&ro);
        return EXIT_USAGE;
    }
    signal(SIGINT, on_signal);
    char *out = NULL;
    if (!ro.out) { /* STEM_rerun.h5 in the current directory */
        char *d = batch_default_output(argv[first]);
        size_t n = d ? strlen(d) + 8 : 0;
        if (d && (out = malloc(n)))
            snprintf(out, n, "%.*s_rerun.h5", (int)(strlen(d) - 3), d);
        free(d);
    }
    run_result r;
    rc = run_rerun(argv[first], ro.out ? ro.out : out ? out : "rerun.h5", &ro.spec, &r);
    print_result(&r);
    run_result_free(&r);
    free(out);
    run_opts_free(&ro);
    return rc;
}

/* runway merge SHARD... -o OUT.h5 */
static int cmd_merge(int argc, char **argv, const char *cmdline)
{
    run_opts ro;
    int first, rc;
    if (!command_opts(argc, argv, cmdline, &ro, &first, &rc))
        return rc;
    int n = argc - first;
    if (n < 1 || !ro.out) {
        fprintf(stderr, "runway: merge needs the shard files and -o OUT.h5\n");
        run_opts_free(&ro);
        return EXIT_USAGE;
    }
    /* Every signal abandons the merge: its temporary file is removed. */
    catch_signals(on_signal, on_signal);
    run_result r;
    rc = mg_merge((const char *const *)argv + first, (size_t)n, ro.out, &ro.spec, &r);
    print_result(&r);
    run_result_free(&r);
    run_opts_free(&ro);
    return rc;
}

/* runway backtest SCENARIO OBSERVATIONS [run options]: a run that also
 * scores the scenario against what was observed (MODEL.md section 8).
 * It measures, it does not judge: exit 0 whatever the scores. */
static int cmd_backtest(int argc, char **argv, const char *cmdline)
{
    run_opts ro;
    int first, rc;
    if (!command_opts(argc, argv, cmdline, &ro, &first, &rc))
        return rc;
    const char *why = argc - first != 2 ? "backtest needs SCENARIO and OBSERVATIONS.yaml"
                    : ro.outdir ? "backtest writes one file: use -o, not -O"
                    : ro.spec.shard_n || ro.resume ? "backtest runs whole: no --shard or --resume"
                    : ro.spec.target_hw > 0.0 ? "backtest takes the path count as given: no --target-halfwidth"
                    : ro.spec.condition ? "backtest scores the scenario's own forecast: no --condition "
                                          "(to score a posterior, add the facts to the scenario)"
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
    catch_signals(on_stop_signal, on_signal);
    ro.spec.observations = argv[first + 1];
    char *out = ro.out ? NULL : batch_default_output(argv[first]);
    rc = run_print(argv[first], ro.out ? ro.out : out, &ro);
    free(out);
    run_opts_free(&ro);
    return rc;
}

/* ---- sweep, and the Python scripts ---- */

typedef struct {
    batch_vary *v;
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
    batch_vary *nv = realloc(vs->v, (vs->n + 1) * sizeof *nv);
    if (!nv)
        return -1;
    vs->v = nv;
    batch_vary *v = &vs->v[vs->n++];
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

static int cmd_sweep(int argc, char **argv, const char *cmdline)
{
    vary_set vs = { 0 };
    run_opts ro;
    int first, rc = parse_run_opts(argc, argv, cmdline, &ro, &first, add_vary, &vs);
    if (rc != 0 || argc - first != 1 || vs.n == 0 || ro.out) {
        if (rc == 0)
            fprintf(stderr, "runway: sweep needs one SCENARIO, at least one --vary NAME=V1,V2,... "
                            "and optionally -O DIR (not -o)\n");
        vary_free(&vs);
        run_opts_free(&ro);
        return rc < 0 ? 0 : rc ? rc : EXIT_USAGE;
    }
    const char *scen = argv[first], *dir = ro.outdir ? ro.outdir : ".";
    size_t ncomb = batch_variants(vs.v, vs.n);
    if (ncomb == SIZE_MAX) {
        fprintf(stderr, "runway: a sweep of more than 10000 variants is refused\n");
        vary_free(&vs);
        run_opts_free(&ro);
        return EXIT_USAGE;
    }
    /* Every signal abandons the variant running (no file) and the sweep
     * says which variants are complete. */
    catch_signals(on_signal, on_signal);
    ro.spec.stop = &g_interrupted;
    char **labels = NULL;
    size_t nlabels = 0;
    rc = batch_sweep(scen, vs.v, vs.n, dir, &ro.spec, &labels, &nlabels);
    if (rc == 0) {
        size_t na = ncomb + 2 * vs.n + 2, k = 0;
        char **args = calloc(na, sizeof *args), *csv = batch_join(dir, "sweep_summary.csv"),
             *png = batch_join(dir, "sweep_summary.png");
        rc = args && csv && png ? 0 : 1;
        if (rc == 0) {
            for (size_t c = 0; c < nlabels; c++)
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
            if (rc == 0 && !ro.spec.quiet)
                printf("sweep: %zu result files in %.*s, summary %s, plot %s\n", ncomb,
                       (int)(strlen(csv) - strlen("/sweep_summary.csv")), csv, csv, png);
        }
        free(args);
        free(csv);
        free(png);
    }
    batch_free_labels(labels, nlabels);
    vary_free(&vs);
    run_opts_free(&ro);
    return rc;
}

/* ---- main ---- */

static int dispatch(int argc, char **argv);

static volatile int g_returned = 0;

/* HDF5 calls exit() when some of its own allocations fail, and its exit
 * handler can then crash; libgomp exits when it cannot start a thread. This guard is registered after HDF5's, so it
 * runs first: it removes any half-written result, says so in one line,
 * and ends the process before HDF5's handler. */
static void exit_guard(void)
{
    if (g_returned)
        return;
    ho_remove_temporaries();
    fputs("runway: a library ended the process (its message is above: OpenMP could not "
          "start threads (use fewer with -t), or HDF5 ran out of memory); no result written\n",
          stderr);
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
    static const struct {
        const char *name;
        int (*fn)(int argc, char **argv, const char *cmdline);
    } cmds[] = {
        { "run", cmd_run }, { "validate", cmd_validate }, { "sweep", cmd_sweep },
        { "merge", cmd_merge }, { "backtest", cmd_backtest }, { "rerun", cmd_rerun },
    };
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        if (!strcmp(cmd, cmds[i].name)) {
            char *cmdline = join_argv(argc, argv);
            int rc = cmds[i].fn(argc - 1, argv + 1, cmdline);
            free(cmdline);
            return rc;
        }
    if (!strcmp(cmd, "report"))
        return exec_script("report.py", argc - 1, argv + 1);
    if (!strcmp(cmd, "compare"))
        return exec_script("compare.py", argc - 1, argv + 1);
    if (!strcmp(cmd, "explain"))
        return exec_script("explain.py", argc - 1, argv + 1);
    static const char *const names[] = { "run", "validate", "sweep", "merge", "backtest",
                                         "rerun", "report", "compare", "explain" };
    const char *best = sc_suggest(cmd, names, sizeof names / sizeof names[0]);
    fprintf(stderr, "runway: unknown command '%s'%s%s%s\nTry 'runway --help' for more information.\n",
            cmd, best ? "; did you mean " : "", best ? best : "", best ? "?" : "");
    return EXIT_USAGE;
}
