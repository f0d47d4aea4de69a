"""OpenMeter notifications: channels, rules, events, webhook signing and delivery (openmeter-billing.md 5)."""
