"""OpenMeter subscriptions (openmeter-billing.md section 2; DECISIONS.md rulings 2 and 5).

`model` holds the records (a subscription with its phases and, per phase, item versions at absolute
UTC times) and the status machine; `timing` the calendar arithmetic (phase starts, aligned billing
periods, `immediate` / `next_billing_cycle` / explicit times); `service` the operations.
"""
