"""ansel: a learned image codec.

Compress images into ``.ansel`` streams and back::

    import ansel
    data = ansel.encode(array, quality=5)        # H×W×3 uint8 array or Pillow image -> bytes
    pixels = ansel.decode(data)                  # -> H×W×3 uint8 numpy array
    ansel.info(data)["quality"]                  # -> 5.0

The module-level functions use the model embedded in the library; ``ansel.Codec(model=path)``
loads a model package. Coding releases the GIL, so threads code in parallel. Importing
``ansel`` registers a Pillow plugin (when Pillow is installed): ``PIL.Image.open("x.ansel")``
decodes, ``image.save("x.ansel", quality=5)`` encodes. ``ansel.ray`` compresses directories
and Ray Datasets across a Ray cluster.
"""

from __future__ import annotations

import os
import threading
import warnings
from typing import Any, Optional, Union

import numpy as np

from . import _ansel
from ._ansel import (
    MAGIC,
    QUALITY_MAX,
    QUALITY_MIN,
    AnselError,
    DecodeError,
    ImageError,
    ModelError,
    WrongModelError,
    __version__,
)

__all__ = [
    "Codec",
    "encode",
    "decode",
    "info",
    "read_image",
    "encode_file",
    "to_array",
    "default_codec",
    "AnselError",
    "DecodeError",
    "ImageError",
    "ModelError",
    "WrongModelError",
    "MAGIC",
    "QUALITY_MIN",
    "QUALITY_MAX",
    "DEFAULT_QUALITY",
    "__version__",
]

#: Quality used when neither ``quality`` nor ``target_bpp`` is given (as ``ansel encode``).
DEFAULT_QUALITY = 5.0

PathLike = Union[str, "os.PathLike[str]"]


def to_array(image: Any) -> np.ndarray:
    """An image as the ``H×W×3`` ``uint8`` array the codec takes.

    Accepts a Pillow image (converted to RGB: greyscale replicated, alpha dropped with a
    warning, as ``ansel encode`` does) or an array-like of ``uint8`` samples shaped ``H×W×3``,
    ``H×W×4`` (alpha dropped with a warning), ``H×W×1`` or ``H×W`` (greyscale). Other sample
    types are refused rather than silently rounded.
    """
    if _is_pil_image(image):
        if image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
            image.mode == "P" and "transparency" in image.info
        ):
            warnings.warn(_ALPHA_WARNING, stacklevel=3)
        if image.mode != "RGB":
            image = image.convert("RGB")
        return np.asarray(image)
    array = np.asarray(image)
    if array.dtype != np.uint8:
        raise TypeError(
            f"expected uint8 samples, got {array.dtype} "
            "(convert explicitly, e.g. np.clip(x, 0, 255).round().astype(np.uint8))"
        )
    if array.ndim == 2:
        array = array[:, :, None]
    if array.ndim != 3 or array.shape[2] not in (1, 3, 4):
        raise ValueError(
            f"expected an H×W×3 (RGB), H×W×4 (RGBA) or H×W (grey) array, got shape {array.shape}"
        )
    if array.shape[2] == 1:
        array = np.repeat(array, 3, axis=2)
    elif array.shape[2] == 4:
        warnings.warn(_ALPHA_WARNING, stacklevel=3)
        array = array[:, :, :3]
    return np.ascontiguousarray(array)


_ALPHA_WARNING = (
    "alpha channel dropped (the codec stores no transparency; "
    "transparent pixels keep their stored colour)"
)


def _is_pil_image(obj: Any) -> bool:
    try:
        from PIL import Image
    except ImportError:
        return False
    return isinstance(obj, Image.Image)


class Codec:
    """An encoder and decoder of one model.

    ``Codec()`` uses the model embedded in the library; ``Codec(model="m.anselpkg")`` loads a
    model package (raising :class:`ModelError` or :class:`OSError` if it cannot). A codec is
    safe to share between threads, and coding releases the GIL.
    """

    def __init__(self, model: Optional[PathLike] = None) -> None:
        self._codec = _ansel.Codec(None if model is None else os.fspath(model))

    @property
    def model(self) -> Optional[str]:
        """The model package's path, or ``None`` for the embedded model."""
        return self._codec.model

    @property
    def model_id(self) -> tuple:
        """The model's identity written into its streams: ``(architecture, hash in hex)``."""
        return self._codec.model_id

    def encode(
        self,
        image: Any,
        quality: Optional[float] = None,
        target_bpp: Optional[float] = None,
    ) -> bytes:
        """Compresses an image into an ``.ansel`` stream.

        ``image`` is a Pillow image or an ``H×W×3`` ``uint8`` array (see :func:`to_array`).
        ``quality`` runs from 1 (smallest) to 8 (best), fractions allowed; ``target_bpp``
        instead searches the quality whose stream comes closest to that many bits per pixel.
        With neither, quality 5. The stream is byte for byte the one ``ansel encode -q Q``
        writes for the same pixels.
        """
        return self.encode_with_quality(image, quality, target_bpp)[0]

    def encode_with_quality(
        self,
        image: Any,
        quality: Optional[float] = None,
        target_bpp: Optional[float] = None,
    ) -> "tuple[bytes, float]":
        """Like :meth:`encode`, also returning the quality coded at (found by ``target_bpp``)."""
        array = to_array(image)
        return self._codec.encode(array, quality=quality, target_bpp=target_bpp)

    def encode_file(
        self,
        path: PathLike,
        quality: Optional[float] = None,
        target_bpp: Optional[float] = None,
    ) -> bytes:
        """Compresses an image file (PNG, JPEG, PNM, BMP, TIFF, WebP) read exactly as
        ``ansel encode`` reads it (see :func:`read_image`)."""
        array = read_image(path)
        return self._codec.encode(array, quality=quality, target_bpp=target_bpp)[0]

    def decode(self, data: Union[bytes, bytearray, memoryview]) -> np.ndarray:
        """Decompresses an ``.ansel`` stream into an ``H×W×3`` ``uint8`` array.

        Raises :class:`DecodeError` for data that is not a valid stream and
        :class:`WrongModelError` for a stream of another model. The pixels are the same on
        every machine.
        """
        return self._codec.decode(bytes(data) if not isinstance(data, bytes) else data)

    def __repr__(self) -> str:
        return repr(self._codec)


_default: Optional[Codec] = None
_default_lock = threading.Lock()


def default_codec() -> Codec:
    """The codec of the embedded model, loaded on first use and then shared."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Codec()
        return _default


def encode(
    image: Any,
    quality: Optional[float] = None,
    target_bpp: Optional[float] = None,
) -> bytes:
    """Compresses an image with the embedded model (see :meth:`Codec.encode`)."""
    return default_codec().encode(image, quality=quality, target_bpp=target_bpp)


def decode(data: Union[bytes, bytearray, memoryview]) -> np.ndarray:
    """Decompresses an ``.ansel`` stream of the embedded model (see :meth:`Codec.decode`)."""
    return default_codec().decode(data)


def info(data: Union[bytes, bytearray, memoryview]) -> "dict[str, Any]":
    """The header and section table of an ``.ansel`` stream, as ``ansel info --json`` gives
    them: ``version``, ``bytes``, ``width``, ``height``, ``color``, ``quality``, ``model``,
    ``tile_width``, ``tile_height``, ``bpp``, ``tiles``. Raises :class:`DecodeError`."""
    return _ansel.info(bytes(data))


def read_image(source: Union[PathLike, bytes], name: Optional[str] = None) -> np.ndarray:
    """Reads an image file (a path, or its bytes) as ``ansel encode`` does: the format from
    the content, greyscale made RGB, an alpha channel dropped and samples deeper than 8 bits
    rounded, each loss with a warning. Returns an ``H×W×3`` ``uint8`` array; raises
    :class:`ImageError` for what is not a readable image."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
        label = name or "<image>"
    else:
        label = name or os.fspath(source)
        with open(source, "rb") as f:
            data = f.read()
    array, lost = _ansel.read_image(data, label)
    for w in lost:
        warnings.warn(f"{label}: {w}", stacklevel=2)
    return array


def encode_file(
    path: PathLike,
    quality: Optional[float] = None,
    target_bpp: Optional[float] = None,
) -> bytes:
    """Compresses an image file with the embedded model (see :meth:`Codec.encode_file`)."""
    return default_codec().encode_file(path, quality=quality, target_bpp=target_bpp)


try:
    from . import pillow as _pillow  # noqa: F401  (registers the plugin)
except ImportError:  # Pillow is optional
    pass
