"""`tollgate check` (run by `make check` and CI): the guarantees the tree must keep.

1. Every spec, source and served, is a valid OpenAPI document.
2. generated/ is exactly what `make generate` writes.
3. Every public handler function is an operationId of its module's tag (no orphans, no typos), and
   takes only parameters that operation has.
4. Every operation requires credentials (except the ones listed in OPEN_OPERATIONS, with the reason).
5. The migrations produce exactly the tables `storage/` declares.
"""

from __future__ import annotations

import ast
import json
import tempfile
from pathlib import Path

from tollgate.apis import APIS, ROOT, ApiDefinition, handler_module_for_tag
from tollgate.codegen.served import iter_operations, operation_handler

# Operations that accept requests without Tollgate credentials, and why.
OPEN_OPERATIONS = {
    ("openmeter", "appStripeWebhook"): "Stripe calls it; the handler verifies Stripe's signature instead",
}


def check_specs() -> list[str]:
    from openapi_spec_validator import validate
    from openapi_spec_validator.readers import read_from_filename

    failures = []
    for api in APIS:
        for path in (ROOT / api.spec_file, api.served_spec_path):
            try:
                document, _ = read_from_filename(str(path))
                validate(document)
            except Exception as error:  # every validator error is a failure to report, not to raise
                failures.append(f"{path.relative_to(ROOT)} is not a valid OpenAPI document: {str(error).splitlines()[0]}")
    return failures


def check_generated() -> list[str]:
    from tollgate.codegen import drift

    return [f"{problem} (run `make generate`)" for problem in drift()]


def _connexion_name(name: str) -> str:
    from connexion.decorators.parameter import pythonic

    return pythonic(name)


def _operation_parameter_names(spec: dict, operation: dict, path_item: dict) -> set[str]:
    from tollgate.codegen.client import _parameters

    names = {_connexion_name(param["name"]) for param in _parameters(spec, operation, path_item)}
    if "requestBody" in operation:
        names.add(operation.get("x-body-name", "body"))
    return names


def check_handlers(api: ApiDefinition, spec: dict) -> list[str]:
    failures = []
    operations: dict[tuple[str, str], set[str]] = {}
    for _path, _method, operation, path_item in iter_operations(spec):
        operations[operation_handler(operation)] = _operation_parameter_names(spec, operation, path_item)
    modules = {module for module, _function in operations}
    tags = {handler_module_for_tag(tag["name"]) for tag in spec.get("tags", [])}
    for source in sorted((ROOT / "handlers" / api.name).glob("*.py")):
        if source.name.startswith("_"):
            continue
        if source.stem not in modules and source.stem not in tags:
            failures.append(f"handlers/{api.name}/{source.name}: no tag of the {api.name} spec maps to this module")
        tree = ast.parse(source.read_text(encoding="utf-8"))
        for node in tree.body:
            if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) or node.name.startswith("_"):
                continue
            where = f"handlers/{api.name}/{source.name}:{node.name}"
            accepted = operations.get((source.stem, node.name))
            if accepted is None:
                failures.append(f"{where} is not an operationId of this module's tag (typo, or a helper that should start with _)")
                continue
            arguments = node.args
            if not arguments.args or arguments.args[0].arg != "ctx":
                failures.append(f"{where} must take `ctx` as its first parameter")
            named = [a.arg for a in arguments.args[1:]] + [a.arg for a in arguments.kwonlyargs]
            for name in named:
                if name not in accepted:
                    failures.append(f"{where} takes `{name}`, which the operation does not have (it has {sorted(accepted)})")
    return failures


def check_security(api: ApiDefinition, spec: dict) -> list[str]:
    failures = []
    schemes = spec.get("components", {}).get("securitySchemes", {})
    for _path, _method, operation, _item in iter_operations(spec):
        requirements = operation.get("security", spec.get("security", []))
        open_ = not requirements or any(not requirement for requirement in requirements)
        if open_ and (api.name, operation["operationId"]) not in OPEN_OPERATIONS:
            failures.append(f"{api.name} {operation['operationId']} requires no credentials")
        for requirement in requirements:
            for name in requirement:
                if name not in schemes:
                    failures.append(f"{api.name} {operation['operationId']} names unknown security scheme {name}")
    from tollgate.auth import VERIFIERS

    for name in schemes:
        if (api.name, name) not in VERIFIERS:
            failures.append(f"{api.name} security scheme {name} has no verifier in tollgate/auth.py")
    return failures


def check_migrations() -> list[str]:
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    import storage.all_tables  # noqa: F401
    from storage.base import Base
    from storage.db import Database

    with tempfile.TemporaryDirectory() as scratch:
        database = Database(f"sqlite:///{Path(scratch) / 'check.db'}")
        try:
            database.migrate()
            with database.engine.connect() as connection:
                context = MigrationContext.configure(connection, opts={"compare_type": True, "render_as_batch": True})
                differences = compare_metadata(context, Base.metadata)
        finally:
            database.dispose()
    return [f"migrations and storage/ tables differ: {difference}" for difference in differences]


def run_checks() -> list[str]:
    failures = check_specs()
    for api in APIS:
        served = json.loads(api.served_spec_path.read_text(encoding="utf-8"))
        failures += check_handlers(api, served)
        failures += check_security(api, served)
    failures += check_generated()
    failures += check_migrations()
    return failures
