#!/usr/bin/python3
"""The tests' name for the one validator of result files, runway.contract
(python/runway/contract.py), which checks OUTPUT.md's whole file contract
and then asks the scripts' own reader (runway.result.load) whether it
accepts the file, so a test that passes a file through check() has proved
what the report scripts will do with it.

Command line: /usr/bin/python3 tests/check_output.py FILE.h5 [options]
(see runway.contract); as a module: check_output.check(path, ...).
"""
import os
import sys

_TREE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "python")
if _TREE not in sys.path:
    sys.path.insert(0, _TREE)

import runway.contract  # noqa: E402

if __name__ == "__main__":
    sys.exit(runway.contract.main())
sys.modules[__name__] = runway.contract
