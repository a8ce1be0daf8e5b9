"""Synthesise Armenian speech with espeak-ng for training and held-out evaluation.

    python -m tools.synth_speech --out build/speech

writes ``train.npz`` (every Common Voice *train* sentence, ``--renditions`` times, each
with a random voice and augmentation) and two held-out sets in Common Voice layout
(``heldout-tune/`` and ``heldout-test/``: ``metadata.tsv`` with ``path`` and ``sentence``
columns, 16 kHz wav clips beside it), spoken with voice settings that training never uses.

Variation so the model does not learn one voice: eleven espeak-ng voice variants, rate
120-210 words per minute, pitch 25-75, word gap, random gain, white or brown noise at
15-40 dB SNR, a small synthetic room (exponentially decaying noise as impulse response),
telephone-style band limiting, and leading/trailing silence. espeak-ng is fed through
stdin because some sentences begin with "-", which it would take for an option.
"""

from __future__ import annotations

import argparse
import csv
import json
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import butter, fftconvolve, sosfilt

from hyasr_space.settings import SAMPLE_RATE
from hyasr_space.text import is_in_alphabet, normalize_text
from tools.corpus import read_lines
from tools.espeak import speak
from tools.heldout import TRAIN_FILE, heldout_normalized, heldout_sentences

TRAIN_VARIANTS = ("", "m1", "m2", "m4", "m5", "m6", "m7", "f1", "f2", "f4", "f5")
# Never used in training: the held-out sets are spoken with these.
HELDOUT_SETTINGS = (("f3", 150, 62), ("m3", 185, 40), ("", 165, 50))


@dataclass(frozen=True)
class Voice:
    variant: str
    rate: int
    pitch: int
    word_gap: int = 0

    def espeak_args(self) -> list[str]:
        name = "hy" + (f"+{self.variant}" if self.variant else "")
        args = ["-v", name, "-s", str(self.rate), "-p", str(self.pitch)]
        if self.word_gap:
            args += ["-g", str(self.word_gap)]
        return args


def augment(wav: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    if rng.random() < 0.3:  # a small room
        rt60 = rng.uniform(0.08, 0.35)
        length = int(rt60 * SAMPLE_RATE)
        decay = np.exp(-6.9 * np.arange(length) / length)
        impulse = rng.standard_normal(length) * decay
        impulse[0] = 1.0 / rng.uniform(0.15, 0.5)
        wav = fftconvolve(wav, impulse / np.abs(impulse).sum() * 4)[: len(wav)]
    if rng.random() < 0.2:  # telephone band
        sos = butter(
            4,
            [rng.uniform(200, 400), rng.uniform(3000, 3800)],
            "bandpass",
            fs=SAMPLE_RATE,
            output="sos",
        )
        wav = sosfilt(sos, wav)
    pad = rng.integers(0, int(0.3 * SAMPLE_RATE), size=2)
    wav = np.concatenate([np.zeros(pad[0]), wav, np.zeros(pad[1])])
    if rng.random() < 0.6:
        noise = rng.standard_normal(len(wav))
        if rng.random() < 0.5:  # brown noise: hum and rumble rather than hiss
            noise = np.cumsum(noise)
            noise -= np.convolve(noise, np.ones(401) / 401, mode="same")
        snr_db = rng.uniform(15, 40)
        speech_power = np.mean(wav**2) + 1e-9
        noise *= np.sqrt(speech_power / (np.mean(noise**2) + 1e-12) / 10 ** (snr_db / 10))
        wav = wav + noise
    peak = np.abs(wav).max()
    if peak > 0:
        wav = wav / peak * rng.uniform(0.1, 0.95)
    return wav.astype(np.float32)


def random_voice(rng: np.random.Generator) -> Voice:
    return Voice(
        variant=str(rng.choice(TRAIN_VARIANTS)),
        rate=int(rng.integers(120, 211)),
        pitch=int(rng.integers(25, 76)),
        word_gap=int(rng.choice([0, 0, 0, 1, 2])),
    )


def render_training(job: tuple[int, str]) -> np.ndarray:
    index, sentence = job
    rng = np.random.default_rng(index)
    wav = augment(speak(sentence, random_voice(rng).espeak_args()), rng)
    return np.clip(wav * 32767, -32768, 32767).astype(np.int16)


def write_heldout(split: str, out: Path) -> int:
    folder = out / f"heldout-{split}"
    (folder / "clips").mkdir(parents=True, exist_ok=True)
    rows = []
    for number, sentence in enumerate(heldout_sentences(split)):
        variant, rate, pitch = HELDOUT_SETTINGS[number % len(HELDOUT_SETTINGS)]
        wav = speak(sentence, Voice(variant, rate, pitch).espeak_args())
        wav = wav / max(np.abs(wav).max(), 1e-6) * 0.7
        name = f"clips/{split}-{number:03d}.wav"
        sf.write(folder / name, wav, SAMPLE_RATE, subtype="PCM_16")
        rows.append({"path": name, "sentence": sentence})
    with open(folder / "metadata.tsv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, ["path", "sentence"], delimiter="\t")
        writer.writeheader()
        writer.writerows(rows)
    return len(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("build/speech"))
    parser.add_argument("--renditions", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--max-words", type=int, default=20)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    excluded = heldout_normalized()
    sentences = []
    for line in read_lines(TRAIN_FILE):
        text = normalize_text(line)
        if text and is_in_alphabet(text) and text not in excluded:
            if len(text.split()) <= args.max_words:
                sentences.append((line, text))
    jobs = [
        (rendition * 1_000_000 + index, line)
        for rendition in range(args.renditions)
        for index, (line, _) in enumerate(sentences)
    ]
    texts = [sentences[job % 1_000_000][1] for job, _ in jobs]
    with ProcessPoolExecutor(args.workers) as pool:
        clips = list(pool.map(render_training, jobs, chunksize=64))
    lengths = np.array([len(clip) for clip in clips], dtype=np.int64)
    np.savez(
        args.out / "train.npz",
        audio=np.concatenate(clips),
        offsets=np.concatenate([[0], np.cumsum(lengths)]),
        texts=np.array(texts),
    )
    summary = {
        "train_clips": len(clips),
        "train_hours": round(float(lengths.sum()) / SAMPLE_RATE / 3600, 2),
        "heldout_tune": write_heldout("tune", args.out),
        "heldout_test": write_heldout("test", args.out),
    }
    (args.out / "summary.json").write_text(json.dumps(summary, indent=1))
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
