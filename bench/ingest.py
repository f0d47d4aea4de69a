"""Ingest throughput over HTTP (not a test): batches of 1,000 CloudEvents, one client, one server process.

For each database (SQLite; PostgreSQL when TOLLGATE_BENCH_POSTGRES_URL or TOLLGATE_TEST_POSTGRES_URL
is set): a fresh database, one SUM meter with a groupBy on the event type (so every event also
updates usage rows and rollups), `--batches` batches posted back to back, events of 1,000 subjects.
Reported: events/s over HTTP for the whole run, for its first 50 batches (a fresh database) and for
its last 100 (sustained: by then every per-subject index is larger than a batch touches), the batch
p50, and the ratio to a raw bulk insert (executemany) of the same rows into `om_events` alone.

Run from the repository root:  python bench/ingest.py [--batches 40]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._server import databases, scratch_database, server  # noqa: E402

BATCH = 1000
START = dt.datetime(2024, 5, 1, tzinfo=dt.timezone.utc)


def batch(number: int) -> list[dict]:
    events = []
    for i in range(BATCH):
        n = number * BATCH + i
        at = START + dt.timedelta(seconds=n * 7)
        events.append({
            "specversion": "1.0", "id": f"evt-{n}", "source": "bench", "type": "prompt", "subject": f"customer-{n % 1000}",
            "time": at.isoformat().replace("+00:00", "Z"), "data": {"tokens": n % 97, "model": f"m{n % 3}"},
        })  # fmt: skip
    return events


def raw_insert(url: str, bodies: list[list[dict]]) -> float:
    from sqlalchemy import insert

    from storage.db import Database
    from storage.events import EventRow

    database = Database(url)
    rows = [
        {"source": e["source"], "event_id": e["id"], "type": e["type"], "subject": e["subject"],
         "time": int(dt.datetime.fromisoformat(e["time"].replace("Z", "+00:00")).timestamp()),
         "data": json.dumps(e["data"], sort_keys=True), "specversion": "1.0", "dataschema": None, "ingested_at": 0}
        for body in bodies for e in body
    ]  # fmt: skip
    began = time.perf_counter()
    for start in range(0, len(rows), BATCH):
        with database.session() as session:
            session.execute(insert(EventRow), rows[start : start + BATCH])
    elapsed = time.perf_counter() - began
    database.dispose()
    return len(rows) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batches", type=int, default=300)
    args = parser.parse_args()
    bodies = [batch(n) for n in range(args.batches + 2)]
    payloads = [json.dumps(body).encode() for body in bodies]
    for name, base in databases():
        with scratch_database(base) as url, server(url) as client:
            meter = {"slug": "tokens", "aggregation": "SUM", "eventType": "prompt", "valueProperty": "$.tokens", "groupBy": {"model": "$.model"}}
            assert client.post("/api/v1/meters", json=meter).status_code == 201
            headers = {"Content-Type": "application/cloudevents-batch+json"}
            for payload in payloads[:2]:  # warm-up: imports, connections
                assert client.post("/api/v1/events", content=payload, headers=headers).status_code == 204
            latencies = []
            began = time.perf_counter()
            for payload in payloads[2:]:
                t = time.perf_counter()
                response = client.post("/api/v1/events", content=payload, headers=headers)
                latencies.append(time.perf_counter() - t)
                assert response.status_code == 204, response.text
            elapsed = time.perf_counter() - began
            total = args.batches * BATCH
            check = client.get("/api/v1/meters/tokens/query").json()["data"][0]["value"]
            expected = sum(e["data"]["tokens"] for body in bodies for e in body)
            assert check == expected, (check, expected)
        with scratch_database(base) as url:
            raw = raw_insert(url, bodies[2:])
        http_rate = total / elapsed
        first, last = latencies[:50], latencies[-100:]

        def p50(samples: list[float]) -> float:
            return sorted(samples)[len(samples) // 2] * 1000

        print(f"{name:10s} HTTP ingest: {total:,} events in {elapsed:.2f} s = {http_rate:,.0f} events/s "
              f"(batch p50 {p50(latencies):.0f} ms); first {len(first)} batches {len(first) * BATCH / sum(first):,.0f} events/s "
              f"(p50 {p50(first):.0f} ms); last {len(last)} batches {len(last) * BATCH / sum(last):,.0f} events/s "
              f"(p50 {p50(last):.0f} ms); raw bulk insert of the same rows: {raw:,.0f} rows/s; HTTP/raw = {http_rate / raw:.2f}",
              flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
