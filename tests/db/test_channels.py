"""Channel secrets are sealed at rest and only readable with the right GATEWAY_SECRET_KEY."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from gateway.db.repositories.channels import ChannelRepository
from gateway.errors import ConfigError, Conflict, InvalidRequest
from gateway.sealing import SecretBox

SECRET = "s3cr3t-app-secret-VALUE"
AES_KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"


async def test_secrets_are_encrypted_at_rest(db, box: SecretBox) -> None:
    async with db.session() as session:
        channel = await ChannelRepository(session, box).create(
            kind="wecom", name="corp", app_id="ww1", secrets={"secret": SECRET, "encoding_aes_key": AES_KEY}
        )
        channel_id = channel.id
    async with db.engine.connect() as connection:
        rows = (await connection.execute(text("SELECT * FROM channels"))).mappings().all()
    raw = " ".join(str(v) for row in rows for v in row.values())
    assert SECRET not in raw and AES_KEY not in raw
    async with db.session() as session:
        repo = ChannelRepository(session, box)
        assert repo.secrets(await repo.get(channel_id)) == {"secret": SECRET, "encoding_aes_key": AES_KEY}
        with pytest.raises(ConfigError, match="GATEWAY_SECRET_KEY differs"):
            ChannelRepository(session, SecretBox("another-key-0123456789")).secrets(await repo.get(channel_id))


async def test_secret_update_merges_and_removes(db, box: SecretBox) -> None:
    async with db.session() as session:
        repo = ChannelRepository(session, box)
        channel = await repo.create(kind="mp", name="oa", app_id="wx1", secrets={"secret": "a", "token": "t"})
        await repo.update(channel, secrets={"secret": "b", "token": ""})
        assert repo.secrets(channel) == {"secret": "b"}


async def test_create_validates(db, box: SecretBox) -> None:
    async with db.session() as session:
        repo = ChannelRepository(session, box)
        with pytest.raises(InvalidRequest):
            await repo.create(kind="oa", name="x", app_id="wx", secrets={})
        await repo.create(kind="mp", name="dup", app_id="wx", secrets={})
        with pytest.raises(Conflict):
            await repo.create(kind="mp", name="dup", app_id="wx2", secrets={})


def test_sealing_roundtrip_and_tamper(box: SecretBox) -> None:
    sealed = box.seal("hello")
    assert sealed.startswith("v1.") and "hello" not in sealed
    assert box.open(sealed) == "hello"
    assert box.seal("hello") != sealed  # fresh nonce each time
    tampered = sealed[:-4] + ("AAAA" if sealed[-4:] != "AAAA" else "BBBB")
    with pytest.raises(ConfigError):
        box.open(tampered)
    assert "test-secret" not in repr(box)
