"""Kept for one release: moved to `hyasr_space.runtime.checkpoints`, which this name now is.

Import `hyasr_space.runtime.checkpoints` instead; this alias goes in the next release.
"""

import sys

from .runtime import checkpoints as _moved

sys.modules[__name__] = _moved
