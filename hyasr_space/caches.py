"""Kept for one release: moved to `hyasr_space.runtime.caches`, which this name now is.

Import `hyasr_space.runtime.caches` instead; this alias goes in the next release.
"""

import sys

from .runtime import caches as _moved

sys.modules[__name__] = _moved
