"""GET /internal/check through the generated GitLab client."""

from __future__ import annotations

import pytest

from generated.gitlab.client import GitLabClient
from generated.runtime import NO_RETRY, UnauthorizedError


def test_check_reports_version_and_state_store(gitlab_internal):
    check = gitlab_internal.internal_check()
    assert check.api_version == "v4"
    assert check.gitlab_version.startswith("13.")
    assert check.redis is True


def test_check_refuses_without_the_secret(clean_server):
    with GitLabClient(clean_server.url, retry=NO_RETRY) as client, pytest.raises(UnauthorizedError) as error:
        client.internal_check()
    assert error.value.body == {"message": "401 Unauthorized"}
