"""The PDF's fonts: Noto Sans (regular and bold, Cyrillic and ₽ included, SIL Open Font License) from
the `pymupdf-fonts` package, which `make dashboard` installs with the other requirements, so a fresh
machine needs no system fonts.

fpdf2 embeds a font from a file path, while the package ships the fonts as compressed bytes inside
Python modules: they are written once per user to `~/.cache/kontur/fonts/` (atomically; a file whose
bytes differ from the package's is replaced, so a stale or tampered copy is never embedded).
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

FAMILY = "NotoSans"
_FILES = {"": ("notos", "NotoSans-Regular.ttf"), "B": ("notosbo", "NotoSans-Bold.ttf")}


@dataclass(frozen=True)
class FontFiles:
    regular: Path
    bold: Path


def font_dir() -> Path:
    return Path.home() / ".cache" / "kontur" / "fonts"


def _materialise(directory: Path, name: str, data: bytes) -> Path:
    path = directory / name
    digest = hashlib.sha256(data).hexdigest()
    if path.exists() and hashlib.sha256(path.read_bytes()).hexdigest() == digest:
        return path
    directory.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{name}.")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, path)  # atomic: a concurrent reader sees the old file or the whole new one
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


@lru_cache(maxsize=4)
def font_files(directory: Path | None = None) -> FontFiles:
    import pymupdf_fonts

    where = directory or font_dir()
    paths = {
        style: _materialise(where, name, pymupdf_fonts.myfont(key)) for style, (key, name) in _FILES.items()
    }
    return FontFiles(regular=paths[""], bold=paths["B"])
