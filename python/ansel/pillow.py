"""A Pillow plugin for ``.ansel`` files, registered by ``import ansel``.

``PIL.Image.open("photo.ansel")`` reads the header at once (size, mode ``RGB``) and decodes the
pixels on ``load()``; ``image.save("photo.ansel", quality=5)`` (or ``target_bpp=0.5``, or the
format ``"ANSEL"``) encodes. Both use the embedded model unless :func:`use_codec` names another.
"""

from __future__ import annotations

from typing import IO, Optional

from PIL import Image, ImageFile

from . import MAGIC, AnselError, Codec, _ansel, default_codec

FORMAT = "ANSEL"

_codec: Optional[Codec] = None


def use_codec(codec: Optional[Codec]) -> None:
    """Makes the plugin decode and encode with ``codec`` (``None``: the embedded model)."""
    global _codec
    _codec = codec


def _current() -> Codec:
    return _codec if _codec is not None else default_codec()


def _accept(prefix: bytes) -> bool:
    return prefix[: len(MAGIC)] == MAGIC


class AnselImageFile(ImageFile.ImageFile):
    """An ``.ansel`` file opened by Pillow."""

    format = FORMAT
    format_description = "ansel learned image codec"

    def _open(self) -> None:
        # Streams are small (the whole file is the unit that is checked): read it all and
        # let the container reader validate it before Pillow reports a size.
        assert self.fp is not None
        data = self.fp.read()
        try:
            header = _ansel.info(data)
        except AnselError as e:
            raise SyntaxError(f"not a valid ansel file: {e}") from e
        self._size = (header["width"], header["height"])
        self._mode = "RGB"
        self.info["quality"] = header["quality"]
        self.info["ansel"] = header
        if hasattr(ImageFile, "_Tile"):
            self.tile = [ImageFile._Tile(FORMAT, (0, 0) + self.size, 0, None)]
        else:  # Pillow < 11
            self.tile = [(FORMAT, (0, 0) + self.size, 0, None)]  # type: ignore[list-item]


class AnselDecoder(ImageFile.PyDecoder):
    """Decodes a whole ``.ansel`` stream at once into the image."""

    _pulls_fd = True

    def decode(self, buffer: object) -> "tuple[int, int]":
        assert self.fd is not None
        pixels = _current().decode(self.fd.read())
        self.set_as_raw(pixels.tobytes())
        return -1, 0


def _save(im: Image.Image, fp: IO[bytes], filename: "str | bytes") -> None:
    quality = im.encoderinfo.get("quality")
    target_bpp = im.encoderinfo.get("target_bpp")
    fp.write(_current().encode(im, quality=quality, target_bpp=target_bpp))


Image.register_open(FORMAT, AnselImageFile, _accept)
Image.register_decoder(FORMAT, AnselDecoder)
Image.register_save(FORMAT, _save)
Image.register_extension(FORMAT, ".ansel")
Image.register_mime(FORMAT, "image/x-ansel")
