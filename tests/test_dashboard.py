"""deploy/grafana/kefu-gateway.json charts only metrics the gateway exports, with labels they carry."""

from __future__ import annotations

import json
import re
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from gateway.metrics import Metrics

DASHBOARD = Path(__file__).resolve().parents[1] / "deploy" / "grafana" / "kefu-gateway.json"


def exported() -> dict[str, set[str]]:
    """Every metric name a gateway exports (histogram series included) → its label names."""
    metrics = Metrics()
    names: dict[str, set[str]] = {}
    for attribute in vars(metrics).values():
        describe = getattr(attribute, "describe", None)
        if describe is None:
            continue
        for family in describe():
            labels = set(getattr(attribute, "_labelnames", ()))
            suffixes = {"histogram": ("_bucket", "_count", "_sum"), "counter": ("_total",)}.get(family.type, ("",))
            for suffix in suffixes:
                names[family.name + suffix] = labels | ({"le"} if suffix == "_bucket" else set())
    assert list(text_string_to_metric_families(metrics.render().decode())) is not None
    return names


def test_every_panel_queries_real_metrics_and_labels() -> None:
    dashboard = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    known = exported()
    expressions = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    assert len(expressions) >= 10
    for expr in expressions:
        used = set(re.findall(r"\b(gateway_[a-z_]+)\b", expr))
        assert used, expr
        for name in used:
            assert name in known, f"{name} is not a metric the gateway exports"
            grouped = set(re.findall(r"by \(([^)]*)\)", expr))
            for group in grouped:
                for label in (x.strip() for x in group.split(",")):
                    assert label in known[name], f"{expr}: {name} has no label {label!r}"
