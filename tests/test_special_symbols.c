/* test_special_symbols: compiled, never run. Its object file holds each
 * of rng_special.h's functions as an external definition, and the test
 * special_functions_call_no_libm (tests/rng.cmake) lists the symbols the
 * object leaves undefined: none may be a libm function whose result can
 * differ between CPUs or libm versions (exp, log, pow, lgamma, ...) or a
 * GSL one. sqrt may appear (IEEE-754 rounds it correctly everywhere);
 * with -fno-math-errno it is an instruction and does not. */
#include "rng/rng_special.h"

double rsp_sym_log1p(double x);
double rsp_sym_log1p(double x) { return rsp_log1p(x); }
double rsp_sym_stirling(double x);
double rsp_sym_stirling(double x) { return rsp_stirling(x); }
double rsp_sym_lgamma(double x);
double rsp_sym_lgamma(double x) { return rsp_lgamma(x); }
void rsp_sym_gamma_pq(double a, double x, double *p, double *q);
void rsp_sym_gamma_pq(double a, double x, double *p, double *q) { rsp_gamma_pq(a, x, p, q); }
void rsp_sym_beta_pq(double a, double b, double x, double *p, double *q);
void rsp_sym_beta_pq(double a, double b, double x, double *p, double *q) { rsp_beta_pq(a, b, x, p, q); }
double rsp_sym_gamma_inv(double a, double t, int upper);
double rsp_sym_gamma_inv(double a, double t, int upper) { return rsp_gamma_inv(a, t, upper); }
double rsp_sym_beta_inv(double a, double b, double t, int upper, int *reflected);
double rsp_sym_beta_inv(double a, double b, double t, int upper, int *reflected)
{
    return rsp_beta_inv(a, b, t, upper, reflected);
}
