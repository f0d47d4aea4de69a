"""Meter query latency over HTTP (not a test), at growing event counts.

For each database (SQLite; PostgreSQL when TOLLGATE_BENCH_POSTGRES_URL or TOLLGATE_TEST_POSTGRES_URL
is set) and each size in `--sizes`: a fresh database seeded in process through the ingest path
(events, usage rows and rollups, 10,000 events per transaction) with N events spread evenly over
30 days across 1,000 subjects, one SUM meter, one customer owning one subject. Then, through HTTP:

- `customer`: queryMeter for the customer, windowSize=DAY over the 30 days (median of 30);
- `customer by hour`: the same with windowSize=HOUR (720 windows, read from usage rows: there are
  no per-subject hour rollups; median of 15);
- `all by day`: every subject together, windowSize=DAY over the 30 days (median of 15);
- `all subjects x day`: groupBy=subject, windowSize=DAY (30,000 rows; median of 5).

Run from the repository root:  python bench/meter_query.py [--sizes 100000,1000000]
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._server import databases, scratch_database, server  # noqa: E402

START = dt.datetime(2024, 5, 1, tzinfo=dt.timezone.utc)
DAYS = 30
SUBJECTS = 1000
CHUNK = 10_000


def seed(url: str, total: int) -> float:
    import storage.all_tables  # noqa: F401
    from domain.metering.events import Event
    from domain.metering.meters import Aggregation, MeterInput, MeterService
    from storage.db import Database
    from storage.events import EventRepository

    database = Database(url)
    with database.session() as session:
        meter = MeterService(session).create(
            MeterInput(slug="tokens", aggregation=Aggregation.SUM, event_type="prompt", value_property="$.tokens"), now=START
        )
    step = DAYS * 86400 / total
    base = int(START.timestamp())
    began = time.perf_counter()
    for first in range(0, total, CHUNK):
        events = [
            Event(id=f"e{n}", source="bench", type="prompt", subject=f"customer-{n % SUBJECTS}", time=base + int(n * step),
                  data={"tokens": n % 97})  # fmt: skip
            for n in range(first, min(total, first + CHUNK))
        ]
        with database.session() as session:
            EventRepository(session).ingest(events, [meter], ingested_at=base)
    elapsed = time.perf_counter() - began
    if database.dialect == "postgresql":  # steady state: autovacuum would have analysed the tables by now
        from sqlalchemy import text

        with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("ANALYZE"))
    database.dispose()
    return elapsed


def timed(client, params, runs: int) -> tuple[float, int]:
    samples, rows = [], 0
    for _ in range(runs):
        began = time.perf_counter()
        response = client.get("/api/v1/meters/tokens/query", params=params)
        samples.append(time.perf_counter() - began)
        assert response.status_code == 200, response.text
        rows = len(response.json()["data"])
    return statistics.median(samples) * 1000, rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="100000,1000000")
    args = parser.parse_args()
    window = {"from": START.isoformat(), "to": (START + dt.timedelta(days=DAYS)).isoformat(), "windowSize": "DAY"}
    for name, base in databases():
        for total in (int(size) for size in args.sizes.split(",")):
            with scratch_database(base) as url:
                seconds = seed(url, total)
                with server(url) as client:
                    customer = client.post("/api/v1/customers", json={"name": "Seven", "key": "acme-7",
                                           "usageAttribution": {"subjectKeys": ["customer-7"]}}).json()  # fmt: skip
                    timed(client, {**window, "filterCustomerId": customer["id"]}, 3)  # warm-up
                    one, one_rows = timed(client, {**window, "filterCustomerId": customer["id"]}, 30)
                    hourly, hourly_rows = timed(client, {**window, "windowSize": "HOUR", "filterCustomerId": customer["id"]}, 15)
                    every, every_rows = timed(client, window, 15)
                    grouped, grouped_rows = timed(client, {**window, "groupBy": "subject"}, 5)
                print(f"{name:10s} {total:>9,} events (seeded in {seconds:.0f} s, {total / seconds:,.0f}/s): "
                      f"customer by day {one:.1f} ms ({one_rows} rows); customer by hour {hourly:.1f} ms ({hourly_rows} rows); all by day {every:.1f} ms ({every_rows} rows); "
                      f"all subjects x day {grouped:.0f} ms ({grouped_rows} rows)", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
