"""Kept for one release: moved to `hyasr_space.runtime.windows`, which this name now is.

Import `hyasr_space.runtime.windows` instead; this alias goes in the next release.
"""

import sys

from .runtime import windows as _moved

sys.modules[__name__] = _moved
