"""Prometheus metrics of one gateway process (served at /metrics in the text format)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, generate_latest


class Metrics:
    """One registry per app, so several apps in one process (tests) never collide."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.callbacks = Counter(
            "gateway_callbacks_total", "Callbacks received, by result", ["channel", "result"], registry=r
        )
        self.messages_in = Counter("gateway_messages_in_total", "Inbound messages stored", ["channel"], registry=r)
        self.messages_out = Counter(
            "gateway_messages_out_total", "Messages sent to the platform", ["channel"], registry=r
        )
        self.send_failures = Counter(
            "gateway_send_failures_total", "Failed sends, by errcode", ["channel", "errcode"], registry=r
        )
        self.sync_lag = Gauge(
            "gateway_sync_lag_seconds",
            "Seconds since the last successful sync of a kf account",
            ["channel", "stream"],
            registry=r,
        )
        self.job_queue_depth = Gauge(
            "gateway_job_queue_depth", "Pending or running jobs, by kind", ["kind"], registry=r
        )
        self.webhook_failures = Counter(
            "gateway_webhook_failures_total", "Failed webhook delivery attempts", registry=r
        )
        self.token_refreshes = Counter(
            "gateway_token_refreshes_total", "Access tokens fetched from the platform", ["kind"], registry=r
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
