"""Make the picture's font (`hyasr_space/fonts/`): DejaVu Sans cut down to the letters the
picture writes (Basic Latin, Armenian, a few marks), about 30 KB instead of 740 KB.

The picture (hyasr_space/picture.py) writes Armenian words, and neither Pillow's own font
nor every machine's fonts have Armenian; a font inside the package makes `--plot` and the
page look the same everywhere. DejaVu's licence (Bitstream Vera's, with DejaVu's changes in
the public domain) allows modified copies under a name without "Bitstream" or "Vera"; its
full text goes beside the font. Needs fonttools (dev-only: `pip install fonttools`) and
Debian's fonts-dejavu-core:

    python -m tools.subset_font
"""

from __future__ import annotations

import argparse
from pathlib import Path

SOURCE = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
TARGET = Path(__file__).resolve().parent.parent / "hyasr_space" / "fonts"
FONT_NAME = "DejaVuSans-hy.ttf"
LICENSE_ID = 13  # the OpenType name table's licence description
# Basic Latin, Latin-1 punctuation, Armenian, Armenian ligatures, dashes, ellipsis, arrows.
UNICODES = [
    *range(0x20, 0x7F),
    0xA0, 0xB7, 0xD7,
    *range(0x530, 0x590),
    *range(0xFB13, 0xFB18),
    0x2013, 0x2014, 0x2026, 0x2192, 0x2264, 0x2265,
]  # fmt: skip


def main() -> None:
    from fontTools import subset
    from fontTools.ttLib import TTFont

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=SOURCE)
    parser.add_argument("--out", type=Path, default=TARGET)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    options = subset.Options()
    options.name_IDs = ["*"]  # keep the copyright and licence records
    options.layout_features = ["kern", "liga"]
    options.hinting = False  # FreeType hints small text well enough by itself
    font = TTFont(args.source)
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=UNICODES)
    subsetter.subset(font)
    font.save(args.out / FONT_NAME)
    licence = font["name"].getDebugName(LICENSE_ID)
    (args.out / "LICENSE").write_text(licence.strip() + "\n", encoding="utf-8")
    print(f"{args.out / FONT_NAME}: {(args.out / FONT_NAME).stat().st_size} bytes")


if __name__ == "__main__":
    main()
