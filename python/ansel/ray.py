"""Batch compression on a Ray cluster.

:func:`compress_directory` compresses the images of a directory, :func:`compress_dataset` the
rows of a Ray Dataset, across Ray workers, each holding one codec. Every output is named as
``ansel encode --out-dir`` names it (the input's name with extension ``.ansel``) and holds the
same bytes the command writes for the same image and quality. Outputs are written to a
temporary file in the output directory and renamed, so an interrupted job leaves no partial
file. An existing output is refused by default, as the command refuses it without
``--force``: that image is reported as failed and the others are still coded
(``existing="skip"`` skips it, ``existing="overwrite"`` replaces it).

On a cluster of several machines, the input and output directories must be on a file system
every worker sees. From the shell::

    python -m ansel.ray photos/ compressed/ --quality 5 --workers 2
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Optional

import ray
from ray.util import ActorPool

from . import Codec, _ansel, to_array

#: File extensions (lower case) taken for images, as ``ansel::image_io::list_images``.
IMAGE_EXTENSIONS = ("png", "jpg", "jpeg", "ppm", "bmp", "tif", "tiff", "webp")

#: What to do with an output that exists already.
EXISTING_POLICIES = ("refuse", "skip", "overwrite")


@dataclass
class Result:
    """What became of one input."""

    input: str
    output: str
    #: ``"ok"``, ``"skipped"`` (output existed, ``existing="skip"``) or ``"failed"``.
    status: str
    #: Bytes of the input file (0 for an array row of a dataset).
    input_bytes: int = 0
    #: Bytes of the ``.ansel`` stream written.
    output_bytes: int = 0
    width: int = 0
    height: int = 0
    quality: float = 0.0
    #: Why it failed, or what the conversion to 8-bit RGB lost.
    message: str = ""
    warnings: List[str] = field(default_factory=list)


@dataclass
class Report:
    """Counts, bytes and throughput of a batch job."""

    results: List[Result]
    #: Wall-clock time of the whole job, starting the workers included.
    seconds: float
    workers: int
    #: Of which starting the workers and loading their codecs (``None`` when not measured
    #: apart, as for a dataset, whose workers start while it streams).
    startup_seconds: Optional[float] = None

    def _with(self, status: str) -> List[Result]:
        return [r for r in self.results if r.status == status]

    @property
    def coded(self) -> int:
        """Images compressed and written."""
        return len(self._with("ok"))

    @property
    def skipped(self) -> int:
        """Images whose output existed and was kept (``existing="skip"``)."""
        return len(self._with("skipped"))

    @property
    def failed(self) -> int:
        """Images that failed (unreadable, or output existed with ``existing="refuse"``)."""
        return len(self._with("failed"))

    @property
    def input_bytes(self) -> int:
        """Bytes of the input files coded."""
        return sum(r.input_bytes for r in self._with("ok"))

    @property
    def output_bytes(self) -> int:
        """Bytes of the streams written."""
        return sum(r.output_bytes for r in self._with("ok"))

    @property
    def pixels(self) -> int:
        """Pixels coded."""
        return sum(r.width * r.height for r in self._with("ok"))

    @property
    def images_per_second(self) -> float:
        """Images coded per second of wall-clock time."""
        return self.coded / self.seconds if self.seconds > 0 else 0.0

    @property
    def megabytes_per_second(self) -> float:
        """Uncompressed RGB (3 bytes a pixel) megabytes (10⁶ bytes) coded per second."""
        return 3 * self.pixels / 1e6 / self.seconds if self.seconds > 0 else 0.0

    def summary(self) -> str:
        """One line: counts, bytes, throughput."""
        bpp = 8 * self.output_bytes / self.pixels if self.pixels else 0.0
        return (
            f"{self.coded} coded, {self.skipped} skipped, {self.failed} failed on "
            f"{self.workers} worker(s) in {self.seconds:.2f} s: {self.input_bytes} bytes in, "
            f"{self.output_bytes} bytes out ({bpp:.4f} bpp); {self.images_per_second:.3f} "
            f"images/s, {self.megabytes_per_second:.3f} MB/s of RGB pixels"
            + (
                ""
                if self.startup_seconds is None
                else f" (starting the workers: {self.startup_seconds:.2f} s)"
            )
        )


def list_images(directory: str) -> List[str]:
    """The image files of ``directory`` (by extension, any case), in name order."""
    paths = []
    for entry in os.scandir(directory):
        ext = os.path.splitext(entry.name)[1][1:].lower()
        if ext in IMAGE_EXTENSIONS and entry.is_file():
            paths.append(entry.path)
    return sorted(paths)


def output_path(input_name: str, output_dir: str) -> str:
    """Where ``ansel encode --out-dir output_dir`` writes the stream of ``input_name``."""
    stem, _ = os.path.splitext(os.path.basename(input_name))
    return os.path.join(output_dir, stem + ".ansel")


_UMASK = os.umask(0)
os.umask(_UMASK)


def write_atomic(path: str, data: bytes, overwrite: bool = False) -> None:
    """Writes ``data`` to ``path`` through a temporary file in the same directory and a
    rename, so that no partial file is ever seen. Without ``overwrite`` an existing ``path``
    is kept and :class:`FileExistsError` raised, also when it appears while writing."""
    directory = os.path.dirname(path) or "."
    if not overwrite and os.path.lexists(path):
        raise FileExistsError(f"{path}: already exists")
    fd, tmp = tempfile.mkstemp(prefix=".ansel-", suffix=".ansel", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        # mkstemp makes the file private; the output gets the usual mode, like any new file.
        os.chmod(tmp, 0o666 & ~_UMASK)
        if overwrite:
            os.replace(tmp, path)
        else:
            try:
                # A hard link fails if the name exists: no race with another writer.
                os.link(tmp, path)
            except FileExistsError:
                raise FileExistsError(f"{path}: already exists") from None
            except OSError:
                # A file system without hard links: rename, checking just before.
                if os.path.lexists(path):
                    raise FileExistsError(f"{path}: already exists") from None
                os.rename(tmp, path)
            else:
                os.unlink(tmp)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


class _Coder:
    """One worker's codec and options; codes one input at a time."""

    def __init__(
        self,
        model: Optional[str],
        quality: Optional[float],
        target_bpp: Optional[float],
        existing: str,
        output_dir: str,
    ) -> None:
        self.codec = Codec(model)
        self.quality = quality
        self.target_bpp = target_bpp
        self.existing = existing
        self.output_dir = output_dir

    def ready(self) -> bool:
        """Whether the worker is up (its codec is loaded by then)."""
        return True

    def code(self, name: str, data: Optional[bytes] = None, array: Any = None) -> Result:
        """Codes the image file ``name`` (its ``data`` if given) or the pixels ``array``."""
        out = output_path(name, self.output_dir)
        result = Result(input=name, output=out, status="failed")
        try:
            if os.path.lexists(out) and self.existing != "overwrite":
                if self.existing == "skip":
                    result.status = "skipped"
                    return result
                raise FileExistsError(f"{out}: already exists (use existing='overwrite')")
            if array is None:
                if data is None:
                    with open(name, "rb") as f:
                        data = f.read()
                result.input_bytes = len(data)
                array, result.warnings = _ansel.read_image(data, name)
            else:
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always")
                    array = to_array(array)
                result.warnings = [str(w.message) for w in caught]
            stream, result.quality = self.codec._codec.encode(
                array, quality=self.quality, target_bpp=self.target_bpp
            )
            result.height, result.width = array.shape[:2]
            try:
                write_atomic(out, stream, overwrite=self.existing == "overwrite")
            except FileExistsError:
                if self.existing != "skip":
                    raise
                result.status = "skipped"
                return result
            result.output_bytes = len(stream)
            result.status = "ok"
        except Exception as e:  # reported per image; the others are still coded
            result.message = _os_message(e) if isinstance(e, OSError) else str(e)
        return result


def _os_message(e: OSError) -> str:
    if e.filename is not None and e.strerror:
        return f"{e.filename}: {e.strerror}"
    return str(e)


def _check(
    quality: Optional[float], target_bpp: Optional[float], existing: str, workers: int
) -> None:
    if existing not in EXISTING_POLICIES:
        raise ValueError(f"existing must be one of {EXISTING_POLICIES}, not {existing!r}")
    if quality is not None and target_bpp is not None:
        raise ValueError("give quality or target_bpp, not both")
    if quality is not None and not (_ansel.QUALITY_MIN <= quality <= _ansel.QUALITY_MAX):
        raise ValueError(
            f"quality {quality} is out of range: use a number from "
            f"{_ansel.QUALITY_MIN:g} to {_ansel.QUALITY_MAX:g}"
        )
    if target_bpp is not None and not (target_bpp > 0 and target_bpp != float("inf")):
        raise ValueError(f"target_bpp {target_bpp} is not a positive number of bits per pixel")
    if workers < 1:
        raise ValueError(f"workers must be at least 1, not {workers}")


def _actor_options(threads: int) -> Dict[str, Any]:
    # Each worker codes one image at a time on `threads` cores: the encoder's own parallelism
    # (rayon) is held to the CPUs Ray gives the worker.
    return {
        "num_cpus": threads,
        "runtime_env": {"env_vars": {"RAYON_NUM_THREADS": str(threads)}},
    }


def compress_directory(
    input_dir: str,
    output_dir: str,
    *,
    quality: Optional[float] = None,
    target_bpp: Optional[float] = None,
    model: Optional[str] = None,
    existing: str = "refuse",
    workers: int = 2,
    threads_per_worker: int = 1,
) -> Report:
    """Compresses the images of ``input_dir`` (PNG, JPEG, PPM, BMP, TIFF, WebP, by extension)
    into ``output_dir`` (created if missing) on ``workers`` Ray actors.

    ``quality`` (1 to 8) or ``target_bpp`` as in :func:`ansel.encode` (quality 5 if neither);
    ``model`` a package path every worker can read. ``existing`` decides what happens to an
    output that exists: ``"refuse"`` (the default, as ``ansel encode`` without ``--force``:
    reported as failed, kept), ``"skip"`` or ``"overwrite"``. Inputs whose outputs would
    collide (``a.png`` and ``a.jpg``) are refused before any work. Uses the running Ray
    cluster, or starts a local one. Returns a :class:`Report`.
    """
    _check(quality, target_bpp, existing, workers)
    inputs = list_images(input_dir)
    _refuse_collisions(inputs, output_dir)
    os.makedirs(output_dir, exist_ok=True)
    output_dir = os.path.abspath(output_dir)
    start = time.perf_counter()
    actor = ray.remote(_Coder).options(**_actor_options(threads_per_worker))
    args = (model, quality, target_bpp, existing, output_dir)
    count = max(1, min(workers, len(inputs)))
    actors = [actor.remote(*args) for _ in range(count)]
    ray.get([a.ready.remote() for a in actors])  # type: ignore[attr-defined]
    startup = time.perf_counter() - start
    paths = [os.path.abspath(p) for p in inputs]
    results = list(ActorPool(actors).map_unordered(lambda a, p: a.code.remote(p), paths))
    seconds = time.perf_counter() - start
    results.sort(key=lambda r: r.input)
    return Report(results=results, seconds=seconds, workers=count, startup_seconds=startup)


def _refuse_collisions(names: Iterable[str], output_dir: str) -> None:
    seen: Dict[str, str] = {}
    for name in names:
        out = output_path(name, output_dir)
        if out in seen:
            raise ValueError(f"{seen[out]} and {name} would both be written to {out}")
        seen[out] = name


class _BatchCoder(_Coder):
    """A Ray Data actor: codes the rows of a batch, returns one result row for each."""

    def __call__(self, batch: Dict[str, Any]) -> Dict[str, List[Any]]:
        names = batch.get("path", batch.get("name"))
        if names is None:
            raise ValueError("the dataset needs a `path` (or `name`) column to name outputs")
        results: List[Result] = []
        for i, name in enumerate(names):
            if "bytes" in batch:
                results.append(self.code(str(name), data=bytes(batch["bytes"][i])))
            elif "image" in batch:
                results.append(self.code(str(name), array=batch["image"][i]))
            else:
                raise ValueError("the dataset needs a `bytes` or an `image` column")
        keys = Result.__dataclass_fields__.keys()
        return {k: [getattr(r, k) for r in results] for k in keys}


def compress_dataset(
    dataset: "ray.data.Dataset",
    output_dir: str,
    *,
    quality: Optional[float] = None,
    target_bpp: Optional[float] = None,
    model: Optional[str] = None,
    existing: str = "refuse",
    workers: int = 2,
    threads_per_worker: int = 1,
) -> Report:
    """Compresses the rows of a Ray Dataset into ``output_dir`` on ``workers`` actors.

    Each row needs a ``path`` (or ``name``) naming its output as :func:`compress_directory`
    does, and either ``bytes``, an image file's content (``ray.data.read_binary_files(...,
    include_paths=True)``: read as ``ansel encode`` reads files, to the command's bytes), or
    ``image``, an ``H×W×3`` ``uint8`` array (``ray.data.read_images(..., include_paths=True)``;
    Pillow's decoding, which equals the command's for 8-bit RGB and greyscale files). Rows
    whose outputs collide are not checked for beforehand: the second is refused (or skipped)
    unless ``existing="overwrite"``. Other arguments as in :func:`compress_directory`.
    """
    _check(quality, target_bpp, existing, workers)
    os.makedirs(output_dir, exist_ok=True)
    output_dir = os.path.abspath(output_dir)
    start = time.perf_counter()
    coded = dataset.map_batches(
        _BatchCoder,
        fn_constructor_args=(model, quality, target_bpp, existing, output_dir),
        batch_size=1,
        batch_format="numpy",
        # From one worker up to `workers`: a fixed pool could take every CPU of a small
        # cluster and leave none to the tasks that read the dataset.
        concurrency=(1, workers),
        **_actor_options(threads_per_worker),
    )
    rows = coded.take_all()
    seconds = time.perf_counter() - start
    results = []
    for row in rows:
        fields: Dict[str, Any] = {
            k: (list(v) if k == "warnings" else _plain(v)) for k, v in row.items()
        }
        results.append(Result(**fields))
    results.sort(key=lambda r: r.input)
    return Report(results=results, seconds=seconds, workers=workers)


def _plain(v: Any) -> Any:
    """A numpy scalar from a dataset row as the Python value."""
    return v.item() if hasattr(v, "item") else v


def main(argv: Optional[List[str]] = None) -> int:
    """``python -m ansel.ray INPUT_DIR OUTPUT_DIR``: compresses a directory on Ray."""
    p = argparse.ArgumentParser(
        prog="python -m ansel.ray",
        description="Compress the images of a directory into .ansel files on a Ray cluster.",
    )
    p.add_argument("input_dir")
    p.add_argument("output_dir")
    rate = p.add_mutually_exclusive_group()
    rate.add_argument("-q", "--quality", type=float, help="quality from 1 to 8 [default: 5]")
    rate.add_argument("--target-bpp", type=float, help="search the quality for this rate")
    p.add_argument("--model", help="model package (default: the embedded model)")
    p.add_argument("--workers", type=int, default=2, help="Ray actors [default: 2]")
    p.add_argument("--threads-per-worker", type=int, default=1, help="[default: 1]")
    p.add_argument("--existing", choices=EXISTING_POLICIES, default="refuse")
    p.add_argument("--address", help="Ray cluster to join (default: start a local one)")
    a = p.parse_args(argv)
    if not ray.is_initialized():
        cpus = None if a.address else a.workers * a.threads_per_worker
        ray.init(address=a.address, num_cpus=cpus, include_dashboard=False)
    report = compress_directory(
        a.input_dir,
        a.output_dir,
        quality=a.quality,
        target_bpp=a.target_bpp,
        model=a.model,
        existing=a.existing,
        workers=a.workers,
        threads_per_worker=a.threads_per_worker,
    )
    for r in report.results:
        if r.status == "failed":
            print(f"ansel: {r.input}: {r.message}", file=sys.stderr)
        for w in r.warnings:
            print(f"ansel: {r.input}: warning: {w}", file=sys.stderr)
    print(report.summary())
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
