"""Tollgate: spec-first billing, metering and provisioning server (OpenMeter, GitLab, Flowglad APIs).

This package is the wiring: app factory, operationId resolver, auth, error mapping, config, CLI.
"""

import warnings

# Starlette warns that its test client wants `httpx2`; connexion imports the test client eagerly.
warnings.filterwarnings("ignore", message=r"Using `httpx` with `starlette.testclient`")
