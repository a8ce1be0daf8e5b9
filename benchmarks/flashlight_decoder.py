"""Is a faster beam search a drop-in for pyctcdecode? flashlight-text's lexicon decoder, measured.

    pip install flashlight-text==0.0.7      # not a requirement of the app
    python -m benchmarks.flashlight_decoder --limit 150

flashlight-text (the C++ decoder behind torchaudio's `ctc_decoder`) runs a CTC beam search
with KenLM fusion over a lexicon trie. The comparison decodes the same demo-model logits
of the held-out test clips (build/speech/heldout-test; sentences kept out of the LM) with
our `LMDecoder` (pyctcdecode, the reference) and with flashlight's `LexiconDecoder` on
the same 5-gram, with the lexicon taken from the LM's unigrams, for a small grid of LM
weight and word score (the two decoders scale the LM differently). Reported per setting:
ms per 10 s of audio (one thread, one clip at a time), corpus WER/CER against the
references, and how many transcripts are identical to pyctcdecode's.

A lexicon decoder can only emit words of its lexicon; pyctcdecode also spells out words
the LM has never seen (with `unk_score_offset`). That difference is part of what is
measured. Prints one JSON document on stdout; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time

import numpy as np

from benchmarks.bench_common import heldout_sentences, log, machine
from hyasr_space.audio import load_audio
from hyasr_space.settings import Settings
from hyasr_space.text import error_rates, normalize_text
from hyasr_space.transcriber import Transcriber


def flashlight_decoder(transcriber: Transcriber, lm_weight: float, word_score: float, beam: int):
    from flashlight.lib.text.decoder import (
        CriterionType,
        KenLM,
        LexiconDecoder,
        LexiconDecoderOptions,
        SmearingMode,
        Trie,
    )
    from flashlight.lib.text.dictionary import Dictionary

    vocabulary = transcriber.vocabulary
    lm = transcriber.lm
    tokens = Dictionary()
    for index, token in enumerate(vocabulary.tokens):
        tokens.add_entry(token, index)
    letters = set(vocabulary.tokens)
    unigrams = (lm.kenlm_path.parent / "unigrams.txt").read_text(encoding="utf-8").split()
    words = [w for w in unigrams if all(ch in letters for ch in w)]
    lexicon = {word: [[*word, vocabulary.tokens[vocabulary.delimiter_id]]] for word in words}
    word_dict = Dictionary()
    for word in ["<unk>", *lexicon]:
        word_dict.add_entry(word)
    word_dict.set_default_index(word_dict.get_index("<unk>"))
    kenlm = KenLM(str(lm.kenlm_path), word_dict)
    silence = vocabulary.delimiter_id
    trie = Trie(len(vocabulary.tokens), silence)
    start = kenlm.start(False)
    for word, spellings in lexicon.items():
        word_index = word_dict.get_index(word)
        _, score = kenlm.score(start, word_index)
        for spelling in spellings:
            trie.insert([tokens.get_index(t) for t in spelling], word_index, score)
    trie.smear(SmearingMode.MAX)
    options = LexiconDecoderOptions(
        beam_size=beam,
        beam_size_token=len(vocabulary.tokens),
        beam_threshold=25.0,
        lm_weight=lm_weight,
        word_score=word_score,
        unk_score=-math.inf,
        sil_score=0.0,
        log_add=False,
        criterion_type=CriterionType.CTC,
    )
    decoder = LexiconDecoder(
        options, trie, kenlm, silence, vocabulary.blank_id, word_dict.get_index("<unk>"), [], False
    )

    def decode(log_probs: np.ndarray) -> str:
        emissions = np.ascontiguousarray(log_probs, dtype=np.float32)
        frames, size = emissions.shape
        best = decoder.decode(emissions.ctypes.data, frames, size)[0]
        return " ".join(word_dict.get_entry(i) for i in best.words if i >= 0)

    return decode


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--limit", type=int, default=150)
    parser.add_argument("--beam", type=int, default=100)
    parser.add_argument("--lm-weights", nargs="+", type=float, default=None)
    parser.add_argument("--word-scores", nargs="+", type=float, default=None)
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(1)
    settings = Settings(device="cpu", fallback_model=None, warm_up=False)
    transcriber = Transcriber.load("demo", settings=settings)
    lm = transcriber.lm
    defaults = lm.defaults
    items = heldout_sentences(args.limit)
    log(f"forward pass over {len(items)} held-out clips")
    logits = [transcriber.logits(load_audio(path, settings)) for path, _ in items]
    references = [normalize_text(text) for _, text in items]
    audio_s = sum(item.duration for item in logits)

    started = time.perf_counter()
    reference = [lm.decode(item, defaults).text for item in logits]
    pyctc_s = time.perf_counter() - started
    rates = error_rates(references, reference)
    report = {
        "machine": machine(),
        "clips": len(items),
        "audio_s": round(audio_s, 1),
        "pyctcdecode": {
            "alpha": defaults.alpha,
            "beta": defaults.beta,
            "beam": defaults.beam_width,
            "ms_per_10s": round(pyctc_s / audio_s * 10_000, 2),
            "wer": round(rates.wer, 4),
            "cer": round(rates.cer, 4),
        },
        "flashlight": [],
    }
    log_probs = [transcriber.vocabulary.log_probs(item) for item in logits]
    # pyctcdecode weighs natural-log acoustic scores against alpha x the LM's log10 score
    # converted to natural log; flashlight's KenLM returns log10 scores as they are.
    weights = args.lm_weights or [defaults.alpha * math.log(10), defaults.alpha, 2 * defaults.alpha]
    scores = args.word_scores or [defaults.beta, 0.0, defaults.beta - 1.0]
    for weight in weights:
        for word_score in scores:
            decode = flashlight_decoder(transcriber, weight, word_score, args.beam)
            decode(log_probs[0])
            started = time.perf_counter()
            texts = [decode(item) for item in log_probs]
            seconds = time.perf_counter() - started
            rates = error_rates(references, texts)
            row = {
                "lm_weight": round(weight, 4),
                "word_score": word_score,
                "ms_per_10s": round(seconds / audio_s * 10_000, 2),
                "wer": round(rates.wer, 4),
                "cer": round(rates.cer, 4),
                "identical_to_pyctcdecode": sum(
                    a == b for a, b in zip(texts, reference, strict=True)
                ),
            }
            log(json.dumps(row))
            report["flashlight"].append(row)
    json.dump(report, sys.stdout, indent=1, ensure_ascii=False)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
