"""Real media files the simulated customers send (kefu_sim/fixtures/): a PNG and a JPEG (480×360),
1.5 s of a 440 Hz tone as AMR-NB (12.2 kbit/s, what WeCom and MP voice is) and as SILK v3 (WeCom's
voice_format=1), a 1 s H.264 MP4 (96×64) and a text file. Real bytes, so whatever the gateway does
with a download (decode, transcode, thumbnail) meets what the platforms deliver.
"""

from __future__ import annotations

from pathlib import Path

FIXTURES = Path(__file__).resolve().parent / "fixtures"


def _read(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


JPEG = _read("image.jpg")
PNG = _read("image.png")
AMR = _read("voice.amr")
SILK = _read("voice.silk")
MP4 = _read("video.mp4")

# msgtype → (default file name, bytes) of what a customer sends when the driver gives no content
MEDIA_FILES: dict[str, tuple[str, bytes]] = {
    "image": ("image.png", PNG),
    "voice": ("voice.amr", AMR),
    "video": ("video.mp4", MP4),
    "file": ("file.txt", b"simulated file content"),
}
