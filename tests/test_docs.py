"""The documentation stays short where newcomers start, and points only at what exists.

README.md is what a Space visitor and a newcomer read first, so it has a line budget; the
measurements and design notes live in docs/. Every relative link, and every repository
path the pages name in code spans, must resolve in a clone, and no file may refer to
notes outside the repository.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
README_MAX_LINES = 300
# Folders of the repository that pages name in code spans (`hyasr_space/picture.py`);
# build/ is made by the tools and never committed, so it is not checked.
REPO_FOLDERS = ("hyasr_space", "benchmarks", "tools", "tests", "docs", "examples", "data")
# Spelled in pieces so that this file does not match its own check.
FORBIDDEN = ("FACTS" + ".md", "../" + "shared")
# CI's own scripts may name the workplace's folders; nothing else may.
EXEMPT_FOLDERS = (".ci",)

FENCED_CODE = re.compile(r"^(```|~~~).*?^\1", re.S | re.M)
INLINE_CODE = re.compile(r"`[^`\n]+`")
INLINE_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE_LINK = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)", re.M)
EXTERNAL = re.compile(r"^(?:[a-z][a-z0-9+.-]*:|//|#)", re.I)
REPO_PATH = re.compile(r"`((?:" + "|".join(REPO_FOLDERS) + r")/[\w./*-]*)`")


def pages() -> list[Path]:
    return [README, *sorted((ROOT / "docs").glob("*.md"))]


def links(markdown: str) -> list[str]:
    """The targets of a page's inline and reference links, outside code."""
    prose = INLINE_CODE.sub("", FENCED_CODE.sub("", markdown))
    return INLINE_LINK.findall(prose) + REFERENCE_LINK.findall(prose)


def broken_links(page: Path, root: Path = ROOT) -> list[str]:
    """Relative link targets of `page` that are not files or folders inside `root`."""
    broken = []
    for target in links(page.read_text(encoding="utf-8")):
        if EXTERNAL.match(target):
            continue
        path = (page.parent / target.split("#", 1)[0]).resolve()
        if not path.is_relative_to(root) or not path.exists():
            broken.append(target)
    return broken


def repository_files() -> list[Path]:
    """The files a clone holds: git's list (tracked and new, not ignored) when this is a
    checkout, else every file outside hidden and build folders."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return [
            path
            for path in ROOT.rglob("*")
            if path.is_file()
            and not any(
                part.startswith(".") or part in {"build", "__pycache__"}
                for part in path.relative_to(ROOT).parts[:-1]
            )
        ]
    names = [name for name in listed.decode("utf-8").split("\0") if name]
    return [ROOT / name for name in names if (ROOT / name).is_file()]


def test_the_helpers_find_what_they_look_for(tmp_path: Path) -> None:
    """The link and path checks below pass only if they can fail: on a made-up page they
    must find the links, skip code and web addresses, and name the broken ones."""
    page = tmp_path / "page.md"
    page.write_text(
        "See [setup](setup.md#install), [the web](https://example.org), [top](#top),\n"
        '![a picture](pics/a.png "title") and [ref].\n\n[ref]: ../outside.md\n\n'
        "```python\nvalue = table[0](x)\n```\nAnd `[not](a-link.md)` in code.\n",
        encoding="utf-8",
    )
    assert links(page.read_text(encoding="utf-8")) == [
        "setup.md#install",
        "https://example.org",
        "#top",
        "pics/a.png",
        "../outside.md",
    ]
    (tmp_path / "setup.md").write_text("# Setup\n", encoding="utf-8")
    assert broken_links(page, root=tmp_path) == ["pics/a.png", "../outside.md"]
    assert REPO_PATH.findall("`hyasr_space/x.py`, `build/lm`, `benchmarks/results/*.json`") == [
        "hyasr_space/x.py",
        "benchmarks/results/*.json",
    ]


def test_readme_is_a_short_read() -> None:
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_MAX_LINES, (
        f"README.md has {len(lines)} lines; keep it at most {README_MAX_LINES} and move "
        "details to docs/"
    )


@pytest.mark.parametrize("page", pages(), ids=lambda page: page.relative_to(ROOT).as_posix())
def test_every_relative_link_points_to_a_file_that_exists(page: Path) -> None:
    assert broken_links(page) == [], f"{page.relative_to(ROOT)} links to missing files"


@pytest.mark.parametrize("page", pages(), ids=lambda page: page.relative_to(ROOT).as_posix())
def test_every_repository_path_named_in_code_exists(page: Path) -> None:
    prose = FENCED_CODE.sub("", page.read_text(encoding="utf-8"))
    missing = [
        name
        for name in REPO_PATH.findall(prose)
        if not (any(ROOT.glob(name.rstrip("/"))) if "*" in name else (ROOT / name).exists())
    ]
    assert missing == [], f"{page.relative_to(ROOT)} names paths the repository lacks"


def test_readme_links_every_docs_page() -> None:
    """A page nobody links to is a page nobody finds."""
    linked = {
        (README.parent / target.split("#", 1)[0]).resolve()
        for target in links(README.read_text(encoding="utf-8"))
        if not EXTERNAL.match(target)
    }
    for page in pages()[1:]:
        linked |= {
            (page.parent / target.split("#", 1)[0]).resolve()
            for target in links(page.read_text(encoding="utf-8"))
            if not EXTERNAL.match(target)
        }
    orphans = [page.name for page in pages()[1:] if page.resolve() not in linked]
    assert orphans == []


def test_every_setting_is_documented() -> None:
    """Each environment variable settings.py reads has a row in docs/configuration.md."""
    source = (ROOT / "hyasr_space" / "settings.py").read_text(encoding="utf-8")
    documented = (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8")
    variables = set(re.findall(r"\bHYASR_[A-Z0-9_]+", source))
    assert len(variables) > 20, "settings.py should name its environment variables"
    assert sorted(name for name in variables if f"`{name}`" not in documented) == []


def test_every_command_and_option_is_documented() -> None:
    """Each `hyasr` command and each of its long options is named in README.md or
    docs/cli.md, so `--help` is not the only place to learn of it."""
    import argparse

    from hyasr_space.cli import build_parser

    text = README.read_text(encoding="utf-8") + (ROOT / "docs" / "cli.md").read_text(
        encoding="utf-8"
    )
    parser = build_parser()
    commands = next(
        action for action in parser._actions if isinstance(action, argparse._SubParsersAction)
    ).choices
    assert {"transcribe", "align", "stream", "serve", "card", "eval", "tune-lm"} <= set(commands)
    missing = [f"hyasr {name}" for name in commands if f"hyasr {name}" not in text]
    for name, command in commands.items():
        options = {
            option
            for action in command._actions
            for option in action.option_strings
            if option.startswith("--") and option != "--help"
        }
        missing += [
            f"hyasr {name} {option}"
            for option in sorted(options)
            if not re.search(re.escape(option) + r"(?![\w-])", text)
        ]
    assert missing == []


def test_no_file_refers_to_notes_outside_the_repository() -> None:
    """Code and docs cite original sources (papers, repositories, documentation), never
    the workplace's shared notes, which a clone does not have."""
    this_file = Path(__file__).resolve()
    offenders = []
    for path in repository_files():
        relative = path.relative_to(ROOT)
        if path.resolve() == this_file or relative.parts[0] in EXEMPT_FOLDERS:
            continue
        data = path.read_bytes()
        if b"\0" in data[:8192]:  # binary: weights, audio, compressed text
            continue
        text = data.decode("utf-8", errors="replace")
        offenders += [f"{relative}: {word}" for word in FORBIDDEN if word in text]
    assert offenders == []
