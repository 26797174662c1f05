"""Uploaded pictures (tip photos, store item pictures): one way in for every upload.

:func:`reencode` recognises JPEG or PNG by content (never by name), refuses a header that claims
more than ``MAX_PIXELS`` pixels before any pixel is decoded (a decompression bomb is never
expanded), decodes, turns the picture upright and writes it anew, small enough for a phone and
without any of the original's metadata: no EXIF (GPS, camera), XMP, ICC profile, PNG text chunks
(tEXt, iTXt, zTXt) or JPEG comments survive. An upload over ``MAX_UPLOAD_BYTES`` is 413
``payload_too_large``; anything else that cannot be read is 422 on ``file``, never a 500.
"""
from __future__ import annotations

import io
import os
import secrets
import struct
import warnings
from dataclasses import dataclass
from pathlib import Path

from flask_babel import lazy_gettext as _l
from PIL import Image, ImageOps

from ..errors import DomainError, FieldError

MAX_UPLOAD_BYTES = 5 * 1024 * 1024
#: Larger than any phone camera's picture; a bigger header is a decompression bomb.
MAX_PIXELS = 50_000_000

#: Whatever Pillow may raise on a damaged or hostile file.
_UNREADABLE = (Image.UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning,
               OSError, ValueError, SyntaxError, EOFError, IndexError, TypeError, KeyError, MemoryError,
               ZeroDivisionError, AttributeError, struct.error)


@dataclass(frozen=True)
class Picture:
    data: bytes
    content_type: str
    width: int
    height: int


def read_upload(stream) -> bytes:
    """At most ``MAX_UPLOAD_BYTES + 1`` bytes of an upload (enough to know it is too large)."""
    return stream.read(MAX_UPLOAD_BYTES + 1) if stream is not None else b""


def reencode(data: bytes, *, max_side: int, keep_png: bool = True, quality: int = 85) -> Picture:
    """A clean copy of an uploaded JPEG or PNG, at most ``max_side`` pixels on its longest side.

    ``keep_png``: a PNG stays a PNG (its transparency kept); otherwise everything becomes a JPEG
    on a white background."""
    if not data:
        raise FieldError("file", _l("Choose a photo."))
    if len(data) > MAX_UPLOAD_BYTES:
        raise DomainError("payload_too_large", _l("The file is larger than 5 MB."))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=("JPEG", "PNG", "MPO")) as image:
                width, height = image.size
                if width < 1 or height < 1 or width * height > MAX_PIXELS:
                    raise FieldError("file", _l("This picture is too large to process."))
                out_format = "PNG" if image.format == "PNG" and keep_png else "JPEG"
                if image.format != "PNG":  # decode at a reduced scale, no smaller than the result
                    scale = min(1.0, max_side / max(width, height))
                    image.draft("RGB", (max(1, int(width * scale)), max(1, int(height * scale))))
                image.load()
                upright = _normalise(ImageOps.exif_transpose(image), out_format)
            upright.thumbnail((max_side, max_side), Image.Resampling.BICUBIC)
            clean = _without_metadata(upright)
            buffer = io.BytesIO()
            if out_format == "JPEG":
                clean.save(buffer, "JPEG", quality=quality, optimize=True, progressive=True)
            else:
                clean.save(buffer, "PNG", optimize=True)
    except (FieldError, DomainError):
        raise
    except _UNREADABLE:
        raise FieldError("file", _l("This file is not a JPEG or PNG photo that can be read.")) from None
    content_type = "image/png" if out_format == "PNG" else "image/jpeg"
    return Picture(buffer.getvalue(), content_type, clean.width, clean.height)


def _normalise(image: Image.Image, out_format: str) -> Image.Image:
    """RGB for JPEG (transparency on white); RGB or RGBA for PNG (palettes, grey, 16-bit and
    CMYK pictures included)."""
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        image = image.convert("I").point(lambda value: value / 256).convert("L")
    has_alpha = image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info)
    if out_format == "PNG":
        return image.convert("RGBA" if has_alpha else "RGB")
    if has_alpha:
        image = image.convert("RGBA")
        background = Image.new("RGB", image.size, (255, 255, 255))
        background.paste(image, mask=image.getchannel("A"))
        return background
    return image if image.mode == "RGB" else image.convert("RGB")


def _without_metadata(image: Image.Image) -> Image.Image:
    """The pixels alone in a new image: Pillow's encoders copy what ``info`` holds (a JPEG
    comment, an ICC profile, EXIF, XMP, text chunks), and a new image holds nothing."""
    clean = Image.new(image.mode, image.size)
    clean.paste(image)
    return clean


def save(picture: Picture, folder: str | Path, prefix: str) -> str:
    """Write ``picture`` into ``folder`` as ``<prefix>-<random>.jpg`` (or ``.png``), whole or not
    at all (a temporary name, then a rename); returns the file's name."""
    suffix = ".png" if picture.content_type == "image/png" else ".jpg"
    name = f"{prefix}-{secrets.token_hex(12)}{suffix}"
    target_dir = Path(folder)
    target_dir.mkdir(parents=True, exist_ok=True)
    temporary = target_dir / (name + ".part")
    temporary.write_bytes(picture.data)
    os.replace(temporary, target_dir / name)
    return name

