"""Shared fixtures: the `ansel` command to compare with, and small test images."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[2]


def find_cli() -> Path:
    """The `ansel` program: $ANSEL_CLI, else the repository's debug or release build."""
    env = os.environ.get("ANSEL_CLI")
    candidates = (
        [Path(env)] if env else [REPO / "target" / p / "ansel" for p in ("debug", "release")]
    )
    for c in candidates:
        if c.is_file() and os.access(c, os.X_OK):
            return c
    pytest.fail(
        "the ansel command was not found (tried "
        + ", ".join(map(str, candidates))
        + "): build it with `cargo build --features cli` or set ANSEL_CLI"
    )


class Cli:
    """Runs the `ansel` command."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def run(self, *args: object, ok: bool = True) -> subprocess.CompletedProcess:
        p = subprocess.run(
            [str(self.path), *map(str, args)],
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
        )
        if ok and p.returncode != 0:
            raise AssertionError(f"ansel {' '.join(map(str, args))} failed: {p.stderr}")
        return p

    def encode(self, image: Path, out: Path, *opts: object) -> bytes:
        self.run("encode", image, "-o", out, *opts)
        return out.read_bytes()

    def decode(self, stream: Path, out: Path) -> np.ndarray:
        self.run("decode", stream, "-o", out)
        with Image.open(out) as im:
            return np.asarray(im.convert("RGB"))

    def info(self, stream: Path) -> dict:
        return json.loads(self.run("info", "--json", stream).stdout)


@pytest.fixture(scope="session")
def cli() -> Cli:
    return Cli(find_cli())


def photo_like(height: int, width: int, seed: int) -> np.ndarray:
    """Smooth colour gradients with texture and an edge: something like a photograph."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    r = 128 + 100 * np.sin(x / (7 + seed)) * np.cos(y / 11)
    g = 60 + 150 * (x + y) / (width + height)
    b = np.where(x > width * 0.6, 200.0, 40.0) + 20 * np.sin(y / 3)
    img = np.stack([r, g, b], axis=2) + rng.normal(0, 6, (height, width, 3))
    return np.clip(img, 0, 255).round().astype(np.uint8)


@pytest.fixture
def rgb(tmp_path: Path) -> "tuple[Path, np.ndarray]":
    """An 8-bit RGB PNG of 72×48 pixels and its pixels."""
    pixels = photo_like(48, 72, seed=1)
    path = tmp_path / "rgb.png"
    Image.fromarray(pixels).save(path)
    return path, pixels
