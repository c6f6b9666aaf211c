"""Helpers shared by scripts/report.py and scripts/compare.py: text read from
a result file made safe to print, draw or put in a CSV; probabilities
rounded to what the Monte Carlo error supports; intervals for a difference
of two proportions that keep their coverage at 0 and 1; and clean-up on
SIGTERM, SIGINT and SIGHUP.

Nothing here imports matplotlib or h5py (numpy only).
"""
import math
import os
import signal
import sys

import numpy as np

Z95 = 1.959963984540054  # standard normal 97.5% quantile

# ------------------------------------------------------------------ text
# A lab name, input name or scenario name comes from a file that may have
# been written elsewhere (compare reads two of them): it may hold a
# newline that breaks a table, an escape sequence that rewrites the
# terminal, or 10 MB that matplotlib cannot rasterise. Every such string
# goes through clean() before it is printed or drawn.
NAME_MAX = 40       # characters of a lab or input name in a table or a panel title
TEXT_MAX = 200      # characters of any other one-line text (scenario name, file name)


def clean(s, limit=NAME_MAX):
    """s as one printable line of at most limit characters: control
    characters (C0, DEL, C1, line and paragraph separators, bidi overrides:
    everything str.isprintable() refuses except the plain space) escaped
    as \\n, \\x1b, \\u202e...; longer text cut with an ellipsis."""
    s = s if isinstance(s, str) else str(s)
    if len(s) > 4 * limit + 16:  # never walk a 10 MB name character by character
        s = s[:4 * limit + 16]
        cut = True
    else:
        cut = False
    if not s.isprintable():
        out = []
        for ch in s:
            if ch.isprintable() or ch == " ":
                out.append(ch)
            else:
                r = repr(ch)[1:-1]
                out.append(r if r != ch else f"\\u{ord(ch):04x}")
        s = "".join(out)
    if cut or len(s) > limit:
        s = s[:max(limit - 3, 1)] + "..."
    return s


def clean_block(text, width=150, max_chars=1 << 20):
    """A multi-line text (the scenario as run) with its control characters
    escaped line by line (newlines kept), at most max_chars characters."""
    text = text if isinstance(text, str) else str(text)
    if len(text) > max_chars:
        text = text[:max_chars] + "\n... (cut)"
    return "\n".join(clean(line, 1 << 30) if not line.isprintable() else line
                     for line in text.split("\n"))


# A spreadsheet reads a cell that starts with =, +, -, @ (or a tab or a
# carriage return before one) as a formula (CSV injection, OWASP): such a
# text cell gets a leading apostrophe. Numbers are written as numbers.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(v):
    """A CSV cell: numbers as they are, text cleaned and neutralised."""
    if v is None or isinstance(v, (bool, int, float, np.integer, np.floating)):
        return v
    s = clean(str(v), TEXT_MAX)
    if s.startswith(_FORMULA_START):
        s = "'" + s
    return s


# -------------------------------------------------------------- rounding
def decimals_for(halfwidth, lo=0, hi=6):
    """Decimals for a probability whose 95% interval has this half-width:
    the last digit shown is the first one the interval's full width
    reaches (the rounding unit 10^-k is at most 2 x half-width), so no
    digit shown is Monte Carlo noise and none the interval supports is
    dropped. 10^4 paths at p = 0.5 (+-0.0098): 2 decimals; 10^5 (+-0.0031): 3."""
    h = float(halfwidth)
    if not (h > 0 and math.isfinite(h)):
        return hi
    k = math.ceil(-math.log10(2 * h) - 1e-12)
    return int(min(max(k, lo), hi))


def table_decimals(lo, hi, floor=1):
    """One number of decimals for a whole table of probabilities with
    intervals [lo, hi]: from the widest interval that is not degenerate (a
    probability of exactly 0 or 1 has zero width and says nothing about
    the noise); at least floor."""
    w = np.asarray(hi, dtype=float) - np.asarray(lo, dtype=float)
    w = w[np.isfinite(w) & (w > 0)]
    if w.size == 0:
        return 3
    return max(floor, decimals_for(float(w.max()) / 2))


def _fmt_p(p, scale, d, unit):
    """p * scale with d decimals and unit; exact 0 and 1 without decimals."""
    p = float(p)
    if not math.isfinite(p):
        return "n/a"
    if p == 0.0 or p == 1.0:
        return f"{scale * p:.0f}{unit}"
    return f"{scale * p:.{max(d, 0)}f}{unit}"


def fmt_prob(p, d):
    """p with d decimals; exact 0 and 1 as "0" and "1"."""
    return _fmt_p(p, 1, d, "")


def fmt_pct(p, d):
    """p as a percentage with d - 2 decimals (d decimals of the fraction)."""
    return _fmt_p(p, 100, d - 2, "%")


def fmt_signed(x, d):
    """x with a sign and d decimals; a value that rounds to zero as 0.000."""
    x = float(x)
    if not math.isfinite(x):
        return "n/a"
    s = f"{x:+.{d}f}"
    return f"{0.0:.{d}f}" if float(s) == 0.0 else s


# ------------------------------------------------------------- intervals
def wilson(p, n, z=Z95):
    """Wilson score interval (lo, hi) of a proportion p estimated from n
    (possibly effective, non-integer) trials; arrays broadcast."""
    p = np.asarray(p, dtype=float)
    n = np.asarray(n, dtype=float)
    z2 = z * z
    den = 1 + z2 / n
    mid = (p + z2 / (2 * n)) / den
    half = z * np.sqrt(np.maximum(p * (1 - p) / n + z2 / (4 * n * n), 0.0)) / den
    return np.clip(mid - half, 0.0, 1.0), np.clip(mid + half, 0.0, 1.0)


def newcombe(p1, n1, p2, n2, phi=0.0, z=Z95):
    """95% interval (lo, hi) for p1 - p2 by Newcombe's hybrid score method
    (Newcombe 1998, Stat Med 17:873 for independent samples, method 10;
    Stat Med 17:2635 for paired ones, method 10): the square-and-add of the
    two Wilson intervals' distances from their estimates,
        lo = d - sqrt((p1 - l1)^2 - 2 phi (p1 - l1)(u2 - p2) + (u2 - p2)^2)
        hi = d + sqrt((u1 - p1)^2 - 2 phi (u1 - p1)(p2 - l2) + (p2 - l2)^2)
    with phi the correlation of the paired outcomes (0 when independent).
    Why this one: the Wald interval d +- 1.96 sd has zero width when both
    proportions are 0 or 1 (a backstopped lab, a lab that never fails in
    the sample), and its coverage collapses near the boundary; the Wilson
    interval that `runway run` prints for each survival does not, and
    Newcombe's construction inherits that: at p1 = p2 = 1 it is about
    +-1.96^2/n wide, and its coverage stays near 95% down to 0 and up to 1
    (tests/test_compare_intervals.py checks it by simulation). It is the
    paired interval recommended by Newcombe's and by Fagerland, Lydersen
    and Laake's (2014, Stat Methods Med Res) comparisons, close to Tango's
    score interval but in closed form, and reduces to the unpaired hybrid
    score interval at phi = 0."""
    p1, p2 = np.asarray(p1, dtype=float), np.asarray(p2, dtype=float)
    l1, u1 = wilson(p1, n1, z)
    l2, u2 = wilson(p2, n2, z)
    d = p1 - p2
    a, b = p1 - l1, u2 - p2
    c, e = u1 - p1, p2 - l2
    lo = d - np.sqrt(np.maximum(a * a - 2 * phi * a * b + b * b, 0.0))
    hi = d + np.sqrt(np.maximum(c * c - 2 * phi * c * e + e * e, 0.0))
    return np.maximum(lo, -1.0), np.minimum(hi, 1.0)


def paired_phi(n11, n10, n01, n00):
    """The phi coefficient (Pearson correlation of two 0/1 outcomes) of a
    2 x 2 table of paired counts (or weights): n11 both 1, n10 first only,
    n01 second only, n00 neither; 0 where a margin is empty (Newcombe's
    convention: the correlation is then undefined and the paired interval
    is the unpaired one)."""
    n11, n10, n01, n00 = (np.asarray(x, dtype=float) for x in (n11, n10, n01, n00))
    den = (n11 + n10) * (n01 + n00) * (n11 + n01) * (n10 + n00)
    with np.errstate(invalid="ignore", divide="ignore"):
        phi = (n11 * n00 - n10 * n01) / np.sqrt(den)
    return np.where(den > 0, phi, 0.0)


# --------------------------------------------------------------- signals
class Interrupted(BaseException):
    """Raised in the main process by SIGTERM, SIGINT or SIGHUP, so that
    every `with AtomicOutputs()` removes its temporaries on the way out
    (a BaseException: no `except Exception` turns it into another error)."""

    def __init__(self, signum):
        super().__init__(signum)
        self.signum = signum
        try:
            self.name = signal.Signals(signum).name
        except ValueError:
            self.name = f"signal {signum}"


_MAIN_PID = None


def _on_signal(signum, frame):
    if os.getpid() != _MAIN_PID:
        # A forked helper (the PNG renderer, the failure worlds, the
        # probe): it has nothing of its own to clean up.
        os._exit(128 + signum)
    raise Interrupted(signum)


def catch_signals():
    """From now on SIGTERM, SIGINT and SIGHUP raise Interrupted in this
    process (forked children just exit)."""
    global _MAIN_PID
    _MAIN_PID = os.getpid()
    for s in (signal.SIGTERM, signal.SIGINT, getattr(signal, "SIGHUP", None)):
        if s is not None:
            try:
                signal.signal(s, _on_signal)
            except (OSError, ValueError):
                pass


def stopped(prog, e, outputs):
    """The one line a command prints when a signal stopped it, and its
    exit status (128 + the signal's number, as a shell reports it)."""
    # Further signals while leaving must not interrupt the message.
    for s in (signal.SIGTERM, signal.SIGINT, getattr(signal, "SIGHUP", None)):
        if s is not None:
            try:
                signal.signal(s, signal.SIG_IGN)
            except (OSError, ValueError):
                pass
    what = (" and ".join(outputs) + " not written" if outputs else "nothing was written")
    try:
        sys.stderr.write(f"{prog}: stopped by {e.name}: {what}; its temporary files "
                         "were removed\n")
        sys.stderr.flush()
    except OSError:
        pass
    return 128 + e.signum
