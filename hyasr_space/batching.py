"""Kept for one release: moved to `hyasr_space.runtime.batching`, which this name now is.

Import `hyasr_space.runtime.batching` instead; this alias goes in the next release.
"""

import sys

from .runtime import batching as _moved

sys.modules[__name__] = _moved
