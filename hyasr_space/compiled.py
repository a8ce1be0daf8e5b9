"""Kept for one release: moved to `hyasr_space.runtime.compiled`, which this name now is.

Import `hyasr_space.runtime.compiled` instead; this alias goes in the next release.
"""

import sys

from .runtime import compiled as _moved

sys.modules[__name__] = _moved
