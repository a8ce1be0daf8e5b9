"""Armenian speech from espeak-ng, for the project's tools, tests and benchmarks.

The app never calls it: it is here, in the package, because tools/, tests/ and
benchmarks/ all need the same rendering and may all import the package. espeak-ng
(`apt-get install espeak-ng`) speaks Eastern Armenian as `-v hy` at 22,050 Hz; the
text goes in on stdin, because some sentences begin with "-", which it would take for
an option (docs/FACTS.md).
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence

import numpy as np

ESPEAK_RATE = 22_050
SAMPLE_RATE = 16_000  # 22,050 * 320 / 441
# Eight everyday sentences, normalised (lowercase, no punctuation): the long-audio test
# and benchmark tile them into minutes of speech with a known reference.
SENTENCES = (
    "բարև ձեզ ես սովորում եմ հայերեն",
    "այսօր եղանակը շատ լավ է",
    "երևանը հայաստանի մայրաքաղաքն է",
    "մենք գնում ենք շուկա հաց գնելու",
    "գիրքը դրված է սեղանի վրա",
    "երեխաները խաղում են բակում",
    "ամռանը մենք լողում ենք ծովում",
    "նա ամեն առավոտ սուրճ է խմում",
)


def available() -> bool:
    return shutil.which("espeak-ng") is not None


def speak(text: str, voice: Sequence[str] = ("-v", "hy")) -> np.ndarray:
    """espeak-ng's rendering of `text` as 16 kHz float32; `voice` is espeak-ng's voice,
    rate and pitch arguments. Raises `subprocess.CalledProcessError` when it fails."""
    from scipy.signal import resample_poly  # a dev dependency, like espeak-ng itself

    result = subprocess.run(
        ["espeak-ng", *voice, "--stdin", "--stdout"],
        input=text.encode("utf-8"),
        capture_output=True,
        check=True,
        timeout=60,
    )
    wav = np.frombuffer(result.stdout[44:], dtype="<i2").astype(np.float32) / 32768.0
    return resample_poly(wav, 320, 441).astype(np.float32)
