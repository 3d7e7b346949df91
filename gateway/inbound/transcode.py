"""Voice a browser plays: WeCom/MP voice (AMR-NB, or WeCom's SILK v3) transcoded to MP3.

AMR and SILK play in no browser. MP3 plays in every one (Chromium, Firefox, Safari on macOS and
iOS), so the playable variant is mono MP3 at 44.1 kHz / 64 kbit/s: MPEG-1 Layer III, the most
widely decoded form. PyAV (its bundled FFmpeg decodes AMR-NB/WB and encodes MP3 with LAME) does
the audio; SILK is first decoded to 16-bit PCM by silk-python (`pysilk`, the Skype SILK SDK).
Everything here is synchronous CPU work on bytes: the vault runs it in a worker thread.
"""

from __future__ import annotations

import io
from collections.abc import Iterator

import av
import pysilk
from av.audio.frame import AudioFrame
from av.audio.resampler import AudioResampler

PLAYABLE_MIME = "audio/mpeg"
PLAYABLE_EXT = ".mp3"
OUT_RATE = 44100
OUT_BIT_RATE = 64_000
SILK_RATE = 24000  # the rate SILK is decoded at (WeCom voice is 8–24 kHz; 24 kHz loses nothing)
SILK_MAGIC = (b"#!SILK_V3", b"\x02#!SILK_V3")
PCM_CHUNK = 1024  # samples per frame fed to the encoder from decoded SILK


class TranscodeError(Exception):
    """The input is not audio this module can read (the original stays stored)."""


def is_silk(data: bytes) -> bool:
    return data.startswith(SILK_MAGIC)


def voice_to_mp3(data: bytes) -> bytes:
    """AMR (or anything FFmpeg reads) or SILK v3 → MP3 bytes; TranscodeError when it cannot."""
    try:
        frames = _silk_frames(data) if is_silk(data) else _decoded_frames(data)
        return _encode_mp3(frames)
    except TranscodeError:
        raise
    except (av.FFmpegError, pysilk.SilkError, ValueError, OSError) as exc:
        raise TranscodeError(f"{type(exc).__name__}: {exc}") from None


def _decoded_frames(data: bytes) -> Iterator[AudioFrame]:
    with av.open(io.BytesIO(data), "r") as container:
        if not container.streams.audio:
            raise TranscodeError("no audio stream")
        yield from container.decode(container.streams.audio[0])


def _silk_frames(data: bytes) -> Iterator[AudioFrame]:
    pcm = io.BytesIO()
    pysilk.decode(io.BytesIO(data), pcm, SILK_RATE)
    raw = pcm.getvalue()
    if not raw:
        raise TranscodeError("SILK stream decoded to no audio")
    step = PCM_CHUNK * 2
    for offset in range(0, len(raw) - len(raw) % 2, step):
        chunk = raw[offset : offset + step]
        frame = AudioFrame(format="s16", layout="mono", samples=len(chunk) // 2)
        frame.planes[0].update(chunk)
        frame.sample_rate = SILK_RATE
        frame.pts = offset // 2
        yield frame


def _encode_mp3(frames: Iterator[AudioFrame]) -> bytes:
    out = io.BytesIO()
    samples = 0
    with av.open(out, "w", format="mp3") as container:
        stream = container.add_stream("libmp3lame", rate=OUT_RATE, layout="mono")
        stream.bit_rate = OUT_BIT_RATE
        resampler = AudioResampler(format=stream.format.name, layout="mono", rate=OUT_RATE)
        for frame in frames:
            frame.pts = None  # the resampler and encoder number samples themselves
            for converted in resampler.resample(frame):
                samples += converted.samples
                container.mux(stream.encode(converted))
        for converted in resampler.resample(None):
            samples += converted.samples
            container.mux(stream.encode(converted))
        container.mux(stream.encode(None))
    if samples == 0:
        raise TranscodeError("no audio samples decoded")
    return out.getvalue()
