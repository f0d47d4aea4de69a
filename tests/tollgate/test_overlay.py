"""The overlay applier that keeps third-party specs byte for byte."""

from __future__ import annotations

import pytest

from tollgate.codegen.overlay import OverlayError, apply_overlay, parse_target


def test_targets_parse_dots_brackets_and_wildcards():
    assert parse_target("$") == []
    assert parse_target("$.paths['/api/v1/meters'].get") == ["paths", "/api/v1/meters", "get"]
    assert parse_target('$.components.parameters["MeterQuery.to"]') == ["components", "parameters", "MeterQuery.to"]
    assert parse_target("$.paths.*.get.responses") == ["paths", "*", "get", "responses"]
    with pytest.raises(OverlayError):
        parse_target("paths.x")


def test_update_merges_objects_appends_arrays_and_leaves_the_source_untouched():
    spec = {"info": {"title": "t"}, "tags": [{"name": "a"}], "paths": {"/x": {"get": {"responses": {"200": {}}}}}}
    overlay = {
        "overlay": "1.0.0",
        "actions": [
            {"target": "$.info", "update": {"version": "2"}},
            {"target": "$.tags", "update": [{"name": "b"}]},
            {"target": "$.paths.*.get.responses", "update": {"404": {"description": "gone"}}},
        ],
    }
    result = apply_overlay(spec, overlay)
    assert result["info"] == {"title": "t", "version": "2"}
    assert [t["name"] for t in result["tags"]] == ["a", "b"]
    assert set(result["paths"]["/x"]["get"]["responses"]) == {"200", "404"}
    assert spec["tags"] == [{"name": "a"}] and "version" not in spec["info"]


def test_remove_and_stale_targets():
    spec = {"servers": [{"url": "https://127.0.0.1"}], "info": {}}
    result = apply_overlay(spec, {"overlay": "1.0.0", "actions": [{"target": "$.servers", "remove": True}]})
    assert "servers" not in result
    with pytest.raises(OverlayError, match="matches nothing"):
        apply_overlay(spec, {"overlay": "1.0.0", "actions": [{"target": "$.nothing.here", "update": {}}]})


def test_served_openmeter_spec_keeps_upstream_and_adds_our_deltas():
    import json

    import yaml

    from tollgate.apis import OPENMETER, ROOT

    upstream = yaml.load((ROOT / "spec/openmeter.yaml").read_text(), Loader=yaml.CSafeLoader)
    served = json.loads(OPENMETER.served_spec_path.read_text())
    assert served["security"] == [{"ApiKeyAuth": []}]
    assert "PortalTokenAuth" in served["components"]["securitySchemes"]
    assert "Exclusive" in served["components"]["parameters"]["MeterQuery.to"]["description"]
    assert len(served["paths"]) == len(upstream["paths"])
