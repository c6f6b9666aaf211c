"""The scripts' name for runway.result (python/runway/result.py): the one
reader and validator of result files, which lives in the `runway` Python
package so that scripts, tests and notebooks share it.

This file makes `import runway_result` (report.py, compare.py, explain.py,
the sweep scripts, the tests) give that very module object, not a copy:
setting runway_result.PROBE sets runway.result.PROBE. The package is found
in the source tree (python/ beside scripts/) or, when installed
(cmake --install), in Debian python3's dist-packages.
"""
import os
import sys

_TREE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "python")
if os.path.isdir(os.path.join(_TREE, "runway")) and _TREE not in sys.path:
    sys.path.insert(0, _TREE)

import runway.result  # noqa: E402

sys.modules[__name__] = runway.result
