"""Prometheus metrics of one gateway process (served at /metrics in the text format)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


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
        # the /readyz sync-lag measure: 0 unless a callback announced messages newer than the last pull
        self.sync_behind = Gauge(
            "gateway_sync_behind_seconds",
            "Seconds since a kf account's last successful pull while its callbacks announce more (else 0)",
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
        # platform API paths come from the gateway's own clients (bounded); outcome: ok, an errcode, transport
        self.platform_calls = Histogram(
            "gateway_platform_call_seconds",
            "Platform API round trips, by API path and outcome",
            ["api", "outcome"],
            buckets=(0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
            registry=r,
        )
        self.job_seconds = Histogram(
            "gateway_job_run_seconds", "Job run time, by kind and outcome", ["kind", "outcome"], registry=r
        )
        self.job_lag = Histogram(
            "gateway_job_lag_seconds",
            "Time from a job being due to it starting, by kind",
            ["kind"],
            buckets=(0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0),
            registry=r,
        )
        self.webhook_seconds = Histogram(
            "gateway_webhook_delivery_seconds", "Webhook delivery attempts, by result", ["result"], registry=r
        )
        # labels are route templates and status classes: bounded whatever paths clients send
        self.http_duration = Histogram(
            "gateway_http_request_duration_seconds",
            "HTTP request time, by route template",
            ["method", "route", "status"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
            registry=r,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
