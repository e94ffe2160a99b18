"""`python -m lstm_utils ...` runs the command line.

The stages in dvc.yaml call `python -m lstm_utils`, so the `python` first on PATH must be the
project's environment. When it is not (say, `.venv/bin/dvc repro` without activating the
venv), this says so in one line instead of failing on the first missing import.
"""

import importlib.util
import sys

_NEEDED = ("numpy", "pandas", "yaml", "keras", "nbformat", "papermill")
_missing = [name for name in _NEEDED if importlib.util.find_spec(name) is None]
if _missing:
    print(f"error: the `python` running lstm_utils ({sys.executable}) lacks the project's packages (no module "
          f"{_missing[0]!r}); activate the project's environment first (`source .venv/bin/activate`, after "
          "`make venv`), then run the command again (or run `make repro`)", file=sys.stderr)
    sys.exit(2)

from lstm_utils.cli import main  # noqa: E402

sys.exit(main())
