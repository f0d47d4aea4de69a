"""Apply an OpenAPI Overlay 1.0 document to a spec.

The third-party spec stays byte for byte in `spec/`; our deltas live in an overlay beside it, so a
newer upstream file drops in without a merge. Targets use the JSONPath subset the overlays need:
`$`, `.name`, `['name']` and the wildcard `*` (`.*` or `[*]`).
Actions run in order; `update` merges objects recursively and appends to arrays, `remove: true`
deletes the target. A target that matches nothing is an error, so a stale overlay cannot pass silently.
"""

from __future__ import annotations

import copy
import re
from typing import Any

_SEGMENT = re.compile(r"""\.(?P<dot>[A-Za-z0-9_\-$]+|\*)|\[(?:'(?P<sq>[^']*)'|"(?P<dq>[^"]*)"|(?P<star>\*))\]""")


class OverlayError(ValueError):
    pass


def parse_target(target: str) -> list[str]:
    """`$.paths['/api/v1/meters'].get` -> ["paths", "/api/v1/meters", "get"]; `*` stays a wildcard."""
    if not target.startswith("$"):
        raise OverlayError(f"target must start with '$': {target!r}")
    segments: list[str] = []
    position = 1
    while position < len(target):
        match = _SEGMENT.match(target, position)
        if not match:
            raise OverlayError(f"unsupported JSONPath at {target[position:]!r} in {target!r}")
        if match.group("star") is not None:
            segments.append("*")
        else:
            segments.append(next(g for g in (match.group("dot"), match.group("sq"), match.group("dq")) if g is not None))
        position = match.end()
    return segments


def _select(node: Any, segments: list[str]) -> list[tuple[Any, str | int | None]]:
    """Every (parent, key) the path reaches; the root is (None, None)."""
    frontier: list[tuple[Any, Any, Any]] = [(None, None, node)]
    for segment in segments:
        nxt: list[tuple[Any, Any, Any]] = []
        for _, _, current in frontier:
            if isinstance(current, dict):
                keys = list(current) if segment == "*" else ([segment] if segment in current else [])
                nxt.extend((current, key, current[key]) for key in keys)
            elif isinstance(current, list):
                if segment == "*":
                    nxt.extend((current, index, item) for index, item in enumerate(current))
                elif segment.isdigit() and int(segment) < len(current):
                    nxt.append((current, int(segment), current[int(segment)]))
        frontier = nxt
    return [(parent, key) for parent, key, _ in frontier]


def _merge(target: Any, update: Any) -> Any:
    if isinstance(target, dict) and isinstance(update, dict):
        for key, value in update.items():
            target[key] = _merge(target[key], value) if key in target else copy.deepcopy(value)
        return target
    if isinstance(target, list) and isinstance(update, list):
        target.extend(copy.deepcopy(update))
        return target
    return copy.deepcopy(update)


def apply_overlay(spec: dict, overlay: dict) -> dict:
    """Return a new spec with the overlay's actions applied."""
    if not str(overlay.get("overlay", "")).startswith("1."):
        raise OverlayError("not an OpenAPI Overlay 1.x document")
    result = copy.deepcopy(spec)
    for number, action in enumerate(overlay.get("actions", []), start=1):
        target = action.get("target")
        if not target:
            raise OverlayError(f"action {number} has no target")
        segments = parse_target(target)
        matches = _select(result, segments)
        if not matches:
            raise OverlayError(f"action {number} ({action.get('description', target)}): target {target!r} matches nothing")
        for parent, key in matches:
            if action.get("remove"):
                if parent is None:
                    raise OverlayError("cannot remove the document root")
                del parent[key]
            elif "update" in action:
                if parent is None:
                    _merge(result, action["update"])
                else:
                    parent[key] = _merge(parent[key], action["update"])
    return result
