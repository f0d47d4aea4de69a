"""OpenMeter metering core: meters, events, usage queries (shared/reference/openmeter-core.md 2-4).

- `meters`: the meter model, its validation and `MeterService` (create, get by id or slug, list, update, delete);
- `jsonpath`: the simple JSONPath subset meters use (`$.a.b`) and ClickHouse `JSON_VALUE` semantics;
- `events`: CloudEvents validation and `EventService` (ingest with dedupe, list v1/v2);
- `query`: usage queries (windows, time zones, grouping, filters) run in SQL by `storage.events`;
- `usage`: `MeterUsageSource`, the credit engine's `UsageSource` over a meter.
"""
