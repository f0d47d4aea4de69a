"""Setup shared by the entitlement and grant API tests: customers, meters, features, usage events.

Meters and events go through the API when their operations are implemented, else through the
metering domain on the server's database (so these tests do not wait for another issue).
"""

from __future__ import annotations

import datetime as dt
import uuid

from generated.openmeter.operations import OPERATIONS

_IMPLEMENTED = {op.operation_id for op in OPERATIONS if op.implemented}


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def make_meter(om, server, slug: str = "tokens", *, aggregation: str = "SUM", value_property: str | None = "$.tokens",
               group_by: dict[str, str] | None = None) -> None:  # fmt: skip
    body = {"slug": slug, "aggregation": aggregation, "eventType": slug, "groupBy": group_by or {}}
    if value_property and aggregation != "COUNT":
        body["valueProperty"] = value_property
    if "createMeter" in _IMPLEMENTED:
        om.create_meter(body=body)
        return
    from domain.metering.meters import Aggregation, MeterInput, MeterService

    with server.backend.database.session(write=True) as session:
        MeterService(session).create(
            MeterInput(slug=slug, aggregation=Aggregation(aggregation), event_type=slug, group_by=group_by or {},
                       value_property=body.get("valueProperty")),  # fmt: skip
            now=utcnow(),
        )


def ingest(om, server, meter: str, subject: str, data: dict, *, time: dt.datetime | None = None) -> None:
    event = {"specversion": "1.0", "id": str(uuid.uuid4()), "source": "tests", "type": meter, "subject": subject,
             "time": (time or utcnow()).isoformat(), "data": data}  # fmt: skip
    if "ingestEvents" in _IMPLEMENTED:
        om.ingest_events(body=event)
        return
    from domain.metering.events import EventService

    with server.backend.database.session(write=True) as session:
        EventService(session).ingest([event], now=utcnow())


def customer(om, key: str = "acme", subjects: tuple[str, ...] = ("acme-sub",)):
    return om.create_customer(body={"name": key.title(), "key": key, "usageAttribution": {"subjectKeys": list(subjects)}})


def metered_feature(om, server, key: str = "ai_tokens", meter: str = "tokens", **extra):
    make_meter(om, server, meter, **{k: v for k, v in extra.items() if k in ("aggregation", "value_property", "group_by")})
    body = {"key": key, "name": key, "meterSlug": meter}
    body.update({k: v for k, v in extra.items() if k in ("meterGroupByFilters", "advancedMeterGroupByFilters", "unitCost")})
    return om.create_feature(body=body)
