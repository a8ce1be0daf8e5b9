"""`python -m hyasr_space.cli`, the same as the `hyasr` console script."""

import sys

from . import main

sys.exit(main())
