"""HTTP byte ranges and file headers for served media (RFC 9110 §14, RFC 6266 / RFC 5987).

One range per request (what `<video>` and `<audio>` ask for when seeking); a header this module
cannot read, a unit other than bytes, or a list of ranges is ignored and the whole file served,
as RFC 9110 allows. A range starting past the end is unsatisfiable (416).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote

_RANGE = re.compile(r"^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$", re.IGNORECASE)
# types a browser may show in place; anything else (HTML, SVG, scripts…) is sent as a download
INLINE_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp", "image/bmp", "application/pdf")
INLINE_PREFIXES = ("audio/", "video/")


class Unsatisfiable(Exception):
    """The range lies outside the file: answer 416 with `Content-Range: bytes */size`."""


@dataclass(frozen=True, slots=True)
class ByteRange:
    start: int
    end: int  # inclusive

    @property
    def length(self) -> int:
        return self.end - self.start + 1

    def content_range(self, size: int) -> str:
        return f"bytes {self.start}-{self.end}/{size}"


def parse_range(header: str | None, size: int) -> ByteRange | None:
    """The one range `header` asks for within `size` bytes; None: serve it all; Unsatisfiable: 416."""
    if not header:
        return None
    match = _RANGE.match(header)
    if match is None:
        return None  # another unit, several ranges, or noise
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:  # suffix: the last N bytes
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise Unsatisfiable
        return ByteRange(max(0, size - suffix), size - 1)
    start = int(first)
    end = int(last) if last else size - 1
    if last and end < start:
        return None  # invalid: ignored
    if start >= size:
        raise Unsatisfiable
    return ByteRange(start, min(end, size - 1))


def etag_matches(header: str | None, etag: str) -> bool:
    """If-None-Match: `*` or a list holding `etag` (weak comparison, as RFC 9110 §13.1.2 says)."""
    if not header:
        return False
    if header.strip() == "*":
        return True
    bare = etag.removeprefix("W/")
    return any(tag.strip().removeprefix("W/") == bare for tag in header.split(","))


def content_disposition(filename: str, mime: str, *, download: bool = False) -> str:
    """`inline` for images, audio, video and PDF unless `download`; the name twice: an ASCII fallback
    and the UTF-8 original as RFC 5987 `filename*` (what browsers use for 语音.amr)."""
    inline = not download and (mime in INLINE_TYPES or mime.startswith(INLINE_PREFIXES))
    fallback = "".join(c if 0x20 <= ord(c) < 0x7F and c not in '"\\;' else "_" for c in filename) or "media"
    kind = "inline" if inline else "attachment"
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"
