"""OpenMeter `Debug` operations: event counters in OpenMetrics text."""

from __future__ import annotations

from domain.metering.events import EventListing, epoch_seconds
from tollgate.context import Reply, RequestContext


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def get_debug_metrics(ctx: RequestContext) -> Reply:
    """Events ingested since midnight UTC, per subject (the counters reset every day at midnight UTC)."""
    now = epoch_seconds(ctx.now)
    counts = EventListing(ctx.session).events.counts_by_subject(ingested_from=now - now % 86400)
    lines = ["# HELP openmeter_events_total Number of ingested events", "# TYPE openmeter_events_total counter"]
    lines += [f'openmeter_events_total{{subject="{_label(subject)}"}} {count}' for subject, count in counts]
    lines.append("# EOF")
    return Reply(body="\n".join(lines) + "\n", media_type="text/plain")
