"""The model-card viewer against a fake Hub that the real huggingface_hub client talks to.

tests/hub_server.py serves the Hub's routes on 127.0.0.1; huggingface_hub reads
HF_ENDPOINT, HF_HUB_OFFLINE and the cache path once at import, so the fixture patches
``huggingface_hub.constants`` instead of the environment. tests/data/seed_repo is the
seed model's repo in miniature (see its SOURCES.md).
"""

from __future__ import annotations

import io
import json
import shutil
import time
from pathlib import Path

import pytest
from huggingface_hub import constants, hf_hub_download

from hyasr_space import card
from hyasr_space.card import metrics_table, training_curve
from hyasr_space.cli import main
from hyasr_space.cli.card import card_command
from hyasr_space.runtime import caches
from hyasr_space.settings import PACKAGE_DIR, Settings


def load_card_report(*args, **kwargs):
    """The library reads no environment: the settings come from it here, as the app's."""
    return card.load_card_report(*args, settings=Settings.from_env(), **kwargs)


try:  # tests/ as a package (tests/__init__.py) or as rootdir-inserted plain modules
    from .hub_server import FakeHub, point_client_at
except ImportError:
    from hub_server import FakeHub, point_client_at

DATA = Path(__file__).parent / "data"
SEED_REPO = DATA / "seed_repo"
SEED_README = (SEED_REPO / "README.md").read_text(encoding="utf-8")
REPO = "arampacha/wav2vec2-xls-r-1b-hy-cv"
TXT_RESULTS = "mozilla-foundation_common_voice_8_0_hy-AM_test_eval_results.txt"
PACKAGE_DEMO = PACKAGE_DIR / "demo_model"


@pytest.fixture
def hub(tmp_path, monkeypatch):
    """A fake Hub serving nothing yet, with the client pointed at it and caches in tmp."""
    server = FakeHub().start()
    point_client_at(server, monkeypatch, tmp_path / "hf-cache")
    monkeypatch.setenv("HYASR_CACHE_DIR", str(tmp_path / "hyasr-cache"))
    caches.clear()
    yield server
    server.stop()
    caches.clear()


@pytest.fixture
def seed_hub(hub):
    hub.add_dir(REPO, SEED_REPO)
    hub.remove_file(REPO, "SOURCES.md")
    return hub


@pytest.fixture
def offline(monkeypatch):
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)


def find(report, name):
    matches = [m for m in report.metrics if m.name == name]
    assert len(matches) == 1, [m.name for m in report.metrics]
    return matches[0]


def table_values(report) -> dict[str, str]:
    frame = metrics_table(report)
    return dict(zip(frame["metric"], frame["value"], strict=True))


def model_index_card(value: float, *, extra_metadata: str = "", body: str = "# Card\n") -> str:
    return (
        "---\n"
        "license: apache-2.0\n"
        f"{extra_metadata}"
        "model-index:\n"
        "- name: m\n"
        "  results:\n"
        "  - task: {type: automatic-speech-recognition}\n"
        "    dataset: {type: mozilla-foundation/common_voice_8_0, name: CV hy, split: test}\n"
        "    metrics:\n"
        f"    - {{type: wer, value: {value}, name: Test WER}}\n"
        "---\n" + body
    )


# --------------------------------------------------------------------- served metrics


def test_seed_repo_figures_are_labelled_by_split_and_decoder(seed_hub):
    report = load_card_report(REPO)

    assert report.source == card.SOURCE_HUB
    assert report.commit == seed_hub.commit(REPO)
    lm = find(report, "WER LM")
    assert (lm.value, lm.split, lm.decoder) == (pytest.approx(0.27557, abs=1e-5), "test", "LM")
    assert TXT_RESULTS in lm.source_file and "model-index" in lm.source_file
    greedy = find(report, "eval_wer")
    assert (greedy.value, greedy.split, greedy.decoder) == (0.5141, "validation", "greedy")
    assert "all_results.json" in greedy.source_file and "inferred" in greedy.note
    # The same figure from two JSON files and the card text is one row, not three.
    assert sum(1 for m in report.metrics if m.value == pytest.approx(0.5141)) == 1
    assert any("Not a like-for-like comparison" in w and "WER" in w for w in report.warnings)
    assert table_values(report)["WER LM"] == "0.2756"


def test_training_curve_has_the_cards_fourteen_evaluations(seed_hub):
    report = load_card_report(REPO)

    steps = [point.step for point in report.training_curve]
    assert steps == list(range(100, 1500, 100))
    assert report.training_curve[0].wer == 1.0
    assert report.training_curve[-1].wer == 0.4614
    assert report.training_curve[4].validation_loss == 0.4521
    curve = training_curve(report)
    assert len(curve) == 28
    assert set(curve["series"]) == {"validation WER", "validation CER"}
    assert "## Training procedure" in report.card_markdown
    assert "model-index" not in report.card_markdown  # front matter stripped


def change_the_seed_card(hub: FakeHub) -> None:
    """What the card's author might push: other figures, so a new commit."""
    for name in ("all_results.json", "eval_results.json"):
        data = json.loads((SEED_REPO / name).read_text())
        data["eval_wer"] = 0.4321
        hub.set_file(REPO, name, json.dumps(data))
    hub.set_file(REPO, "README.md", SEED_README.replace("0.2755659640905542", "0.2001"))


def test_a_changed_card_shows_once_the_hub_is_asked_again(seed_hub):
    first = load_card_report(REPO)
    assert table_values(first)["eval_wer"] == "0.5141"
    change_the_seed_card(seed_hub)
    seed_hub.clear_log()

    cached = load_card_report(REPO)  # confirmed a moment ago: no question to the Hub
    assert table_values(cached)["eval_wer"] == "0.5141"
    assert seed_hub.repo_requests() == []

    report = load_card_report(REPO, max_age_s=0)  # as once HYASR_CARD_MAX_AGE_S has passed
    values = table_values(report)
    assert values["eval_wer"] == "0.4321"
    assert values["WER LM"] == "0.2001"
    # The card text still says 0.5141 / Wer+LM 0.2756; they no longer match a file, so
    # they stay visible as separate figures from the card text.
    assert values["Wer"] == "0.5141"
    assert seed_hub.repo_requests()[0] == ("GET", f"/api/models/{REPO}")
    assert report.commit == seed_hub.commit(REPO) != first.commit
    assert report.source == card.SOURCE_HUB and report.fetched_at and report.checked_at


def test_a_new_process_shows_the_changed_card_without_refresh(seed_hub):
    """`hyasr card` twice, the author's change in between (the issue as reported)."""

    def run_card_cli() -> dict:
        caches.clear()  # each `hyasr card` is a new process
        out = io.StringIO()
        assert card_command(REPO, "json", out) == 0
        return json.loads(out.getvalue())

    assert {m["name"]: m["value"] for m in run_card_cli()["metrics"]}["eval_wer"] == 0.5141
    change_the_seed_card(seed_hub)
    second = run_card_cli()
    assert {m["name"]: m["value"] for m in second["metrics"]}["eval_wer"] == 0.4321
    assert second["commit"] == seed_hub.commit(REPO) and second["source"] == card.SOURCE_HUB


def test_an_unchanged_card_costs_one_question_and_no_download(seed_hub):
    fetched = load_card_report(REPO)
    caches.clear()
    seed_hub.clear_log()

    report = load_card_report(REPO)
    assert seed_hub.repo_requests() == [("GET", f"/api/models/{REPO}")]  # nothing downloaded
    assert report.source == card.SOURCE_HUB and report.commit == fetched.commit
    assert report.fetched_at == fetched.fetched_at and report.checked_at >= fetched.checked_at
    assert f"commit {fetched.commit[:12]}" in card.describe_source(report)
    assert find(report, "eval_wer").value == 0.5141


def test_refresh_asks_the_hub_at_once(seed_hub):
    load_card_report(REPO)
    seed_hub.clear_log()
    assert load_card_report(REPO, refresh=True).source == card.SOURCE_HUB
    assert seed_hub.repo_requests()[0] == ("GET", f"/api/models/{REPO}")


def test_revision_is_passed_to_the_hub(seed_hub):
    report = load_card_report(REPO, revision="main")

    assert report.source == card.SOURCE_HUB
    assert ("GET", f"/api/models/{REPO}/revision/main") in seed_hub.repo_requests()


def test_file_listing_falls_back_to_list_repo_files(seed_hub):
    seed_hub.include_siblings = False
    report = load_card_report(REPO)

    assert any(path.startswith(f"/api/models/{REPO}/tree/") for _, path in seed_hub.repo_requests())
    assert find(report, "eval_wer").split == "validation"


# --------------------------------------------------------------------- cache and offline


def test_the_disk_cache_serves_a_new_process_when_the_hub_is_down(seed_hub):
    load_card_report(REPO)
    caches.clear()  # as a new process would start
    seed_hub.fail_with = 503
    seed_hub.clear_log()

    report = load_card_report(REPO)
    assert report.source == card.SOURCE_DISK_CACHE
    assert seed_hub.repo_requests() == [("GET", f"/api/models/{REPO}")]
    assert find(report, "eval_wer").value == 0.5141
    assert any("last confirmed on the Hub" in w for w in report.warnings)
    seed_hub.clear_log()
    load_card_report(REPO)  # the Hub is not asked again on every page view
    assert seed_hub.repo_requests() == []


def test_hub_outage_falls_back_to_the_cache_without_retrying(seed_hub):
    load_card_report(REPO)
    seed_hub.fail_with = 503  # a status huggingface_hub retries on when it retries at all
    seed_hub.clear_log()

    report = load_card_report(REPO, refresh=True)

    assert report.source == card.SOURCE_DISK_CACHE
    assert any("Could not reach the Hub" in w for w in report.warnings)
    assert seed_hub.repo_requests() == [("GET", f"/api/models/{REPO}")]  # one try, no retry
    assert find(report, "WER LM").split == "test"


def test_closed_port_falls_back_quickly(seed_hub):
    load_card_report(REPO)
    seed_hub.stop()

    started = time.monotonic()
    report = load_card_report(REPO, refresh=True)
    # A functional bound, not a benchmark: the client's own retry would take ~23 s.
    assert time.monotonic() - started < 5
    assert report.source == card.SOURCE_DISK_CACHE
    assert any("Could not reach the Hub" in w for w in report.warnings)


def test_offline_mode_is_read_at_call_time_and_asks_nothing(seed_hub, offline):
    report = load_card_report(REPO, refresh=True)

    assert seed_hub.requests == []
    assert report.source == card.SOURCE_UNAVAILABLE
    assert "HF_HUB_OFFLINE" in report.warnings[0]
    out = io.StringIO()
    assert card_command(REPO, "text", out) == 1
    assert "unavailable" in out.getvalue()


def test_offline_uses_cards_already_in_the_hugging_face_cache(seed_hub, monkeypatch):
    # The model loader downloaded the repo earlier; our own card cache is empty.
    for name in ("README.md", "all_results.json", TXT_RESULTS, "language_model/attrs.json"):
        hf_hub_download(REPO, name)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    seed_hub.clear_log()

    report = load_card_report(REPO)

    assert seed_hub.requests == []
    assert report.source == card.SOURCE_HF_CACHE
    assert report.commit == seed_hub.commit(REPO)
    assert find(report, "WER LM").decoder == "LM"
    assert find(report, "eval_wer").split == "validation"


# --------------------------------------------------------------------- degraded cards


def test_card_without_model_index_keeps_result_file_figures(hub):
    hub.set_file(REPO, "README.md", "---\nlicense: apache-2.0\n---\n# A card\n")
    hub.set_file(REPO, "eval_results.json", json.dumps({"eval_wer": 0.61, "eval_loss": 0.9}))

    report = load_card_report(REPO)

    assert any("no model-index" in w for w in report.warnings)
    assert table_values(report) == {"eval_wer": "0.6100", "eval_loss": "0.9000"}
    assert find(report, "eval_wer").decoder == "greedy"
    assert report.card_markdown.strip() == "# A card"


def test_malformed_yaml_keeps_the_card_text(hub):
    hub.set_file(REPO, "README.md", "---\nlicense: [apache\ntags: {\n---\n# Still a card\n")

    report = load_card_report(REPO)

    assert report.source == card.SOURCE_HUB
    assert any("metadata is malformed" in w for w in report.warnings)
    assert "# Still a card" in report.card_markdown
    assert report.metrics == ()


def test_malformed_model_index_entry_is_skipped_not_fatal(hub):
    text = model_index_card(0.3).replace(
        "---\n# Card",
        "  - task: {type: automatic-speech-recognition}\n"
        "    metrics: [{type: wer, value: 0.9}]\n"  # no dataset: invalid
        "---\n# Card",
    )
    hub.set_file(REPO, "README.md", text)

    report = load_card_report(REPO)

    assert any("model-index is malformed" in w and "1 skipped" in w for w in report.warnings)
    metric = find(report, "Test WER")
    assert (metric.value, metric.split) == (0.3, "test")
    assert "stated in model-index" in metric.note


def test_repo_without_result_files_shows_the_cards_own_figures(hub):
    hub.set_file(REPO, "README.md", SEED_README)

    report = load_card_report(REPO)

    assert any("No result files" in w for w in report.warnings)
    greedy = find(report, "Wer")  # from the card text
    assert (greedy.value, greedy.split, greedy.decoder) == (0.5141, "validation", "greedy")
    lm = find(report, "WER LM")
    assert (lm.split, lm.decoder) == ("test", "LM")
    assert "Robust Speech Event" in lm.note  # inferred, and says from what
    assert any("Not a like-for-like" in w for w in report.warnings)


def test_unstated_split_is_flagged(hub):
    hub.set_file(REPO, "README.md", model_index_card(0.3).replace(", split: test", ""))
    report = load_card_report(REPO)

    metric = find(report, "Test WER")  # the name still says "test"
    assert metric.split == "test" and "metric name" in metric.note
    hub.set_file(
        REPO,
        "README.md",
        model_index_card(0.3).replace(", split: test", "").replace("name: Test WER", "name: WER"),
    )
    report = load_card_report(REPO, refresh=True)
    assert find(report, "WER").split == "not stated"
    assert any("is not stated" in w for w in report.warnings)


def test_unknown_repo_and_bad_ref_are_unavailable(hub):
    assert load_card_report("someone/missing").source == card.SOURCE_UNAVAILABLE
    report = load_card_report("/no/such/dir")
    assert report.source == card.SOURCE_UNAVAILABLE
    assert "neither a local directory nor a Hub repo id" in report.warnings[0]


# --------------------------------------------------------------------- local and bundled


def test_local_directory_works_offline(tmp_path, hub, offline):
    model_dir = tmp_path / "model"
    shutil.copytree(SEED_REPO, model_dir)

    report = load_card_report(model_dir)

    assert hub.requests == []
    assert report.source == card.SOURCE_LOCAL_DIR
    assert find(report, "WER LM").split == "test"
    assert len(report.training_curve) == 14


@pytest.mark.skipif(
    not (PACKAGE_DEMO / "README.md").is_file(), reason="bundled demo model not built yet"
)
def test_bundled_demo_model_card_offline(hub, offline):
    report = load_card_report(PACKAGE_DEMO)

    assert hub.requests == []
    assert report.source == card.SOURCE_BUNDLED
    assert report.card_markdown.strip()
    assert report.metrics, "the demo model's README has a model-index"
    assert not any("malformed" in w for w in report.warnings)


def test_a_card_inside_the_package_is_labelled_bundled(tmp_path, hub, offline, monkeypatch):
    # Stands in for hyasr_space/demo_model/ until the lead's bundled model exists.
    monkeypatch.setattr(card.fetch, "PACKAGE_DIR", tmp_path.resolve())
    demo = tmp_path / "demo_model"
    demo.mkdir()
    (demo / "README.md").write_text(
        model_index_card(0.42, extra_metadata="tags: [demo]\n", body="# Demo model\n"),
        encoding="utf-8",
    )

    report = load_card_report(demo)

    assert hub.requests == []
    assert report.source == card.SOURCE_BUNDLED
    metric = find(report, "Test WER")
    assert (metric.value, metric.split, metric.dataset) == (
        0.42,
        "test",
        "mozilla-foundation/common_voice_8_0",
    )
    assert report.card_markdown.strip() == "# Demo model"


def test_card_tab_shows_a_local_card_without_network(tmp_path, hub, offline):
    gr = pytest.importorskip("gradio")
    from hyasr_space.web.card_tab import build_card_tab

    model_dir = tmp_path / "model"
    shutil.copytree(SEED_REPO, model_dir)
    with gr.Blocks():
        with gr.Tabs():
            tab = build_card_tab(lambda: model_dir)

    status, metrics, curve, body = tab.load()
    assert "local directory" in status and "Not a like-for-like" in status
    assert list(metrics.columns) == list(card.METRIC_COLUMNS)
    row = metrics.set_index("metric").loc["eval_wer"]
    assert (row["value"], row["split"], row["decoder"]) == ("0.5141", "validation", "greedy")
    assert len(curve["value"]) == 28 and curve["visible"]
    assert "Training results" in body
    assert hub.requests == []
    assert len(tab.outputs) == 4
    # What Gradio sends to the browser accepts these values.
    assert tab.curve.postprocess(curve["value"]).datatypes["step"] == "quantitative"
    assert tab.metrics.postprocess(metrics).headers == list(card.METRIC_COLUMNS)

    with gr.Blocks():
        broken = build_card_tab(lambda: (_ for _ in ()).throw(RuntimeError("no model yet")))
    status, metrics, curve, body = broken.load()
    assert "no model yet" in status and metrics.empty and curve["value"].empty
    assert curve["visible"] is False


# --------------------------------------------------------------------- CLI


def test_cli_prints_the_same_metrics_as_text_and_json(seed_hub, capsys):
    assert main(["card", "--format", "json"]) == 0  # the default model is the seed repo
    data = json.loads(capsys.readouterr().out)
    rows = {m["name"]: m for m in data["metrics"]}
    assert (rows["WER LM"]["split"], rows["WER LM"]["decoder"]) == ("test", "LM")
    assert (rows["eval_wer"]["split"], rows["eval_wer"]["value"]) == ("validation", 0.5141)
    assert len(data["training_curve"]) == 14

    text = io.StringIO()
    assert card_command(REPO, "text", text) == 0
    lines = text.getvalue().splitlines()
    wer_line = next(line for line in lines if line.startswith("eval_wer "))
    assert "0.5141" in wer_line and "validation" in wer_line and "greedy" in wer_line
    assert any("Not a like-for-like" in line for line in lines)


@pytest.mark.skipif(
    not (PACKAGE_DEMO / "README.md").is_file(), reason="bundled demo model not built yet"
)
def test_card_tab_hides_the_chart_of_a_model_without_a_training_log(hub, offline):
    gr = pytest.importorskip("gradio")
    from hyasr_space.web.card_tab import build_card_tab

    with gr.Blocks():
        tab = build_card_tab(lambda: PACKAGE_DEMO)
    assert tab.curve.visible is False  # nothing to chart before the card is shown
    status, metrics, curve, body = tab.load()
    assert not metrics.empty and body.strip()
    assert curve["value"].empty and curve["visible"] is False
