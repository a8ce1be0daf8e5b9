"""The files a Space and a fresh clone rely on say what the code does."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def front_matter() -> dict[str, str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    match = re.match(r"---\n(.*?)\n---\n", text, re.S)
    assert match, "README.md must start with the Space's YAML front matter"
    fields = {}
    for line in match.group(1).splitlines():
        key, _, value = line.partition(":")
        if not line.startswith(" ") and value.strip():
            fields[key] = value.strip().strip('"')
    return fields


def quick_start_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```bash\n(.*?)```", section, re.S)
    return [block.strip() for block in blocks]


def test_space_front_matter() -> None:
    fields = front_matter()
    assert fields["sdk"] == "gradio"
    assert re.fullmatch(r"6\.\d+\.\d+", fields["sdk_version"])
    assert fields["app_file"] == "app.py" and (ROOT / "app.py").is_file()
    assert tuple(map(int, fields["python_version"].split("."))) >= (3, 11)
    assert fields["license"] == "apache-2.0"
    assert 0 < len(fields["short_description"]) <= 60
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "models:\n  - arampacha/wav2vec2-xls-r-1b-hy-cv" in text


def test_readme_has_two_one_line_commands_and_ci_runs_the_test_one() -> None:
    serve, test = quick_start_commands()
    assert "\n" not in serve and "\n" not in test
    for command in (serve, test):
        assert command.startswith("python3 -m venv .venv && .venv/bin/pip install torch==2.13.0 &&")
    assert serve.endswith(
        ".venv/bin/pip install -r requirements.txt -e . && .venv/bin/python app.py"
    )
    assert test.endswith("-r requirements-dev.txt -e . && .venv/bin/python -m pytest")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert f"\n{test} || status=$?\n" in ci


def test_requirements_match_the_package() -> None:
    def names(lines: list[str]) -> set[str]:
        return {re.split(r"[<>=!~ ]", line.strip())[0].lower().replace("_", "-")
                for line in lines if line.strip() and not line.startswith("#")}  # fmt: skip

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    required = (ROOT / "requirements.txt").read_text().splitlines()
    assert names(project["dependencies"]) <= names(required)
    assert project["scripts"]["hyasr"] == "hyasr_space.cli:main"
    packages = (ROOT / "packages.txt").read_text().split()
    assert "ffmpeg" in packages and "cmake" in packages


def test_app_imports_spaces_before_anything_that_imports_torch() -> None:
    lines = (ROOT / "app.py").read_text().splitlines()
    first_import = next(i for i, line in enumerate(lines) if re.match(r"\s*(import|from) ", line))
    assert lines[first_import].strip() == "import spaces  # noqa: F401"


def test_the_package_imports_without_torch_or_gradio() -> None:
    """The result types, decoders, subtitles and the CLI's parser stay light: torch and
    transformers load with the model, Gradio with the app (and on ZeroGPU, `spaces` must be
    imported before torch)."""
    import subprocess
    import sys

    check = (
        "import sys, hyasr_space, hyasr_space.cli, hyasr_space.subtitles, hyasr_space.card;"
        "heavy = {'torch', 'transformers', 'gradio'} & set(sys.modules);"
        "assert not heavy, heavy"
    )
    done = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_a_clone_needs_nothing_beside_it() -> None:
    """No code reads the shared folder beside a checkout; the text the tools need is in
    data/hy-text, compressed, with the checksums its SOURCES.md states."""
    import hashlib
    import lzma

    beside = "../" + "shared"  # spelled so that this file does not match itself
    for folder in ("hyasr_space", "tools", "benchmarks", "tests"):
        for path in (ROOT / folder).rglob("*.py"):
            assert beside not in path.read_text(encoding="utf-8"), path
    sources = (ROOT / "data" / "hy-text" / "SOURCES.md").read_text(encoding="utf-8")
    packed = sorted((ROOT / "data" / "hy-text").glob("*.txt.xz"))
    assert len(packed) == 4
    for path in packed:
        digest = hashlib.sha256(lzma.decompress(path.read_bytes())).hexdigest()
        assert f"| {path.name} |" in sources and digest in sources, path.name
