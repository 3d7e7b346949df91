"""Image thumbnails for the inbox: at most 320 px on the long side, JPEG, made with Pillow.

The orientation an EXIF tag asks for is applied, transparency is flattened onto white, and an
animated GIF (or WebP) gives its first frame. Synchronous CPU work: the vault runs it in a thread.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

THUMB_MIME = "image/jpeg"
THUMB_EXT = ".thumb.jpg"
MAX_SIDE = 320
MAX_PIXELS = 64_000_000  # a larger canvas is refused as a decompression bomb


class ThumbnailError(Exception):
    """The bytes are not an image Pillow reads (the original stays stored)."""


@dataclass(frozen=True, slots=True)
class Thumbnail:
    content: bytes
    width: int
    height: int


def thumbnail(data: bytes, max_side: int = MAX_SIDE) -> Thumbnail:
    """A JPEG no larger than max_side × max_side keeping the aspect ratio; ThumbnailError otherwise."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.width * image.height > MAX_PIXELS:
                raise ThumbnailError(f"image too large to preview ({image.width}×{image.height})")
            image.seek(0)  # the first frame of an animation
            frame = ImageOps.exif_transpose(image)
            frame = _flatten(frame)
            frame.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
            out = io.BytesIO()
            frame.save(out, "JPEG", quality=80, optimize=True)
            return Thumbnail(out.getvalue(), frame.width, frame.height)
    except ThumbnailError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError, SyntaxError) as exc:
        raise ThumbnailError(f"{type(exc).__name__}: {exc}") from None


def _flatten(image: Image.Image) -> Image.Image:
    """RGB: an alpha channel (RGBA, LA, or a palette with transparency) composited onto white."""
    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")
