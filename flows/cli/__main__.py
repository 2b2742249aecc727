"""`python -m flows.cli [command] [options]` is `seqconv [command] [options]` (the docs' --help texts run it)."""

import sys

from flows.cli import main

sys.exit(main())
