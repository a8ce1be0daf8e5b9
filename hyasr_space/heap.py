"""Kept for one release: moved to `hyasr_space.runtime.heap`, which this name now is.

Import `hyasr_space.runtime.heap` instead; this alias goes in the next release.
"""

import sys

from .runtime import heap as _moved

sys.modules[__name__] = _moved
