"""The Pillow plugin: Image.open reads .ansel files, Image.save writes them."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, UnidentifiedImageError

import ansel


def test_open_decodes_like_ansel_decode(cli, rgb, tmp_path):
    path, pixels = rgb
    out = tmp_path / "x.ansel"
    stream = cli.encode(path, out, "-q", 4)
    with Image.open(out) as im:
        assert im.format == "ANSEL"
        assert im.size == (72, 48)
        assert im.mode == "RGB"
        assert im.info["quality"] == 4.0
        assert np.array_equal(np.asarray(im), ansel.decode(stream))
        assert np.array_equal(np.asarray(im), cli.decode(out, tmp_path / "x.png"))
    # From a file object, whatever its name.
    with Image.open(io.BytesIO(stream)) as im:
        assert np.array_equal(np.asarray(im), ansel.decode(stream))


def test_save_encodes(rgb, tmp_path):
    path, pixels = rgb
    with Image.open(path) as im:
        im.save(tmp_path / "y.ansel", quality=6)
        buf = io.BytesIO()
        im.save(buf, format="ANSEL", target_bpp=1.0)
    assert (tmp_path / "y.ansel").read_bytes() == ansel.encode(pixels, quality=6)
    assert buf.getvalue() == ansel.encode(pixels, target_bpp=1.0)


def test_corrupt_file_is_not_identified(rgb, tmp_path):
    _, pixels = rgb
    stream = ansel.encode(pixels, quality=2)
    bad = tmp_path / "bad.ansel"
    bad.write_bytes(stream[: len(stream) // 2])
    with pytest.raises(UnidentifiedImageError):
        Image.open(bad)
