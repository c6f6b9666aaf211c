/* h5evidence: see h5evidence.h. */
#include "output/h5evidence.h"

#include <hdf5.h>
#include <hdf5_hl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    hid_t g, axis, quant, vstr;
    int failed;
    char *err;
    size_t errlen;
} he_ctx;

static void he_fail(he_ctx *c, const char *fmt, ...)
{
    if (c->failed)
        return;
    c->failed = 1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err, c->errlen, fmt, ap);
    va_end(ap);
}

static void str_attr(he_ctx *c, hid_t loc, const char *name, const char *v)
{
    if (c->failed)
        return;
    hid_t t = H5Tcopy(H5T_C_S1);
    size_t n = strlen(v);
    hid_t sp = H5Screate(H5S_SCALAR);
    hid_t a = -1;
    if (t >= 0 && H5Tset_size(t, n ? n : 1) >= 0 && H5Tset_cset(t, H5T_CSET_UTF8) >= 0 && sp >= 0)
        a = H5Acreate2(loc, name, t, sp, H5P_DEFAULT, H5P_DEFAULT);
    if (a < 0 || H5Awrite(a, t, v) < 0)
        he_fail(c, "cannot write attribute %s", name);
    if (a >= 0) H5Aclose(a);
    if (sp >= 0) H5Sclose(sp);
    if (t >= 0) H5Tclose(t);
}

static void dbl_attr(he_ctx *c, const char *name, double v)
{
    if (!c->failed && H5LTset_attribute_double(c->g, ".", name, &v, 1) < 0)
        he_fail(c, "cannot write attribute backtest/%s", name);
}

/* A dataset on the observation axis (and the quantile axis when q). */
static void column(he_ctx *c, const char *name, hid_t ftype, hid_t mtype, size_t n, int q,
                   const void *data, const char *units, const char *long_name)
{
    if (c->failed)
        return;
    hsize_t dims[2] = { n, EV_NQ };
    hid_t sp = H5Screate_simple(q ? 2 : 1, dims, NULL);
    hid_t ds = sp < 0 ? -1 : H5Dcreate2(c->g, name, ftype, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (ds < 0 || H5Dwrite(ds, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) < 0
        || H5DSattach_scale(ds, c->axis, 0) < 0 || (q && H5DSattach_scale(ds, c->quant, 1) < 0))
        he_fail(c, "cannot write backtest/%s", name);
    if (ds >= 0) {
        str_attr(c, ds, "units", units);
        str_attr(c, ds, "long_name", long_name);
        H5Dclose(ds);
    }
    if (sp >= 0)
        H5Sclose(sp);
}

static const char *units_of(const ob_obs *o)
{
    switch (o->q) {
    case OB_SHARE: return "1";
    case OB_STATUS: return "";
    default: return "US$ billion";
    }
}

int he_write_backtest(ho_file *f, const sc_scenario *s, const ob_set *obs,
                      const ev_scores *sc, char *err, size_t errlen)
{
    he_ctx c = { -1, -1, -1, -1, 0, err, errlen };
    hid_t fid = (hid_t)ho_file_id(f);
    size_t n = obs->n;
    const char **label = calloc(n, sizeof *label), **who = calloc(n, sizeof *who),
               **qty = calloc(n, sizeof *qty), **src = calloc(n, sizeof *src),
               **unit = calloc(n, sizeof *unit), **verdict = calloc(n, sizeof *verdict),
               **status = calloc(n, sizeof *status);
    char (*vbuf)[32] = calloc(n, sizeof *vbuf);
    int32_t *year = calloc(n, sizeof *year);
    uint8_t *in50 = calloc(n, 1), *in90 = calloc(n, 1);
    double *col = calloc(n * EV_NQ, sizeof *col);
    static const char *seg[3] = { "sub", "api", "ent" };
    if (!label || !who || !qty || !src || !unit || !verdict || !status || !vbuf || !year
        || !in50 || !in90 || !col)
        he_fail(&c, "out of memory");
    for (size_t k = 0; k < n && !c.failed; k++) {
        const ob_obs *o = &obs->obs[k];
        label[k] = o->label;
        who[k] = o->lab >= 0 ? s->labs[o->lab].name : seg[o->segment];
        qty[k] = ob_quantity_name(o->q);
        src[k] = o->source;
        unit[k] = units_of(o);
        verdict[k] = ev_verdict(o, &sc->rows[k], vbuf[k], sizeof vbuf[k]);
        status[k] = o->q == OB_STATUS ? ob_status_name(o->status) : "";
        year[k] = o->year;
        in50[k] = sc->rows[k].inside50 == 1;
        in90[k] = sc->rows[k].inside90 == 1;
    }
    if (!c.failed) {
        c.vstr = H5Tcopy(H5T_C_S1);
        if (c.vstr < 0 || H5Tset_size(c.vstr, H5T_VARIABLE) < 0 || H5Tset_cset(c.vstr, H5T_CSET_UTF8) < 0)
            he_fail(&c, "cannot make the string type");
    }
    if (!c.failed && (c.g = H5Gcreate2(fid, "backtest", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)) < 0)
        he_fail(&c, "cannot create group backtest");
    if (!c.failed && (c.quant = H5Dopen2(fid, "quantile", H5P_DEFAULT)) < 0)
        he_fail(&c, "cannot open the quantile axis");
    if (!c.failed) {
        hsize_t d = n;
        hid_t sp = H5Screate_simple(1, &d, NULL);
        c.axis = sp < 0 ? -1 : H5Dcreate2(c.g, "observation", c.vstr, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        if (c.axis < 0 || H5Dwrite(c.axis, c.vstr, H5S_ALL, H5S_ALL, H5P_DEFAULT, label) < 0
            || H5DSset_scale(c.axis, "observation") < 0)
            he_fail(&c, "cannot write the observation axis");
        str_attr(&c, c.axis, "units", "1");
        str_attr(&c, c.axis, "long_name", "the observation: lab or segment, quantity, year");
        if (sp >= 0)
            H5Sclose(sp);
    }
    column(&c, "subject", c.vstr, c.vstr, n, 0, who, "1", "the lab, or the market segment (sub, api, ent)");
    column(&c, "year", H5T_STD_I32LE, H5T_NATIVE_INT32, n, 0, year, "year", "calendar year observed");
    column(&c, "quantity", c.vstr, c.vstr, n, 0, qty, "1", "revenue, cash, raised, op_cash_flow, share, size or status");
    column(&c, "units", c.vstr, c.vstr, n, 0, unit, "1", "the units of the observation's figures");
    column(&c, "source", c.vstr, c.vstr, n, 0, src, "1", "the observation's source, as written");
    column(&c, "status", c.vstr, c.vstr, n, 0, status, "1", "the observed status (\"\" for a figure)");
    column(&c, "verdict", c.vstr, c.vstr, n, 0, verdict, "1", "where the observation fell in the forecast");
#define DCOL(name, expr, u, ln)                                                  \
    do {                                                                        \
        for (size_t k = 0; k < n && col; k++) {                                 \
            const ob_obs *o = &obs->obs[k];                                     \
            const ev_row *r = &sc->rows[k];                                     \
            (void)o; (void)r;                                                   \
            col[k] = (expr);                                                    \
        }                                                                       \
        column(&c, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, n, 0, col, u, ln);   \
    } while (0)
    DCOL("observed", o->median, "(see units)", "the observation's median (NaN for a status)");
    DCOL("observed_p5", o->p5, "(see units)", "the observation's own 5th percentile");
    DCOL("observed_p95", o->p95, "(see units)", "the observation's own 95th percentile");
    DCOL("pit", r->pit, "1", "predictive probability of a value at or below the observed median, counted over the paths");
    DCOL("crps", r->crps, "(see units)", "continuous ranked probability score of the forecast against the observed median");
    DCOL("p_exists", r->p_exists, "1", "share of paths on which the quantity exists (the lab is alive at the end of the year)");
    DCOL("status_probability", r->p_status, "1", "predicted probability of the observed status (NaN for a figure)");
    DCOL("log_score", r->log_score, "1", "natural log of the predicted probability of the observed status (NaN for a figure)");
#undef DCOL
    column(&c, "inside50", H5T_STD_U8LE, H5T_NATIVE_UINT8, n, 0, in50, "1", "1 when the observed median lies inside the central 50% predictive interval");
    column(&c, "inside90", H5T_STD_U8LE, H5T_NATIVE_UINT8, n, 0, in90, "1", "1 when the observed median lies inside the central 90% predictive interval");
    for (size_t k = 0; k < n && col; k++)
        memcpy(col + k * EV_NQ, sc->rows[k].q, sizeof sc->rows[k].q);
    column(&c, "predicted_q", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, n, 1, col, "(see units)",
           "predictive quantiles among the paths where the quantity exists");
    dbl_attr(&c, "coverage50", sc->cov50);
    dbl_attr(&c, "coverage50_lo", sc->cov50_lo);
    dbl_attr(&c, "coverage50_hi", sc->cov50_hi);
    dbl_attr(&c, "coverage90", sc->cov90);
    dbl_attr(&c, "coverage90_lo", sc->cov90_lo);
    dbl_attr(&c, "coverage90_hi", sc->cov90_hi);
    dbl_attr(&c, "figures", (double)sc->nfig);
    dbl_attr(&c, "statuses", (double)sc->nstatus);
    dbl_attr(&c, "mean_log_score", sc->mean_log_score);
    if (c.g >= 0) str_attr(&c, c.g, "observations_file", obs->file);
    str_attr(&c, fid, "observations_yaml", obs->yaml_text);
    if (c.axis >= 0) H5Dclose(c.axis);
    if (c.quant >= 0) H5Dclose(c.quant);
    if (c.g >= 0) H5Gclose(c.g);
    if (c.vstr >= 0) H5Tclose(c.vstr);
    free(label); free(who); free(qty); free(src); free(unit); free(verdict); free(status);
    free(vbuf); free(year); free(in50); free(in90); free(col);
    return c.failed ? -1 : 0;
}
