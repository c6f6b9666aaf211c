#!/usr/bin/python3
"""Generate rng/rng_math_tables.h: the tables and polynomials of rm_exp and rm_log.

Usage:
    gen_math_tables.py [OUT]     default rng/rng_math_tables.h (under the
                                 repository root); "-" writes to stdout
    gen_math_tables.py --check   regenerate and compare with the file in the
                                 tree; exit status 1 if they differ

Only the standard library: every value is computed in exact rational
arithmetic (fractions) from logarithms and exponentials taken with the
decimal module at 60 significant digits, and rounded to the nearest double
once, with Python's correctly rounded Fraction -> float. The output is
deterministic, so --check proves the header is what this script makes.

What is generated (rng/rng_math.h says how each is used). Tables hold
the bits of doubles as uint64_t (rng_math.h says why).

exp, x = k ln2/N + r with N = 128 and |r| <= ln2/(2N):
  RM_EXP_BITS[j] = bits(H_j) - (j << 45), H_j = 2^(j/N) rounded to double,
      so that adding k << 45 (k = N e + j) adds e to the exponent field;
  RM_EXP_TAIL[j] = bits of (2^(j/N) - H_j) / H_j rounded, so that
      2^(j/N) = H_j (1 + tail) to about 2^-106;
  ln2/N split in RM_EXP_LN2N_HI (35 significant bits, so k times it is
  exact for |k| < 2^18) and RM_EXP_LN2N_LO; N/ln2 rounded;
  C2..C5 for e^r - 1 - r = r^2 (C2 + C3 r + C4 r^2 + C5 r^3), a discrete
  Remez (minimax) fit of the absolute error on |r| <= ln2/(2N) (1 + 2^-10).

log, x = 2^k z with z in [OFF, 2 OFF), OFF = 0x1.5fp-1 = 351/512 (bits
0x3fe5f0...), the bit range split into N = 128 equal subintervals (width
2^-8 below 1, 2^-7 above); subinterval 80 is [1 - 2^-9, 1 + 2^-8), with 1
at its centre in the bits, and there invc = 1, logc = 0:
  RM_LOG_INVC[i] = bits of invc_i, 26 significant bits, so that zhi * invc
      is exact for z truncated to 27 bits (zhi) and zlo * invc for the
      rest (zlo = z - zhi). invc_i is the first of 1/centre_i rounded to
      26 bits, one step (2^-25 or 2^-26) above, one below, two above, ...
      such that |z invc_i - 1| <= 2^-8 over the subinterval and
      log(c_i) = -log(invc_i) (c_i = 1/invc_i exactly, the point the
      reduction really uses) is within 2^-67 of a double (the script
      prints how many candidates the longest search took, some 15,000);
  RM_LOG_LOGC[i] = bits of log(c_i) rounded to that double;
  ln2 split in RM_LOG_LN2_HI (a multiple of 2^-42: k times it is exact for
  |k| < 2^11) and RM_LOG_LN2_LO;
  A0..A4 for log1p(r) - r = r^2 (A0 + A1 r + A2 r^2 + A3 r^3 + A4 r^4),
  a discrete Remez fit on |r| <= 2^-8 (1 + 2^-10) of the error relative
  to max(|r|, 2^-9): relative where the result is about r (near 1), and
  absolute where |log x| >= 2^-9 whatever r is (every other subinterval).

The script prints each polynomial's measured error (with the coefficients
as rounded to double) on stderr.
"""
import os
import struct
import sys
from decimal import Decimal, getcontext
from fractions import Fraction as F

getcontext().prec = 60

N = 128                 # table size, both functions
EXP_DEG = 5             # e^r ~ 1 + r + C2 r^2 + ... + C5 r^5
LOG_DEG = 6             # log1p(r) ~ r + A0 r^2 + ... + A4 r^6
LOG_OFF = 0x3FF0000000000000 - 80 * (1 << 45) - (1 << 44)
LOG_MID = 80            # the subinterval centred on 1
INVC_BITS = 26
LOGC_TOL = F(1, 2**67)  # |log(1/invc) - logc| at most, logc the double
R_MAX = F(1, 256)        # |z invc - 1| at most: the polynomial's range
LN2_HI_QUANTUM = F(1, 2**42)


def dec(q):
    return Decimal(q.numerator) / Decimal(q.denominator)


def frac(d):
    return F(d)  # exact: a Decimal is a rational number


def ln(q):
    return frac(dec(q).ln())


def exp(q):
    return frac(dec(q).exp())


LN2 = ln(F(2))


def rnd(q):
    """q rounded to the nearest double (ties to even), exactly."""
    return float(q)


def bits(x):
    return struct.unpack("<Q", struct.pack("<d", x))[0]


def from_bits(b):
    return struct.unpack("<d", struct.pack("<Q", b))[0]


def round_sig(q, nbits):
    """q rounded to nbits significant bits (nearest, ties away)."""
    e = _exponent(q)
    scale = F(2) ** (nbits - 1 - e)
    n = q * scale
    m = (abs(n.numerator) * 2 + n.denominator) // (2 * n.denominator)
    return F(m if q > 0 else -m) / scale


def round_quantum(q, quantum):
    n = q / quantum
    m = (abs(n.numerator) * 2 + n.denominator) // (2 * n.denominator)
    return F(m if q >= 0 else -m) * quantum


def sig_bits(x):
    """significant bits of a finite nonzero double"""
    m = bits(x) & ((1 << 52) - 1)
    if m == 0:
        return 1
    return 53 - ((m & -m).bit_length() - 1)


def solve(a, b):
    """Gaussian elimination in exact rationals."""
    n = len(b)
    m = [row[:] + [b[i]] for i, row in enumerate(a)]
    for c in range(n):
        p = next(r for r in range(c, n) if m[r][c] != 0)
        m[c], m[p] = m[p], m[c]
        for r in range(n):
            if r != c and m[r][c] != 0:
                f = m[r][c] / m[c][c]
                m[r] = [u - f * v for u, v in zip(m[r], m[c])]
    return [m[i][n] / m[i][i] for i in range(n)]


def remez(f, w, lo, hi, deg, grid=1201, iters=12):
    """Coefficients q_0..q_deg minimising max |w(t) (f(t) - q(t))| over a
    Chebyshev-spaced grid of [lo, hi] (discrete Remez exchange). f and w are
    callables returning Fractions."""
    import math
    ts = sorted(set(F((lo + hi) / 2 + (hi - lo) / 2 * math.cos(math.pi * i / (grid - 1)))
                    for i in range(grid)))
    ts[0], ts[-1] = F(lo), F(hi)
    fv = {t: f(t) for t in ts}
    wv = {t: w(t) for t in ts}
    n = deg + 2
    ref = [ts[round((len(ts) - 1) * (1 - math.cos(math.pi * i / (n - 1))) / 2)] for i in range(n)]
    for _ in range(iters):
        a = [[t**j for j in range(deg + 1)] + [F((-1) ** i) / wv[t]] for i, t in enumerate(ref)]
        sol = solve(a, [fv[t] for t in ref])
        q = sol[:-1]
        err = [float(wv[t] * (fv[t] - sum(c * t**j for j, c in enumerate(q)))) for t in ts]
        # one extremum per run of equal sign, then the n consecutive ones
        # around the largest
        ext = []
        for i, e in enumerate(err):
            if e == 0:
                continue
            if ext and (e > 0) == (err[ext[-1]] > 0):
                if abs(e) > abs(err[ext[-1]]):
                    ext[-1] = i
            else:
                ext.append(i)
        while len(ext) > n:
            if abs(err[ext[0]]) < abs(err[ext[-1]]):
                ext.pop(0)
            else:
                ext.pop()
        if len(ext) < n:
            break
        ref = [ts[i] for i in ext]
    return q


def poly_error(coef, f, w, lo, hi, npts=4001):
    """max |w (f - p)| with the double coefficients, on a fine uniform grid"""
    worst = 0.0
    for i in range(npts):
        t = F(lo) + (F(hi) - F(lo)) * i / (npts - 1)
        e = abs(float(w(t) * (f(t) - sum(F(c) * t**j for j, c in enumerate(coef)))))
        worst = max(worst, e)
    return worst


def exp_part():
    out = {}
    inv_ln2n = rnd(N / LN2)
    ln2n = LN2 / N
    hi = round_sig(ln2n, 35)
    lo = rnd(ln2n - hi)
    assert sig_bits(rnd(hi)) <= 35 and F(rnd(hi)) == hi
    out["RM_EXP_INVLN2N"] = inv_ln2n
    out["RM_EXP_LN2N_HI"] = rnd(hi)
    out["RM_EXP_LN2N_LO"] = lo
    ebits, tail = [], []
    for j in range(N):
        v = exp(LN2 * j / N)
        h = rnd(v)
        ebits.append((bits(h) - (j << 45)) % 2**64)
        tail.append(rnd((v - F(h)) / F(h)))
    # e^r - 1 - r = r^2 g(r); fit g by C2..C5 with weight r^2
    rmax = ln2n / 2 * (1 + F(1, 1024))

    def g(t):
        if t == 0:
            return F(1, 2)
        return (exp(t) - 1 - t) / (t * t)

    def wt(t):
        return t * t
    q = remez(g, wt, -rmax, rmax, EXP_DEG - 2)
    c = [rnd(x) for x in q]
    err = poly_error(c, g, wt, -rmax, rmax)
    print(f"exp: |e^r - 1 - r - r^2 (C2 + ... + C5 r^3)| <= {err:.3g} = 2^{_log2(err):.2f} "
          f"for |r| <= {float(rmax):.6g}", file=sys.stderr)
    for i, x in enumerate(c):
        out[f"RM_EXP_C{i + 2}"] = x
    return out, ebits, tail


def _log2(x):
    import math
    return math.log2(x) if x > 0 else float("-inf")


SEARCHED = []


def search_invc(a, b):
    """For the subinterval [a, b): the invc with INVC_BITS significant bits
    nearest 1/centre (trying 1/centre rounded, then one step up, one down,
    two up, ...) such that |z invc - 1| <= R_MAX on the subinterval and
    log(1/invc) is within LOGC_TOL of a double; returns (invc, log(1/invc))
    exactly (the log to 40 digits)."""
    ic0 = round_sig(2 / (a + b), INVC_BITS)
    for n in range(1 << 20):
        step = n // 2 + 1 if n % 2 else -(n // 2)
        ic = ic0 + step * F(2) ** (_exponent(ic0) - INVC_BITS + 1)
        if round_sig(ic, INVC_BITS) != ic:
            continue
        if max(abs(a * ic - 1), abs(b * ic - 1)) > R_MAX:
            continue
        lc = -ln(ic)
        if abs(lc - F(rnd(lc))) <= LOGC_TOL:
            SEARCHED.append(n + 1)
            return ic, lc
    raise SystemExit(f"no invc for [{float(a)}, {float(b)})")


def _exponent(q):
    e = 0
    q = abs(q)
    while q >= 2:
        q /= 2
        e += 1
    while q < 1:
        q *= 2
        e -= 1
    return e


def log_part():
    out = {}
    ln2_hi = round_quantum(LN2, LN2_HI_QUANTUM)
    assert F(rnd(ln2_hi)) == ln2_hi and sig_bits(rnd(ln2_hi)) <= 42
    out["RM_LOG_LN2_HI"] = rnd(ln2_hi)
    out["RM_LOG_LN2_LO"] = rnd(LN2 - ln2_hi)
    out["RM_LOG_OFF"] = LOG_OFF
    invc, logc = [], []
    rmax = F(0)
    getcontext().prec = 40
    for i in range(N):
        a = F(from_bits(LOG_OFF + i * (1 << 45)))
        b = F(from_bits(LOG_OFF + (i + 1) * (1 << 45)))
        if i == LOG_MID:
            assert a < 1 < b
            ic, lc = F(1), F(0)
        else:
            ic, lc = search_invc(a, b)
        d = rnd(ic)
        assert F(d) == ic and sig_bits(d) <= INVC_BITS
        invc.append(d)
        logc.append(rnd(lc))
        rmax = max(rmax, abs(a * ic - 1), abs(b * ic - 1))
    getcontext().prec = 60
    assert invc[LOG_MID] == 1.0 and logc[LOG_MID] == 0.0
    # Fast2Sum of k ln2_hi and logc needs |logc| < ln2 <= |k ln2_hi| for k != 0
    assert all(abs(v) < 0.5 for v in logc)
    assert rmax <= R_MAX, float(rmax)
    lim = rmax * (1 + F(1, 1024))

    def g(t):
        if t == 0:
            return F(-1, 2)
        return (ln(1 + t) - t) / (t * t)

    # error weight: relative to |r| where |r| >= 2^-9 (near 1, log x ~ r),
    # absolute below (elsewhere |log x| >= 2^-9 whatever r is)
    def wt(t):
        return t * t / max(abs(t), F(1, 512))
    q = remez(g, wt, -lim, lim, LOG_DEG - 2)
    c = [rnd(x) for x in q]
    err = poly_error(c, g, wt, -lim, lim)
    print(f"log: |log1p(r) - r - r^2 (A0 + ... + A4 r^4)| <= {err:.3g} = 2^{_log2(err):.2f} "
          f"times max(|r|, 2^-9) for |r| <= {float(lim):.6g} (the reduction gives "
          f"|r| <= {float(rmax):.6g}); invc found within {max(SEARCHED)} candidates",
          file=sys.stderr)
    for i, x in enumerate(c):
        out[f"RM_LOG_A{i}"] = x
    return out, invc, logc


def hexd(x):
    if x == 0:
        return "0x0p+0" if bits(x) == 0 else "-0x0p+0"
    return x.hex()


def u64(v):
    return f"0x{v:016x}ULL"


def table(name, ctype, vals, fmt, per_line):
    lines = [f"static const {ctype} {name}[{len(vals)}] = {{"]
    for i in range(0, len(vals), per_line):
        lines.append("    " + ", ".join(fmt(v) for v in vals[i:i + per_line]) + ",")
    lines.append("};")
    return "\n".join(lines)


def render():
    econst, ebits, etail = exp_part()
    lconst, invc, logc = log_part()
    out = ["/* rng_math_tables: tables and polynomial coefficients of rm_exp and rm_log",
           " * (rng/rng_math.h). GENERATED by scripts/gen_math_tables.py, which says",
           " * how every value is defined; do not edit, regenerate, and check with",
           " * `scripts/gen_math_tables.py --check`. */",
           "#ifndef RUNWAY_RNG_MATH_TABLES_H",
           "#define RUNWAY_RNG_MATH_TABLES_H",
           "",
           "#include <stdint.h>",
           "",
           f"#define RM_EXP_TABLE_BITS 7 /* N = {N} */",
           f"#define RM_LOG_TABLE_BITS 7 /* N = {N} */",
           ""]
    for k, v in list(econst.items()) + list(lconst.items()):
        if isinstance(v, int):
            out.append(f"#define {k} 0x{v:016x}ULL")
        else:
            out.append(f"#define {k} {hexd(v)}")
    out.append("")
    out.append("/* bits(2^(j/N) rounded) - (j << 45) */")
    out.append(table("RM_EXP_BITS", "uint64_t", ebits, u64, 3))
    out.append("/* bits of tail_j: 2^(j/N) = H_j (1 + tail_j) */")
    out.append(table("RM_EXP_TAIL", "uint64_t", [bits(v) for v in etail], u64, 3))
    out.append("/* bits of invc_i = 1/c_i, 26 significant bits */")
    out.append(table("RM_LOG_INVC", "uint64_t", [bits(v) for v in invc], u64, 3))
    out.append("/* bits of log(c_i) rounded, within 2^-67 of log(c_i) */")
    out.append(table("RM_LOG_LOGC", "uint64_t", [bits(v) for v in logc], u64, 3))
    out.append("")
    out.append("#endif")
    return "\n".join(out) + "\n"


def main(argv):
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    default = os.path.join(root, "rng", "rng_math_tables.h")
    if len(argv) > 1 and argv[1] == "--check":
        text = render()
        with open(default) as fh:
            same = fh.read() == text
        print("rng/rng_math_tables.h " + ("matches" if same else "DIFFERS from") + " the generator")
        return 0 if same else 1
    path = argv[1] if len(argv) > 1 else default
    text = render()
    if path == "-":
        sys.stdout.write(text)
    else:
        with open(path, "w") as fh:
            fh.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
