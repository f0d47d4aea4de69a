"""The `tollgate` command: serve, migrate, generate, ops, check."""

from __future__ import annotations

import argparse
import collections
import sys
from pathlib import Path


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    from storage.db import Database
    from tollgate.config import Settings, resolve_secrets

    settings = Settings()
    database = Database(settings.effective_database_url)
    database.migrate()  # once, before the workers start
    database.dispose()
    secrets = resolve_secrets(settings)
    if not settings.openmeter_api_keys:
        print(f"OpenMeter API key (from {settings.var_dir / 'openmeter-api-key'}): {secrets.openmeter_api_keys[0]}", flush=True)
    if not settings.flowglad_api_keys:
        print(f"Flowglad API key (from {settings.var_dir / 'flowglad-api-key'}): {secrets.flowglad_api_keys[0]}", flush=True)
    if not settings.gitlab_shell_secret:
        print(f"GitLab Shell secret file: {settings.var_dir / 'gitlab-shell-secret'}", flush=True)
    print(f"Serving OpenMeter at http://{args.host}:{args.port}/ (spec /openapi.json), "
          f"GitLab at /api/v4, Flowglad at /flowglad", flush=True)  # fmt: skip
    uvicorn.run(
        "tollgate.app:create_asgi_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=settings.log_level.lower(),
        access_log=args.access_log,
    )
    return 0


def _migrate(_: argparse.Namespace) -> int:
    from storage.db import Database
    from tollgate.config import Settings

    settings = Settings()
    Database(settings.effective_database_url).migrate()
    print(f"database at head: {settings.effective_database_url}")
    return 0


def _generate(args: argparse.Namespace) -> int:
    from tollgate import codegen

    if args.check:
        problems = codegen.drift()
        for problem in problems:
            print(problem)
        if problems:
            print("generated/ is out of date with spec/ and handlers/: run `make generate` and commit the result.")
            return 1
        print("generated/ is in sync")
        return 0
    written = codegen.generate()
    print(f"wrote {len(written)} files under generated/")
    return 0


def operations_status() -> list[tuple[str, str, str, bool]]:
    """(api, tag, operationId, implemented) for every operation, implementation read from handlers/ now."""
    import importlib

    from tollgate.apis import APIS
    from tollgate.codegen.served import implemented_functions

    rows = []
    for api in APIS:
        implemented = implemented_functions(api)
        for op in importlib.import_module(f"generated.{api.name}.operations").OPERATIONS:
            module = op.module.rsplit(".", 1)[-1]
            rows.append((api.name, op.tag, op.operation_id, op.function in implemented.get(module, set())))
    return rows


def _ops(args: argparse.Namespace) -> int:
    rows = operations_status()
    by_api: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    by_tag: dict[tuple[str, str], collections.Counter] = collections.defaultdict(collections.Counter)
    for api, tag, _op, done in rows:
        by_api[api]["total"] += 1
        by_api[api]["implemented"] += done
        by_tag[(api, tag)]["total"] += 1
        by_tag[(api, tag)]["implemented"] += done
    print(f"{'API / tag':<44} {'total':>6} {'impl':>6} {'missing':>8}")
    for api in by_api:
        for (tag_api, tag), counts in sorted(by_tag.items()):
            if tag_api == api:
                print(f"  {api + ' / ' + tag:<42} {counts['total']:>6} {counts['implemented']:>6} {counts['total'] - counts['implemented']:>8}")
        counts = by_api[api]
        print(f"{api + ' (all)':<44} {counts['total']:>6} {counts['implemented']:>6} {counts['total'] - counts['implemented']:>8}")
    if args.missing:
        print("\nmissing:")
        for api, tag, operation_id, done in rows:
            if not done:
                print(f"  {api:<10} {tag:<28} {operation_id}")
    total = sum(c["total"] for c in by_api.values())
    implemented = sum(c["implemented"] for c in by_api.values())
    print(f"{'all APIs':<44} {total:>6} {implemented:>6} {total - implemented:>8}")
    return 0


def _check(_: argparse.Namespace) -> int:
    from tollgate.checks import run_checks

    failures = run_checks()
    for failure in failures:
        print(f"FAIL {failure}")
    if failures:
        return 1
    print("all checks passed")
    return 0


def main(argv: list[str] | None = None) -> int:
    sys.path.insert(0, str(Path.cwd()))
    parser = argparse.ArgumentParser(prog="tollgate", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="migrate, then serve the three APIs")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8080)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument("--access-log", action="store_true")
    serve.set_defaults(func=_serve)

    commands.add_parser("migrate", help="bring the database to the newest schema").set_defaults(func=_migrate)

    generate = commands.add_parser("generate", help="write generated/ from spec/")
    generate.add_argument("--check", action="store_true", help="fail if generated/ differs from a fresh generation")
    generate.set_defaults(func=_generate)

    ops = commands.add_parser("ops", help="operations per API and tag: total, implemented, missing")
    ops.add_argument("--missing", action="store_true", help="list the missing operations")
    ops.set_defaults(func=_ops)

    commands.add_parser("check", help="specs valid, generated/ in sync, handlers match operationIds, migrations match tables").set_defaults(func=_check)

    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
