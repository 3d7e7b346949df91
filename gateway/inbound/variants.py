"""Files derived from a vault original, written next to it: `playable` (voice as MP3) and `thumb`
(image preview). Recorded in `media.variants` as {"path", "mime", "size", …}, or {"error"} when the
derivation failed: the original is kept either way, so a bad file never loses the media.

Derived names hang off the original's content hash (`<sha>.mp3`, `<sha>.thumb.jpg`), so identical
files share their variants and a retried job finds its work done. Synchronous: run in a thread.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

from gateway.inbound.thumbs import THUMB_EXT, THUMB_MIME, ThumbnailError, thumbnail
from gateway.inbound.transcode import PLAYABLE_EXT, PLAYABLE_MIME, TranscodeError, voice_to_mp3

# audio every current browser plays as is: the original is its own playable variant
BROWSER_AUDIO = frozenset({"audio/mpeg", "audio/mp4", "audio/aac", "audio/ogg", "audio/wav", "audio/webm"})


def derive(original: Path, content: bytes, mime: str) -> dict[str, Any]:
    """The variants `content` (stored at `original`) calls for by its mime type."""
    variants: dict[str, Any] = {}
    if mime.startswith("audio/"):
        variants["playable"] = _playable(original, content, mime)
    if mime.startswith("image/"):
        variants["thumb"] = _thumb(original, content)
    return variants


def _playable(original: Path, content: bytes, mime: str) -> dict[str, Any]:
    if mime in BROWSER_AUDIO:
        return {"path": str(original), "mime": mime, "size": len(content)}
    target = original.with_name(original.name + PLAYABLE_EXT)
    if not target.exists():
        try:
            _write(target, voice_to_mp3(content))
        except TranscodeError as exc:
            return {"error": f"transcode failed: {exc}"}
    return {"path": str(target), "mime": PLAYABLE_MIME, "size": target.stat().st_size}


def _thumb(original: Path, content: bytes) -> dict[str, Any]:
    target = original.with_name(original.name + THUMB_EXT)
    try:
        thumb = thumbnail(content)
    except ThumbnailError as exc:
        return {"error": f"thumbnail failed: {exc}"}
    if not target.exists():
        _write(target, thumb.content)
    return {
        "path": str(target),
        "mime": THUMB_MIME,
        "size": target.stat().st_size,
        "width": thumb.width,
        "height": thumb.height,
    }


def _write(path: Path, content: bytes) -> None:
    """Atomically: a reader never sees half a file."""
    tmp = path.with_name(f"{path.name}.{uuid.uuid4().hex}.tmp")
    tmp.write_bytes(content)
    os.replace(tmp, path)
