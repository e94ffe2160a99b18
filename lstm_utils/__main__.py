"""`python -m lstm_utils ...` runs the command line."""

import sys

from lstm_utils.cli import main

sys.exit(main())
