"""Armenian speech from espeak-ng, for the project's tools, tests and benchmarks.

Dev-only (it needs scipy and espeak-ng, which the app does not): tools/, tests/ and
benchmarks/ import it as `tools.espeak`. espeak-ng (`apt-get install espeak-ng`) speaks
Eastern Armenian as `-v hy` at 22,050 Hz; the text goes in on stdin, because some
sentences begin with "-", which it would take for an option.
"""

from __future__ import annotations

import math
import shutil
import subprocess
from collections.abc import Sequence

import numpy as np

from hyasr_space.settings import SAMPLE_RATE

ESPEAK_RATE = 22_050  # resampled to SAMPLE_RATE by 320 / 441
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
    common = math.gcd(SAMPLE_RATE, ESPEAK_RATE)
    return resample_poly(wav, SAMPLE_RATE // common, ESPEAK_RATE // common).astype(np.float32)


def speak_words(
    words: Sequence[str],
    voice: Sequence[str] = ("-v", "hy"),
    pauses_s: tuple[float, float] = (0.15, 0.5),
    seed: int = 0,
    trim: float = 0.02,
) -> tuple[np.ndarray, list[tuple[float, float]]]:
    """The words spoken one at a time and joined by pauses (0.3 s first, then uniform in
    `pauses_s`, seeded), so that each word's true start and end is known: the samples,
    and each word's (start, end) in seconds. A rendering is trimmed to its sound: from
    the first to the last sample above `trim` of its peak (each is scaled to peak 0.7)."""
    rng = np.random.default_rng(seed)
    pieces = [np.zeros(int(0.3 * SAMPLE_RATE), np.float32)]
    spans, position = [], len(pieces[0])
    for word in words:
        sound = speak(word, voice)
        sound = sound / max(float(np.abs(sound).max()), 1e-6) * 0.7
        loud = np.flatnonzero(np.abs(sound) > trim * np.abs(sound).max())
        sound = sound[loud[0] : loud[-1] + 1]
        spans.append((position / SAMPLE_RATE, (position + len(sound)) / SAMPLE_RATE))
        pause = np.zeros(int(rng.uniform(*pauses_s) * SAMPLE_RATE), np.float32)
        pieces += [sound, pause]
        position += len(sound) + len(pause)
    return np.concatenate(pieces).astype(np.float32), spans
