"""`cmake --install` puts the Python package runway where Debian's
/usr/bin/python3 looks for packages of that prefix (one of
site.getsitepackages([PREFIX])), complete enough to load a result file
from outside the source tree.

Usage: test_python_install.py RUNWAY SOURCE_DIR CMAKE BUILD_DIR
"""
import os
import shutil
import subprocess
import sys
import tempfile

runway_bin, src, cmake, build = sys.argv[1:5]
prefix = tempfile.mkdtemp(prefix="runway-install-")
try:
    p = subprocess.run([cmake, "--install", build, "--prefix", prefix],
                       capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"FAIL: cmake --install: {p.stderr}")
    result = os.path.join(prefix, "b.h5")
    subprocess.run([runway_bin, "run", os.path.join(src, "scenarios", "baseline.yaml"), "-n", "300",
                    "-q", "-o", result], check=True)
    # A fresh interpreter that knows only the prefix's site directories
    # (as Debian's python3 does for /usr and /usr/local), run from /.
    code = ("import site, sys\n"
            "for d in site.getsitepackages([sys.argv[1]]): site.addsitedir(d)\n"
            "import runway\n"
            "assert runway.__file__.startswith(sys.argv[1]), runway.__file__\n"
            "r = runway.load(sys.argv[2])\n"
            "print(runway.__file__, sorted(r), float(r['summary'].survival.sel(lab='OpenAI')[0]))\n")
    p = subprocess.run(["/usr/bin/python3", "-I", "-c", code, prefix, result],
                       capture_output=True, text=True, cwd="/")
    if p.returncode != 0:
        sys.exit(f"FAIL: the installed package does not import and load: {p.stderr.strip()}")
    print("ok:", p.stdout.strip())
finally:
    shutil.rmtree(prefix, ignore_errors=True)
