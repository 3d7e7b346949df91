"""GET /api/v1/migration/report (JSON, ?format=csv or svg): who moved from MP kefu to WeCom kf
(gateway.cutover.report), for the applied plan named by `plan`, else the last one applied."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Response, get
from litestar.params import Parameter

from gateway.api.auth import SECURITY
from gateway.cutover.chart import render_svg
from gateway.cutover.planfile import PlanError
from gateway.cutover.report import build_report
from gateway.db.engine import Database
from gateway.errors import NotFound


class MigrationController(Controller):
    path = "/api/v1/migration"
    tags = ("migration",)
    security = SECURITY

    @get("/report")
    async def migration_report(
        self,
        db: Database,
        plan: Annotated[str | None, Parameter(max_length=128, description="an applied plan's name")] = None,
        format: Annotated[str, Parameter(pattern="^(json|csv|svg)$")] = "json",
    ) -> Response[Any]:
        """Who moved from MP kefu to WeCom kf: totals, by day, per MP kf account → servicer (JSON, CSV or
        an SVG chart). 404 when no cutover plan was applied (or none of that name)."""
        try:
            report = await build_report(db, plan)
        except PlanError as exc:
            raise NotFound(exc.message) from None
        if format == "csv":
            return Response(report.to_csv(), media_type="text/csv; charset=utf-8")
        if format == "svg":
            return Response(render_svg(report), media_type="image/svg+xml")
        return Response(report.to_dict())
