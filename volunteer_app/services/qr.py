"""QR images for posters and live codes: PNG and SVG from ``qrcode``.

High error correction (H, 30 %) so a poster that is scuffed, folded or taped over still scans,
and the standard quiet zone of four modules so a camera finds the code on a busy wall.
"""
from __future__ import annotations

import io

import qrcode
import qrcode.image.svg
from qrcode.constants import ERROR_CORRECT_H

QUIET_ZONE = 4


def _qr(data: str, box_size: int) -> qrcode.QRCode:
    code = qrcode.QRCode(error_correction=ERROR_CORRECT_H, box_size=box_size, border=QUIET_ZONE)
    code.add_data(data)
    code.make(fit=True)
    return code


def png(data: str, *, box_size: int = 10) -> bytes:
    """A black-on-white PNG of ``data``."""
    image = _qr(data, box_size).make_image(fill_color="black", back_color="white")
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def svg(data: str, *, box_size: int = 10) -> str:
    """A standalone SVG (one path, white background) of ``data``; scales to any size."""
    image = _qr(data, box_size).make_image(image_factory=qrcode.image.svg.SvgPathFillImage)
    return image.to_string(encoding="unicode")
