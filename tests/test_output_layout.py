"""A real run of the baseline writes the file OUTPUT.md describes: every
name, axis and shape, probabilities in [0, 1], survival non-increasing,
intervals around their estimates; provenance reproduces the run."""
import os
import sys

import h5py
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from check_output import check  # noqa: E402
from h5util import run, same_bits, tmpdir  # noqa: E402

runway, scen = sys.argv[1], sys.argv[2]
d = tmpdir()
out = os.path.join(d, "b.h5")
run(runway, "run", scen, "-o", out, "--paths", "5000", "-q", "--keep-paths", "20",
    "--set", "OpenAI.cash0=20 to 40")
problems = list(check(out))
with h5py.File(out) as f:
    a = f.attrs
    if int(a["paths"]) != 5000 or int(a["complete"]) != 1:
        problems.append("paths/complete attributes wrong")
    y = a["scenario_yaml"]
    y = y.decode() if isinstance(y, bytes) else y
    if "20 to 40" not in y:
        problems.append("scenario_yaml does not carry the --set override")
    # quantiles are clamped into the exact range of their values: an
    # ownership of exactly 1 must not read as its bucket's midpoint
    own = f["ownership_q"][()]
    if np.nanmax(own) > 1.0 or np.nanmin(own) < 0.0:
        problems.append(f"ownership_q outside [0, 1]: {np.nanmin(own)}..{np.nanmax(own)}")
    if f["trajectories/cash"].shape[0] != 20:
        problems.append("kept_path length != --keep-paths")
    if f["paths/inputs"].shape[0] != 5000:
        problems.append("paths/inputs has the wrong length")
# The provenance alone reproduces the run: re-run the stored scenario text.
y2 = os.path.join(d, "from_file.yaml")
with open(y2, "w") as fh:
    fh.write(y)
out2 = os.path.join(d, "again.h5")
run(runway, "run", y2, "-o", out2, "--paths", "5000", "-q", "--keep-paths", "20")
diff = same_bits(out, out2)
if diff:
    problems.append(f"re-running scenario_yaml differs in {diff}")
for p in problems:
    print("FAIL:", p)
print("ok" if not problems else f"{len(problems)} problem(s)")
sys.exit(1 if problems else 0)
