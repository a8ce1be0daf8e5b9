"""`hyasr batch`: a corpus through Ray Data, checked against `hyasr transcribe` and
`hyasr eval` on the bundled demo model and its KenLM.

One local Ray (2 CPUs) serves the module. The audio is the two spoken examples of the
repository and variants of them the reader must convert (FLAC, 44.1 kHz stereo, OGG, a
concatenation), beside a damaged file, an empty one and one over the duration limit.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import soundfile
import soxr

from hyasr_space.batch import BatchOptions, run_batch
from hyasr_space.batch.inputs import AUDIO_SUFFIXES, NOT_FOUND, list_inputs
from hyasr_space.batch.output import OutputDir
from hyasr_space.batch.workers import plan_workers
from hyasr_space.cli import main
from hyasr_space.errors import DatasetError, InvalidRequestError
from hyasr_space.evaluation import evaluate, load_dataset
from hyasr_space.settings import Settings
from hyasr_space.transcriber import Transcriber

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
GOOD = ("hy-heldout-f3.wav", "hy-heldout-m3.wav")
MAX_S = 5.0  # the concatenation (6.9 s) is over it


@pytest.fixture(scope="module")
def local_ray():
    """One local Ray for the module: its start costs seconds, not each test's."""
    ray = pytest.importorskip("ray")
    started = not ray.is_initialized()
    if started:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    if started:
        ray.shutdown()


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder tree of good, converted, damaged, empty and too long audio."""
    root = tmp_path_factory.mktemp("corpus")
    (root / "sub" / "deeper").mkdir(parents=True)
    f3, rate = soundfile.read(EXAMPLES / GOOD[0], dtype="float32")
    m3, _ = soundfile.read(EXAMPLES / GOOD[1], dtype="float32")
    shutil.copy(EXAMPLES / GOOD[0], root / GOOD[0])
    soundfile.write(root / "sub" / "m3.flac", m3, rate)
    loud = soxr.resample(m3, rate, 44100) * 0.5
    soundfile.write(root / "sub" / "m3-44k-stereo.wav", np.stack([loud, loud * 0.8], 1), 44100)
    soundfile.write(root / "sub" / "deeper" / "f3.ogg", f3, rate, format="OGG")
    soundfile.write(root / "both.wav", np.concatenate([f3, m3]), rate)  # 6.9 s: too long
    (root / "broken.wav").write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt garbage" * 4)
    (root / "empty.mp3").write_bytes(b"")
    (root / "notes.txt").write_text("not audio")
    return root


def batch_options(**changes) -> BatchOptions:
    return replace(BatchOptions(model="demo", settings=Settings()), **changes)


def rows(out: Path) -> list[dict]:
    return [row for table in OutputDir(out).read(["id", "identity"]) for row in table.to_pylist()]


def all_rows(out: Path) -> dict[str, dict]:
    table = pq.read_table(out / "parts")
    found = table.to_pylist()
    assert len({row["identity"] for row in found}) == len(found), "an input written twice"
    return {row["id"]: row for row in found}


def transcribe_json(capsys: pytest.CaptureFixture[str], *arguments: str) -> list[dict]:
    """What `hyasr transcribe --format json` prints, run in this process."""
    capsys.readouterr()
    assert main(["transcribe", "--model", "demo", "--format", "json", *arguments]) == 0
    return json.loads(capsys.readouterr().out)


def test_folder_rows_match_hyasr_transcribe(
    local_ray, corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    options = batch_options(max_duration_s=MAX_S, subtitles=("srt", "vtt"), jsonl=True)
    summary = run_batch([str(corpus)], out, options)

    found = all_rows(out)
    expected_ids = {
        GOOD[0], "sub/m3.flac", "sub/m3-44k-stereo.wav", "sub/deeper/f3.ogg",
        "both.wav", "broken.wav", "empty.mp3",
    }  # fmt: skip
    assert set(found) == expected_ids
    assert summary.inputs == summary.written == 7 and summary.skipped == 0
    assert summary.failures == {"AudioTooLongError": 1, "AudioDecodeError": 1, "EmptyAudioError": 1}
    assert "5" in found["both.wav"]["error"] and "both.wav" in found["both.wav"]["error"]
    good = sorted(i for i in expected_ids if not found[i]["error"])
    assert len(good) == 4

    # Every file's text, words and captions as `hyasr transcribe` gives them.
    printed = transcribe_json(capsys, *(str(corpus / name) for name in good))
    for name, expected in zip(good, printed, strict=True):
        row, lm = found[name], expected["decoders"]["lm"]
        assert row["text"] == lm["text"] and row["text"], name
        assert row["duration"] == pytest.approx(expected["duration"], abs=1e-3)
        assert [
            {"word": w["text"], "start": round(w["start"], 3), "end": round(w["end"], 3),
             "confidence": round(w["confidence"], 4)}
            for w in row["words"]
        ] == lm["words"]  # fmt: skip
        assert [
            {k: round(v, 3) if k != "text" else v for k, v in s.items()} for s in row["segments"]
        ] == lm["segments"]
        assert row["model"] == expected["model"] and row["runtime"] == expected["runtime"]
    # The resampled stereo copy is the same speech: the same words come out.
    assert found["sub/m3-44k-stereo.wav"]["text"] == found["sub/m3.flac"]["text"]

    capsys.readouterr()
    assert main(["transcribe", "--model", "demo", "--format", "srt", str(corpus / GOOD[0])]) == 0
    srt = capsys.readouterr().out
    written = (out / "subtitles" / "hy-heldout-f3.srt").read_text(encoding="utf-8")
    assert written.rstrip("\n") == srt.rstrip("\n")  # the CLI strips the last blank line
    assert (out / "subtitles" / "sub" / "deeper" / "f3.vtt").read_text().startswith("WEBVTT")
    assert not (out / "subtitles" / "broken.srt").exists()
    lines = (out / "transcripts.jsonl").read_text(encoding="utf-8").splitlines()
    assert sorted(json.loads(line)["id"] for line in lines) == sorted(expected_ids)
    stored = json.loads((out / "summary.json").read_text())
    assert stored["missing"] == 0 and stored["failed"] == 3


def test_manifest_scores_equal_hyasr_eval(local_ray, tmp_path: Path) -> None:
    """A Common Voice layout (TSV beside clips/): the batch's WER and CER per decoder are
    `hyasr eval`'s; a listed file that is missing is an error row, not a stop."""
    data = tmp_path / "cv"
    (data / "clips").mkdir(parents=True)
    for name in GOOD:
        shutil.copy(EXAMPLES / name, data / "clips" / name)
    reference = (EXAMPLES / "metadata.tsv").read_text(encoding="utf-8")
    (data / "test.tsv").write_text(reference, encoding="utf-8")
    with_missing = data / "with-missing.tsv"
    with_missing.write_text(reference + "gone.wav\tչկա\n", encoding="utf-8")

    summary = run_batch([str(with_missing)], tmp_path / "out", batch_options(decoder="both"))
    transcriber = Transcriber.load("demo", None, Settings())
    report = evaluate(transcriber, load_dataset(data / "test.tsv"), "both", warm_up=False)

    assert summary.failures == {NOT_FOUND: 1} and summary.written == 3
    scores = {score.decoder: score for score in summary.scores}
    assert set(scores) == {"greedy", "lm"}
    for result in report.results:
        assert scores[result.decoder].wer == result.wer
        assert scores[result.decoder].cer == result.cer
        assert scores[result.decoder].utterances == result.utterances == 2
    found = all_rows(tmp_path / "out")
    hypotheses = {item.name: item.hypotheses for item in report.items}
    for name in GOOD:
        transcripts = {t["decoder"]: t["text"] for t in found[name]["transcripts"]}
        assert transcripts == hypotheses[name]


def _audio_struct_table(names: list[str], sentences: list[str]) -> pa.Table:
    audio = [{"bytes": (EXAMPLES / n).read_bytes(), "path": n} for n in names]
    return pa.table(
        {
            "audio": pa.array(audio, pa.struct([("bytes", pa.binary()), ("path", pa.string())])),
            "sentence": sentences,
        }
    )


def test_dataset_inputs(local_ray, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A `save_to_disk` folder (Arrow stream files named in state.json, as the `datasets`
    library writes them) and a Parquet file, both with an Audio column."""
    sentences = ["առաջին", "երկրորդ"]
    table = _audio_struct_table(list(GOOD), sentences)
    saved = tmp_path / "saved"
    saved.mkdir()
    with pa.OSFile(str(saved / "data-00000-of-00001.arrow"), "wb") as sink:
        with pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
    (saved / "state.json").write_text(
        json.dumps({"_data_files": [{"filename": "data-00000-of-00001.arrow"}], "_split": None})
    )
    features = {"audio": {"_type": "Audio", "sampling_rate": 16000}}
    (saved / "dataset_info.json").write_text(json.dumps({"features": features}))
    parquet = tmp_path / "test-00000-of-00001.parquet"
    pq.write_table(table, parquet, row_group_size=1)  # a row group per row

    summary = run_batch([str(saved), str(parquet)], tmp_path / "out", batch_options())
    found = all_rows(tmp_path / "out")
    assert summary.written == 4 and summary.failed == 0
    # The same names in both data sets: each row keeps its name, its identity appended.
    assert sorted(i.split("~")[0] for i in found) == sorted(GOOD * 2)
    printed = transcribe_json(capsys, *(str(EXAMPLES / name) for name in GOOD))
    texts = {item["file"]: item["decoders"]["lm"]["text"] for item in printed}
    for row in found.values():
        assert row["text"] == texts[row["id"].split("~")[0]]
    assert {row["reference"] for row in found.values()} == set(sentences)


def test_resume_after_an_interrupted_run(local_ray, corpus: Path, tmp_path: Path) -> None:
    """A run stopped after its first written batch; the rerun writes only the rest, and
    every input has exactly one row. Other settings on the same DIR are refused."""
    folder = tmp_path / "many"
    folder.mkdir()
    for index in range(8):
        shutil.copy(EXAMPLES / GOOD[index % 2], folder / f"clip-{index}.wav")
    out = tmp_path / "out"

    def stop(done: int, total: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_batch([str(folder)], out, batch_options(), on_rows=stop)
    first = rows(out)
    assert 1 <= len(first) < 8

    summary = run_batch([str(folder)], out, batch_options())
    assert summary.skipped == len(first) and summary.written == 8 and summary.failed == 0
    final = all_rows(out)
    assert sorted(final) == [f"clip-{index}.wav" for index in range(8)]
    again = run_batch([str(folder)], out, batch_options())
    assert again.skipped == 8 and len(rows(out)) == 8
    with pytest.raises(InvalidRequestError, match="other settings.*decoder"):
        run_batch([str(folder)], out, batch_options(decoder="greedy"))


def test_a_killed_acoustic_worker_is_replaced(local_ray, tmp_path: Path) -> None:
    """The acoustic actor's process is killed (SIGKILL) once the first rows are out: Ray
    restarts it, retries its batch, and every input is written exactly once."""
    psutil = pytest.importorskip("psutil")
    folder = tmp_path / "many"
    folder.mkdir()
    for index in range(10):
        shutil.copy(EXAMPLES / GOOD[index % 2], folder / f"clip-{index}.wav")
    killed: list[tuple[int, int]] = []  # (process id, rows written before the kill)

    def kill_once(done: int, total: int) -> None:
        if killed:
            return
        for process in psutil.process_iter(["cmdline"]):
            if "AcousticStage" in " ".join(process.info["cmdline"] or []):
                os.kill(process.pid, signal.SIGKILL)
                killed.append((process.pid, done))

    summary = run_batch([str(folder)], tmp_path / "out", batch_options(), on_rows=kill_once)
    assert killed, "no acoustic worker process was found to kill"
    assert killed[0][1] < 10, "killed after the last row: nothing was left to retry"
    assert summary.written == 10 and summary.failed == 0
    assert sorted(all_rows(tmp_path / "out")) == sorted(f"clip-{i}.wav" for i in range(10))


def test_command_line(local_ray, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`hyasr batch`: the summary on stdout, one line per failed input on stderr, exit
    status 1 while an input failed; a rerun has nothing left to do."""
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(EXAMPLES / GOOD[0], folder / GOOD[0])
    (folder / "broken.flac").write_bytes(b"fLaC not really")
    command = ["batch", str(folder), "--model", "demo", "--decoder", "greedy", "--out"]
    assert main([*command, str(tmp_path / "out")]) == 1
    out, err = capsys.readouterr()
    assert "inputs:     2 (0 already done, 2 this run)" in out
    assert "failed:     1 (AudioDecodeError: 1)" in out
    assert "hyasr: failed: broken.flac: broken.flac" in err
    assert main([*command, str(tmp_path / "out")]) == 1
    assert "inputs:     2 (2 already done, 0 this run)" in capsys.readouterr().out
    assert main([*command, str(tmp_path / "out"), "--beam-width", "7"]) == 2
    assert "other settings (changed: lm)" in capsys.readouterr().err


def test_inputs_listing(corpus: Path, tmp_path: Path) -> None:
    from hyasr_space.web.transcribe_tab import AUDIO_SUFFIXES as APP_SUFFIXES

    assert set(APP_SUFFIXES) <= set(AUDIO_SUFFIXES)
    folder = list_inputs([str(corpus)])
    glob = list_inputs([f"{corpus}/**/*.wav"])
    assert {i.id for i in glob} == {
        f"{corpus}/{n}" for n in (GOOD[0], "both.wav", "broken.wav", "sub/m3-44k-stereo.wav")
    }
    # The same files named twice are one item each.
    assert len(list_inputs([str(corpus), f"{corpus}/**/*.wav"])) == len(folder) == 7
    with pytest.raises(DatasetError, match="does not exist"):
        list_inputs([str(tmp_path / "nothing")])
    manifest = tmp_path / "list.csv"
    manifest.write_text("file,text\nnope.wav,բարև\n", encoding="utf-8")
    (item,) = list_inputs([str(manifest)])
    assert item.error_kind == NOT_FOUND and item.reference == "բարև"
    manifest.write_text("name\nx.wav\n", encoding="utf-8")
    with pytest.raises(DatasetError, match="path column"):
        list_inputs([str(manifest)])
    # A Hub data set needs its split, and says so offline (no test reaches the Hub).
    with pytest.raises(DatasetError, match="--split"):
        list_inputs(["someone/speech"])
    with pytest.raises(DatasetError, match="could not be listed"):
        list_inputs(["someone/speech"], split="test")


def test_worker_plan_from_cluster_resources() -> None:
    two = plan_workers({"CPU": 2.0})
    assert (two.acoustic_workers, two.acoustic_threads, two.decoder_workers) == (1, 2, 1)
    reserved = two.acoustic_workers * two.acoustic_cpus + two.decoder_cpus + two.read_cpus
    assert reserved <= 2.0  # every stage can start on two cores
    gpu = plan_workers({"CPU": 16.0, "GPU": 2.0})
    assert (gpu.acoustic_workers, gpu.acoustic_gpus, gpu.decoder_workers) == (2, 1.0, 13)
    assert gpu.acoustic_batch_rows > 1
    assert plan_workers({"CPU": 16.0, "GPU": 2.0}, device="cpu").acoustic_gpus == 0.0
    big = plan_workers({"CPU": 32.0}, acoustic=2, decoders=3)
    assert (big.acoustic_workers, big.acoustic_threads, big.decoder_workers) == (2, 16, 3)


def test_without_ray_the_command_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import builtins

    real_import = builtins.__import__

    def no_ray(name, *args, **kwargs):
        if name == "ray" or name.startswith("ray."):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_ray)
    for name in [m for m in sys.modules if m == "ray" or m.startswith("ray.")]:
        monkeypatch.delitem(sys.modules, name)
    status = main(["batch", str(EXAMPLES), "--model", "demo", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert status == 2
    assert "pip install 'hyasr-space[batch]'" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()


CLUSTER_SCRIPT = """
import json, sys
from pathlib import Path
from benchmarks.batch import bench_cluster, make_corpus
corpus = Path(sys.argv[1])
make_corpus(corpus, 10)
print(json.dumps(bench_cluster(corpus, "demo", 10)))
"""


@pytest.mark.slow
def test_two_node_cluster_loses_a_node_mid_run(tmp_path: Path) -> None:
    """`ray.cluster_utils.Cluster`: a head and a second node, acoustic actors on both;
    the second node is removed once the first rows are written. The run completes with
    every input exactly once (in its own process: it needs its own Ray)."""
    pytest.importorskip("ray")
    pytest.importorskip("psutil")
    root = Path(__file__).resolve().parent.parent
    path = os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")])
    env = {**os.environ, "PYTHONPATH": path}
    done = subprocess.run(
        [sys.executable, "-c", CLUSTER_SCRIPT, str(tmp_path / "corpus")],
        capture_output=True, text=True, env=env, timeout=400, check=False, cwd=root,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["actor_nodes"]["AcousticStage"] == ["head", "second"]
    assert result["second_node_removed_after_rows"] is not None
    assert result["second_node_removed_after_rows"] < 10
    assert (result["rows"], result["duplicates"], result["failed"]) == (10, 0, 0)
