"""Click command groups of `kefu-gateway`, registered in gateway/cli.py."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

import click

from gateway.errors import GatewayError

T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine for a command; a GatewayError becomes one line on stderr and exit status 1."""
    try:
        return asyncio.run(coro)
    except GatewayError as exc:
        click.echo(f"error: {exc.code}: {exc.message}", err=True)
        raise SystemExit(1) from None
