"""``/metrics``: Prometheus text exposition, with the job queue read at scrape time."""

from __future__ import annotations

import logging

from prometheus_client import CONTENT_TYPE_LATEST
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from domain.clock import Clock
from observability.metrics import Metrics

logger = logging.getLogger("callfluently.metrics")


def metrics_route(metrics: Metrics, clock: Clock) -> Route:
    """The scrape endpoint. Serve it to the monitoring network only (see docs/deployment.md)."""

    async def scrape(request: Request) -> Response:
        try:
            await metrics.refresh_jobs(clock.now())
        except Exception as exc:  # a scrape must still answer when the database does not
            logger.warning("job queue metrics unavailable", extra={"error": type(exc).__name__})
        return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)

    return Route("/metrics", scrape, methods=["GET"])
