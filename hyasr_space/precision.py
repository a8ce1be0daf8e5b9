"""Kept for one release: moved to `hyasr_space.runtime.precision`, which this name now is.

Import `hyasr_space.runtime.precision` instead; this alias goes in the next release.
"""

import sys

from .runtime import precision as _moved

sys.modules[__name__] = _moved
