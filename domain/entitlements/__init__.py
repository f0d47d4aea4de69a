"""OpenMeter entitlements, grants and usage resets (openmeter-core.md section 7) over domain.credit.

- `service`: the rules (create/override/delete, grants, value, reset, history);
- `model`: the stored shapes; `mapping`: stored rows as credit-engine inputs and the usage source;
- `customers`: the small view of customers entitlements need.
"""
