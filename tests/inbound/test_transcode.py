"""Derived media: AMR and SILK voice → MP3 a decoder plays, image thumbnails, sniffed types, and
a derivation failure that keeps the original (unit level on real files, then the vault job)."""

from __future__ import annotations

import base64
import io
from pathlib import Path

import av
import pytest
from PIL import Image
from sqlalchemy import select

from gateway.db.models import Media, Message
from gateway.inbound.thumbs import ThumbnailError, thumbnail
from gateway.inbound.transcode import TranscodeError, voice_to_mp3
from gateway.inbound.variants import derive
from gateway.inbound.vault import keep, sniff_mime
from kefu_sim.samples import AMR, JPEG, MP4, PNG, SILK
from tests.conftest import TEST_SECRET_KEY
from tests.harness import harness

CORP = "wwcorp0001"


def mp3_seconds(data: bytes) -> tuple[str, int, float]:
    with av.open(io.BytesIO(data)) as container:
        stream = container.streams.audio[0]
        samples = sum(frame.samples for frame in container.decode(stream))
        return container.format.name, stream.channels, samples / stream.rate


@pytest.mark.parametrize("voice", [AMR, SILK], ids=["amr", "silk"])
def test_voice_becomes_mono_mp3_of_the_same_length(voice: bytes) -> None:
    fmt, channels, seconds = mp3_seconds(voice_to_mp3(voice))
    assert fmt == "mp3" and channels == 1 and 1.4 < seconds < 1.7


@pytest.mark.parametrize("junk", [b"", b"#!AMR\n" + b"\0" * 40, b"#!SILK_V3" + b"\xff" * 40, b"not audio at all"])
def test_what_does_not_decode_is_a_transcode_error(junk: bytes) -> None:
    with pytest.raises(TranscodeError):
        voice_to_mp3(junk)


def test_thumbnails_keep_the_aspect_and_never_grow() -> None:
    wide = thumbnail(PNG)
    assert (wide.width, wide.height) == (320, 240)
    with Image.open(io.BytesIO(wide.content)) as image:
        assert image.format == "JPEG" and image.size == (320, 240)
    small = io.BytesIO()
    Image.new("RGB", (100, 40), "red").save(small, "PNG")
    assert (thumbnail(small.getvalue()).width, thumbnail(small.getvalue()).height) == (100, 40)
    tall = io.BytesIO()
    Image.new("RGB", (300, 1200), "blue").save(tall, "JPEG")
    assert (thumbnail(tall.getvalue()).width, thumbnail(tall.getvalue()).height) == (80, 320)


def test_a_gif_gives_its_first_frame_and_transparency_turns_white() -> None:
    frames = [Image.new("RGB", (400, 400), color) for color in ("red", "blue", "green")]
    gif = io.BytesIO()
    frames[0].save(gif, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    with Image.open(io.BytesIO(thumbnail(gif.getvalue()).content)) as image:
        red, green, blue = image.convert("RGB").getpixel((160, 160))
        assert red > 200 and green < 60 and blue < 60
    clear = io.BytesIO()
    Image.new("RGBA", (50, 50), (0, 0, 0, 0)).save(clear, "PNG")
    with Image.open(io.BytesIO(thumbnail(clear.getvalue()).content)) as image:
        assert min(image.convert("RGB").getpixel((25, 25))) > 240


def test_exif_orientation_is_applied() -> None:
    photo = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    Image.new("RGB", (640, 480), "gray").save(photo, "JPEG", exif=exif)
    thumb = thumbnail(photo.getvalue())
    assert (thumb.width, thumb.height) == (240, 320)


def test_not_an_image_is_a_thumbnail_error() -> None:
    with pytest.raises(ThumbnailError):
        thumbnail(b"\x89PNG\r\n\x1a\n" + bytes(range(200)))


def test_sniffing_trusts_the_bytes_then_the_platform_then_the_name() -> None:
    assert sniff_mime(AMR, "application/octet-stream", None) == "audio/amr"
    assert sniff_mime(SILK, "audio/amr", "voice.amr") == "audio/silk"  # SILK never passes for AMR
    assert sniff_mime(JPEG, "", "x") == "image/jpeg" and sniff_mime(PNG, None, None) == "image/png"
    assert sniff_mime(MP4, "application/octet-stream", None) == "video/mp4"
    assert sniff_mime(b"hello", "text/plain; charset=utf-8", "a.bin") == "text/plain"
    assert sniff_mime(b"hello", "application/octet-stream", "合同.pdf") == "application/pdf"
    assert sniff_mime(b"hello", None, None) == "application/octet-stream"


def test_variants_sit_next_to_the_original_and_failures_are_recorded(tmp_path: Path) -> None:
    stored, variants = keep(tmp_path, AMR, "audio/amr")
    playable = variants["playable"]
    assert Path(playable["path"]) == stored.path.with_name(stored.path.name + ".mp3")
    assert playable["mime"] == "audio/mpeg" and playable["size"] == Path(playable["path"]).stat().st_size
    assert stored.path.read_bytes() == AMR
    assert derive(stored.path, AMR, "audio/amr") == variants  # a retried job finds its work done
    already = derive(tmp_path / "x.mp3", b"ID3...", "audio/mpeg")["playable"]
    assert already == {"path": str(tmp_path / "x.mp3"), "mime": "audio/mpeg", "size": 6}  # plays as it is
    broken, failed = keep(tmp_path, b"#!AMR\n" + b"\0" * 40, "audio/amr")
    assert broken.path.exists() and set(failed["playable"]) == {"error"}
    _, image = keep(tmp_path, JPEG, "image/jpeg")
    assert (image["thumb"]["width"], image["thumb"]["height"]) == (320, 240)
    assert keep(tmp_path, MP4, "video/mp4")[1] == {} and keep(tmp_path, b"x", "text/plain")[1] == {}


async def test_the_vault_job_transcodes_the_simulators_voice(db, tmp_path: Path) -> None:
    async with harness(db, TEST_SECRET_KEY, start=False, media_dir=tmp_path) as h:
        channel_id = await h.wecom_channel()
        kf = (await h.driver.wecom_add_kf_account(CORP))["open_kfid"]
        customer = (await h.driver.wecom_add_customer(CORP))["external_userid"]
        await h.driver.wecom_customer_send(CORP, kf, customer, "voice", {})
        broken = b"#!AMR\n" + b"\x01" * 50
        await h.driver.wecom_customer_send(
            CORP, kf, customer, "voice", {"content_b64": base64.b64encode(broken).decode()}
        )
        await h.runtime.syncer.sync_stream(channel_id, kf)
        async with db.sessions() as session:
            pending = list(await session.scalars(select(Media).order_by(Media.id)))
        assert [(m.status, m.kind, m.direction) for m in pending] == [("pending", "voice", "in")] * 2
        await h.runtime.jobs.drain()
        async with db.sessions() as session:
            good, bad = list(await session.scalars(select(Media).order_by(Media.id)))
            message = await session.get(Message, good.message_id)
    assert good.status == "stored" and good.mime == "audio/amr" and Path(good.path or "").read_bytes() == AMR
    assert mp3_seconds(Path(good.variants["playable"]["path"]).read_bytes())[2] > 1.4
    assert message is not None and message.content_attributes["media_status"] == "stored"
    assert bad.status == "stored" and Path(bad.path or "").read_bytes() == broken  # never lost
    assert "error" in bad.variants["playable"] and "path" not in bad.variants["playable"]
