"""ansel.encode / decode / info / Codec against the `ansel` command, and errors as exceptions."""

from __future__ import annotations

import threading
import time
import warnings

import numpy as np
import pytest
from PIL import Image

import ansel
from conftest import REPO, photo_like

CANDIDATE = REPO / "assets" / "candidates" / "m320-6b40629c.anselpkg"


@pytest.mark.parametrize("quality", [1, 3.5, 8])
def test_encode_equals_cli_bytes_and_decode_its_pixels(cli, rgb, tmp_path, quality):
    path, pixels = rgb
    stream = ansel.encode(pixels, quality=quality)
    assert stream == cli.encode(path, tmp_path / "cli.ansel", "-q", quality)
    decoded = ansel.decode(stream)
    assert decoded.shape == pixels.shape and decoded.dtype == np.uint8
    assert np.array_equal(decoded, cli.decode(tmp_path / "cli.ansel", tmp_path / "cli.png"))
    # A lossy codec, but close: the decoded image resembles the input.
    err = np.abs(decoded.astype(int) - pixels.astype(int)).mean()
    assert err < 40


def test_default_quality_and_target_bpp_equal_cli(cli, rgb, tmp_path):
    path, pixels = rgb
    assert ansel.encode(pixels) == cli.encode(path, tmp_path / "a.ansel")
    assert ansel.info(ansel.encode(pixels))["quality"] == ansel.DEFAULT_QUALITY
    stream, quality = ansel.default_codec().encode_with_quality(pixels, target_bpp=1.5)
    assert stream == cli.encode(path, tmp_path / "b.ansel", "--target-bpp", 1.5)
    assert ansel.info(stream)["quality"] == pytest.approx(quality)


def test_pillow_image_and_non_contiguous_arrays_give_the_same_stream(rgb):
    path, pixels = rgb
    with Image.open(path) as im:
        assert ansel.encode(im, quality=4) == ansel.encode(pixels, quality=4)
    # A Fortran-ordered copy and a strided view hold the same pixels.
    assert ansel.encode(np.asfortranarray(pixels), quality=4) == ansel.encode(pixels, quality=4)
    wide = np.zeros((48, 144, 3), np.uint8)
    wide[:, ::2] = pixels
    assert ansel.encode(wide[:, ::2], quality=4) == ansel.encode(pixels, quality=4)


def test_files_are_read_as_the_cli_reads_them(cli, tmp_path):
    pixels = photo_like(40, 56, seed=2)
    grey = tmp_path / "grey.png"
    Image.fromarray(pixels[:, :, 1]).save(grey)
    rgba = tmp_path / "rgba.png"
    alpha = np.full((40, 56, 1), 90, np.uint8)
    Image.fromarray(np.concatenate([pixels, alpha], axis=2)).save(rgba)
    deep = tmp_path / "deep.png"
    Image.fromarray(pixels[:, :, 0].astype(np.uint16) * 257 + 3).save(deep)
    jpeg = tmp_path / "photo.jpg"
    Image.fromarray(pixels).save(jpeg, quality=85)
    for path in (grey, rgba, deep, jpeg):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            stream = ansel.encode_file(path, quality=3)
        assert stream == cli.encode(path, tmp_path / f"{path.stem}.ansel", "-q", 3), path
    with pytest.warns(UserWarning, match="alpha channel dropped"):
        ansel.read_image(rgba)
    with pytest.warns(UserWarning, match="16-bit samples rounded"):
        ansel.read_image(deep)
    # Greyscale is replicated exactly, from a file or from an H×W array.
    assert np.array_equal(ansel.read_image(grey), np.repeat(pixels[:, :, 1:2], 3, axis=2))
    assert ansel.encode(pixels[:, :, 1], quality=3) == ansel.encode_file(grey, quality=3)


def test_info_equals_cli_json(cli, rgb, tmp_path):
    _, pixels = rgb
    stream = ansel.encode(pixels, quality=6)
    path = tmp_path / "x.ansel"
    path.write_bytes(stream)
    expected = cli.info(path)
    del expected["file"]
    got = ansel.info(stream)
    assert got == expected
    assert (got["width"], got["height"], got["quality"]) == (72, 48, 6.0)


def test_info_of_a_stream_with_metadata_equals_cli_json(cli, rgb, tmp_path):
    from PIL import Image, ImageCms

    path, pixels = rgb
    exif = Image.Exif()
    exif[0x0112] = 6
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    tagged = tmp_path / "tagged.png"
    Image.fromarray(pixels).save(tagged, icc_profile=icc, exif=exif.tobytes())
    out = tmp_path / "tagged.ansel"
    stream = cli.encode(tagged, out, "-q", 4)
    expected = cli.info(out)
    del expected["file"]
    got = ansel.info(stream)
    assert got == expected
    assert got["metadata"]["icc"]["bytes"] == len(icc)
    assert got["metadata"]["exif"]["orientation"] == 6
    assert got["metadata"]["xmp"] is None


def test_model_package(rgb, tmp_path):
    _, pixels = rgb
    # The embedded model's own package gives the embedded model's streams.
    same = ansel.Codec(model=REPO / "assets" / "default.anselpkg")
    assert same.model_id == ansel.default_codec().model_id
    assert same.encode(pixels, quality=5) == ansel.encode(pixels, quality=5)
    other = ansel.Codec(model=str(CANDIDATE))
    assert other.model_id != same.model_id
    stream = other.encode(pixels, quality=5)
    assert other.decode(stream).shape == pixels.shape
    with pytest.raises(ansel.WrongModelError, match="was made with model"):
        ansel.decode(stream)


def test_model_package_matches_cli(cli, rgb, tmp_path):
    path, pixels = rgb
    other = ansel.Codec(model=CANDIDATE)
    assert other.encode(pixels, quality=2.5) == cli.encode(
        path, tmp_path / "c.ansel", "-q", 2.5, "--model", CANDIDATE
    )


def test_decode_errors_are_exceptions_with_the_rust_message(cli, rgb, tmp_path):
    _, pixels = rgb
    stream = ansel.encode(pixels, quality=3)
    bad = {
        "truncated": stream[:-5],
        "not_ansel": b"GIF89a not an ansel stream at all",
        "corrupt": stream[:100] + bytes([stream[100] ^ 0x55]) + stream[101:],
        "empty": b"",
    }
    for name, data in bad.items():
        with pytest.raises(ansel.DecodeError) as raised:
            ansel.decode(data)
        assert isinstance(raised.value, ansel.AnselError)
        if data:
            # The command reports the same error, naming the file first.
            f = tmp_path / f"{name}.ansel"
            f.write_bytes(data)
            p = cli.run("decode", f, "-o", tmp_path / f"{name}.png", ok=False)
            assert p.returncode != 0
            assert str(raised.value) in p.stderr, (name, str(raised.value), p.stderr)
        with pytest.raises(ansel.DecodeError):
            ansel.info(data)


def test_argument_errors(rgb, tmp_path):
    _, pixels = rgb
    with pytest.raises(ValueError, match="quality 9 is out of range"):
        ansel.encode(pixels, quality=9)
    with pytest.raises(ValueError, match="quality 0.5 is out of range"):
        ansel.encode(pixels, quality=0.5)
    with pytest.raises(ValueError, match="target rate -1 bpp is out of range"):
        ansel.encode(pixels, target_bpp=-1)
    with pytest.raises(ValueError, match="not both"):
        ansel.encode(pixels, quality=3, target_bpp=1)
    with pytest.raises(TypeError, match="uint8"):
        ansel.encode(pixels.astype(np.float32))
    with pytest.raises(ValueError, match="shape"):
        ansel.encode(np.zeros((4, 4, 2), np.uint8))
    with pytest.raises(ValueError, match="too large|at most|exceeds|limit"):
        ansel.encode(np.zeros((1, 16385, 3), np.uint8))
    with pytest.raises(FileNotFoundError, match="no/such.anselpkg"):
        ansel.Codec(model="no/such.anselpkg")
    junk = tmp_path / "junk.anselpkg"
    junk.write_bytes(b"\x00" * 64)
    with pytest.raises(ansel.ModelError, match="junk.anselpkg"):
        ansel.Codec(model=junk)
    with pytest.raises(ansel.ImageError, match="not an image in a supported format"):
        ansel.read_image(b"hello, world", name="hello.png")
    with pytest.raises(ansel.ImageError, match="empty file"):
        ansel.read_image(b"")


def test_coding_releases_the_gil():
    """The main thread runs Python code while another thread is inside encode and decode."""
    pixels = photo_like(768, 1024, seed=3)
    codec = ansel.Codec()
    spans = []
    stream = codec.encode(pixels[:8, :8], quality=4)  # warm up

    def work():
        t0 = time.perf_counter()
        s = codec.encode(pixels, quality=4)
        t1 = time.perf_counter()
        codec.decode(s)
        t2 = time.perf_counter()
        spans.extend([(t0, t1), (t1, t2)])

    thread = threading.Thread(target=work)
    ticks = []
    thread.start()
    while thread.is_alive():
        ticks.append(time.perf_counter())
    thread.join()
    assert stream
    for t0, t1 in spans:
        margin = (t1 - t0) / 10
        inside = [t for t in ticks if t0 + margin < t < t1 - margin]
        # Holding the GIL, the call would have stopped the loop for its whole duration.
        assert len(inside) > 100, (t1 - t0, len(inside))
