"""Batch compression on a local Ray cluster of two workers, against `ansel encode --out-dir`."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import ansel
from conftest import photo_like

ray = pytest.importorskip("ray")
from ansel import ray as ansel_ray  # noqa: E402


@pytest.fixture(scope="module")
def cluster():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """Four small images of several formats and sizes, and a file that is not an image."""
    d = tmp_path / "in"
    d.mkdir()
    Image.fromarray(photo_like(40, 64, seed=10)).save(d / "a.png")
    Image.fromarray(photo_like(56, 48, seed=11)).save(d / "b.PNG")
    Image.fromarray(photo_like(33, 45, seed=12)[:, :, 0]).save(d / "c.png")
    Image.fromarray(photo_like(48, 48, seed=13)).save(d / "d.jpg", quality=90)
    (d / "notes.txt").write_text("not an image")
    return d


def cli_outputs(cli, folder: Path, out: Path, *opts: object) -> "dict[str, bytes]":
    images = ansel_ray.list_images(str(folder))
    cli.run("encode", *images, "--out-dir", out, *opts)
    return {p.name: p.read_bytes() for p in out.iterdir()}


def outputs(out: Path) -> "dict[str, bytes]":
    return {p.name: p.read_bytes() for p in out.iterdir()}


def test_directory_equals_cli(cluster, cli, folder, tmp_path):
    out = tmp_path / "out"
    report = ansel_ray.compress_directory(str(folder), str(out), quality=3, workers=2)
    assert (report.coded, report.skipped, report.failed, report.workers) == (4, 0, 0, 2)
    expected = cli_outputs(cli, folder, tmp_path / "cli", "-q", 3)
    assert sorted(expected) == ["a.ansel", "b.ansel", "c.ansel", "d.ansel"]
    assert outputs(out) == expected  # no temporary file left either
    assert report.output_bytes == sum(map(len, expected.values()))
    assert report.input_bytes == sum(os.path.getsize(p) for p in ansel_ray.list_images(str(folder)))
    assert report.pixels == 40 * 64 + 56 * 48 + 33 * 45 + 48 * 48
    assert report.images_per_second > 0 and "4 coded" in report.summary()


def test_existing_outputs_are_refused_skipped_or_replaced(cluster, folder, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "b.ansel").write_bytes(b"keep me")
    report = ansel_ray.compress_directory(str(folder), str(out), quality=2, workers=2)
    assert (report.coded, report.failed) == (3, 1)
    [failed] = [r for r in report.results if r.status == "failed"]
    assert failed.input.endswith("b.PNG") and "already exists" in failed.message
    assert (out / "b.ansel").read_bytes() == b"keep me"
    before = outputs(out)

    report = ansel_ray.compress_directory(
        str(folder), str(out), quality=2, workers=2, existing="skip"
    )
    assert (report.coded, report.skipped, report.failed) == (0, 4, 0)
    assert outputs(out) == before

    report = ansel_ray.compress_directory(
        str(folder), str(out), quality=2, workers=1, existing="overwrite"
    )
    assert (report.coded, report.failed, report.workers) == (4, 0, 1)
    assert (out / "b.ansel").read_bytes() == ansel.encode_file(folder / "b.PNG", quality=2)
    assert sorted(outputs(out)) == ["a.ansel", "b.ansel", "c.ansel", "d.ansel"]


def test_bad_inputs_fail_alone(cluster, folder, tmp_path):
    (folder / "e.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    out = tmp_path / "out"
    report = ansel_ray.compress_directory(str(folder), str(out), workers=2)
    assert (report.coded, report.failed) == (4, 1)
    [failed] = [r for r in report.results if r.status == "failed"]
    assert "e.png" in failed.message and "cannot decode the PNG image" in failed.message
    assert not (out / "e.ansel").exists()
    # Outputs that would collide are refused before any work.
    Image.fromarray(photo_like(8, 8, seed=1)).save(folder / "a.bmp")
    with pytest.raises(ValueError, match="would both be written"):
        ansel_ray.compress_directory(str(folder), str(tmp_path / "out2"), workers=2)
    assert not (tmp_path / "out2").exists()
    with pytest.raises(ValueError, match="out of range"):
        ansel_ray.compress_directory(str(folder), str(tmp_path / "out3"), quality=0)


def test_dataset_of_files_and_of_arrays_equals_cli(cluster, cli, folder, tmp_path):
    pytest.importorskip("ray.data")
    import ray.data

    expected = cli_outputs(cli, folder, tmp_path / "cli", "--target-bpp", 1.2)
    files = ray.data.read_binary_files(ansel_ray.list_images(str(folder)), include_paths=True)
    out = tmp_path / "files"
    report = ansel_ray.compress_dataset(files, str(out), target_bpp=1.2, workers=2)
    assert (report.coded, report.failed) == (4, 0)
    assert outputs(out) == expected

    # Pixels decoded by Pillow: the same as the command's for 8-bit RGB files.
    rgb_pngs = [str(folder / "a.png"), str(folder / "b.PNG")]
    arrays = ray.data.read_images(rgb_pngs, include_paths=True, mode="RGB")
    out = tmp_path / "arrays"
    report = ansel_ray.compress_dataset(arrays, str(out), target_bpp=1.2, workers=2)
    assert (report.coded, report.failed) == (2, 0)
    assert outputs(out) == {k: v for k, v in expected.items() if k in ("a.ansel", "b.ansel")}
    assert report.results[0].warnings == []


def test_command_line(cluster, cli, folder, tmp_path, capsys):
    out = tmp_path / "out"
    # `ray.init` is already done here; main joins that cluster.
    assert ansel_ray.main([str(folder), str(out), "-q", "4", "--workers", "2"]) == 0
    assert "4 coded, 0 skipped, 0 failed" in capsys.readouterr().out
    assert outputs(out) == cli_outputs(cli, folder, tmp_path / "cli", "-q", 4)
    assert ansel_ray.main([str(folder), str(out), "-q", "4"]) == 1
    assert "already exists" in capsys.readouterr().err
    assert np.array_equal(
        ansel.decode((out / "a.ansel").read_bytes()),
        cli.decode(out / "a.ansel", tmp_path / "a.png"),
    )


def test_write_atomic(tmp_path):
    target = tmp_path / "x.ansel"
    ansel_ray.write_atomic(str(target), b"one")
    with pytest.raises(FileExistsError, match="already exists"):
        ansel_ray.write_atomic(str(target), b"two")
    assert target.read_bytes() == b"one"
    ansel_ray.write_atomic(str(target), b"three", overwrite=True)
    assert target.read_bytes() == b"three"
    with pytest.raises(FileNotFoundError):
        ansel_ray.write_atomic(str(tmp_path / "missing" / "y.ansel"), b"four")
    # No temporary file is left behind, and the output has the usual permissions.
    assert [p.name for p in tmp_path.iterdir()] == ["x.ansel"]
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask
