"""Configuration: secrets left unset are generated once into var/ and reused."""

from __future__ import annotations

from tollgate.config import Settings, resolve_secrets


def test_unset_secrets_are_generated_once_and_reused(tmp_path):
    settings = Settings(var_dir=tmp_path, openmeter_api_keys=None, flowglad_api_keys=None)
    first = resolve_secrets(settings)
    assert first.openmeter_api_keys[0].startswith("om_")
    assert first.flowglad_api_keys[0].startswith("sk_test_")
    assert "openmeter-api-key" in first.generated
    assert (tmp_path / "openmeter-api-key").stat().st_mode & 0o777 == 0o600
    second = resolve_secrets(settings)
    assert second.openmeter_api_keys == first.openmeter_api_keys
    assert second.gitlab_shell_secret == first.gitlab_shell_secret
    assert second.generated == ()


def test_environment_keys_win_and_are_split(tmp_path, monkeypatch):
    monkeypatch.setenv("TOLLGATE_OPENMETER_API_KEYS", "a, b ,,c")
    monkeypatch.setenv("TOLLGATE_VAR_DIR", str(tmp_path))
    secrets = resolve_secrets(Settings())
    assert secrets.openmeter_api_keys == ("a", "b", "c")
    assert not (tmp_path / "openmeter-api-key").exists()


def test_default_database_is_sqlite_under_var(tmp_path):
    assert Settings(var_dir=tmp_path).effective_database_url == f"sqlite:///{tmp_path / 'tollgate.db'}"
