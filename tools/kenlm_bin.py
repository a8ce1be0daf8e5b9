"""Compile KenLM's ``lmplz`` and ``build_binary`` once, from the ``kenlm`` sdist on PyPI.

Why from PyPI: the ``kenlm==0.3.0`` source distribution (the same version the app pins
for its Python module) carries the whole KenLM source tree, and PyPI is reachable where
GitHub is not. The two programs are cached under ``build/kenlm/`` (``build/`` is
gitignored) and reused on every later run.

Why ``--no-binary kenlm --no-build-isolation``: ``--no-binary :all:`` would also apply to
the sdist's build requirements and make pip compile CMake itself from source (many
minutes) just to read the package metadata; without build isolation pip reads it with the
environment's own setuptools in about a second.

Needs cmake, a C++ compiler and the Boost/compression headers; a missing one becomes one
readable error naming the Debian packages to install.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path

KENLM_VERSION = "0.3.0"
REPO_ROOT = Path(__file__).resolve().parents[1]
KENLM_BUILD = REPO_ROOT / "build" / "kenlm"
MAX_ORDER = 6  # KenLM's default, and what the kenlm Python module is compiled with
PROGRAMS = ("lmplz", "build_binary")
APT_PACKAGES = (
    "cmake g++ libboost-program-options-dev libboost-system-dev libboost-thread-dev "
    "libboost-test-dev zlib1g-dev libbz2-dev liblzma-dev"
)


class KenlmBuildError(RuntimeError):
    """KenLM's programs could not be fetched or compiled."""


@dataclass(frozen=True)
class KenlmPrograms:
    """Paths of the compiled programs and where their source came from."""

    lmplz: Path
    build_binary: Path
    version: str
    sdist_sha256: str


def ensure_kenlm_programs(build_dir: Path = KENLM_BUILD, jobs: int = 2) -> KenlmPrograms:
    """The cached ``lmplz`` and ``build_binary``, compiled first if they are missing."""
    bin_dir = build_dir / "cmake" / "bin"
    sdist = build_dir / "sdist" / f"kenlm-{KENLM_VERSION}.tar.gz"
    if not all((bin_dir / name).is_file() for name in PROGRAMS) or not sdist.is_file():
        _require_tools()
        sdist = _download_sdist(build_dir / "sdist")
        source = _unpack(sdist, build_dir / "src")
        _compile(source, build_dir / "cmake", jobs)
    return KenlmPrograms(
        lmplz=bin_dir / "lmplz",
        build_binary=bin_dir / "build_binary",
        version=KENLM_VERSION,
        sdist_sha256=hashlib.sha256(sdist.read_bytes()).hexdigest(),
    )


def _require_tools() -> None:
    missing = [tool for tool in ("cmake", "g++") if shutil.which(tool) is None]
    if missing:
        raise KenlmBuildError(
            f"{' and '.join(missing)} not found: compiling KenLM needs them "
            f"(Debian/Ubuntu: apt-get install {APT_PACKAGES})"
        )


def _download_sdist(dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", "kenlm",
        "--no-build-isolation", f"kenlm=={KENLM_VERSION}", "-d", str(dest),
    ]  # fmt: skip
    _run(command, "downloading the kenlm sdist from PyPI")
    sdist = dest / f"kenlm-{KENLM_VERSION}.tar.gz"
    if not sdist.is_file():
        raise KenlmBuildError(f"pip did not leave {sdist.name} in {dest}")
    return sdist


def _unpack(sdist: Path, dest: Path) -> Path:
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    with tarfile.open(sdist) as archive:
        archive.extractall(dest, filter="data")
    source = dest / f"kenlm-{KENLM_VERSION}"
    if not (source / "lm" / "builder" / "lmplz_main.cc").is_file():
        raise KenlmBuildError(f"{sdist.name} does not hold KenLM's lmplz source")
    return source


def _compile(source: Path, build: Path, jobs: int) -> None:
    shutil.rmtree(build, ignore_errors=True)
    configure = [
        "cmake", "-S", str(source), "-B", str(build), "-DCMAKE_BUILD_TYPE=Release",
        f"-DKENLM_MAX_ORDER={MAX_ORDER}",
    ]  # fmt: skip
    _run(configure, "configuring KenLM with cmake (are the Boost headers installed?)")
    make = ["cmake", "--build", str(build), "--target", *PROGRAMS, "-j", str(jobs)]
    _run(make, "compiling lmplz and build_binary")


def _run(command: list[str], what: str) -> None:
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).splitlines()[-25:])
        raise KenlmBuildError(
            f"{what} failed (exit {result.returncode}):\n{tail}\n"
            f"KenLM needs (Debian/Ubuntu): apt-get install {APT_PACKAGES}"
        )


if __name__ == "__main__":
    try:
        programs = ensure_kenlm_programs()
    except KenlmBuildError as error:
        raise SystemExit(str(error)) from None
    print(programs.lmplz, programs.build_binary, sep="\n")
