"""The official `@flowglad/node` SDK (0.29.0, pinned in sdk/package.json) against Tollgate's billing view.

Skipped when Node or the installed package is missing (`npm install` in tests/handlers/flowglad/sdk).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import FLOWGLAD_KEY

SDK_DIR = Path(__file__).parent / "sdk"

pytestmark = pytest.mark.skipif(
    shutil.which("node") is None or not (SDK_DIR / "node_modules" / "@flowglad" / "node").is_dir(),
    reason="node or @flowglad/node not installed (npm install in tests/handlers/flowglad/sdk)",
)


def _retrieve_billing(server, external_id: str, key: str = FLOWGLAD_KEY) -> dict:
    result = subprocess.run(["node", "retrieve_billing.mjs", f"{server.url}/flowglad", key, external_id],
                            cwd=SDK_DIR, capture_output=True, text=True, timeout=60, check=True)  # fmt: skip
    return json.loads(result.stdout)


def test_sdk_retrieve_billing_reads_the_view_and_the_404(clean_server, om):
    om.create_feature(body={"key": "sso", "name": "Single sign-on"})
    card = {"type": "flat_fee", "key": "sso", "name": "SSO", "featureKey": "sso", "billingCadence": "P1M",
            "price": {"type": "flat", "amount": "12.50"}, "entitlementTemplate": {"type": "boolean"}}  # fmt: skip
    plan = om.create_plan(body={"key": "team", "name": "Team", "currency": "EUR", "billingCadence": "P1M",
                                "phases": [{"key": "default", "name": "Default", "duration": None, "rateCards": [card]}]})  # fmt: skip
    om.publish_plan(plan_id=plan.id)
    om.create_customer(body={"name": "Ada", "key": "user_123"})
    om.create_subscription(body={"customerKey": "user_123", "plan": {"key": "team"}})

    billing = _retrieve_billing(clean_server, "user_123")["ok"]
    assert billing["customer"]["externalId"] == "user_123"
    (product,) = billing["pricingModel"]["products"]
    assert product["slug"] == "team" and product["defaultPrice"]["unitPrice"] == 1250 and product["defaultPrice"]["currency"] == "EUR"
    current = billing["currentSubscriptions"][0]
    # What @flowglad/server's checkFeatureAccess reads: a toggle feature item with the slug.
    assert [(f["type"], f["slug"]) for f in current["experimental"]["featureItems"]] == [("toggle", "sso")]
    assert billing["currentSubscription"]["id"] == current["id"]

    error = _retrieve_billing(clean_server, "nobody")["error"]
    assert (error["name"], error["status"], error["body"]["code"]) == ("NotFoundError", 404, "NOT_FOUND")
    error = _retrieve_billing(clean_server, "user_123", key="sk_test_unknown")["error"]
    assert (error["name"], error["status"]) == ("AuthenticationError", 401)
