"""OpenMeter product catalog: plans (versions, phases), add-ons, plan↔add-on assignments, rate cards.

Behaviour follows shared/reference/openmeter-billing.md section 1 (rulings 5 and 6 of DECISIONS.md):
`durations` (ISO 8601 periods and cadence alignment), `issues` (validation issues with OpenMeter's
codes and severities), `ratecards` (normalising and validating rate cards and prices), `plans`,
`addons` and `plan_addons` (the services). Plan and add-on status is computed from the effective
period at read time, never stored.
"""
