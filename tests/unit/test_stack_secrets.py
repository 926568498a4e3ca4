"""Tests of the compose stack's shared secrets (``include.jdcloud_vpn.stack_secrets``), run by airflow-init."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from include.jdcloud_vpn.stack_secrets import StackSecretError, ensure_stack_secrets, main

FILES = ("fernet_key", "jwt_secret", "api_secret_key")


def _read(directory: Path) -> dict[str, str]:
    return {name: (directory / name).read_text() for name in FILES}


def test_first_start_generates_every_secret_readable_by_the_owner_only(tmp_path: Path) -> None:
    done = ensure_stack_secrets(tmp_path / "secrets", {})
    assert done == dict.fromkeys(FILES, "generated")
    values = _read(tmp_path / "secrets")
    Fernet(values["fernet_key"].encode())  # a usable key, no trailing newline
    assert len(values["jwt_secret"]) >= 32 and values["jwt_secret"] != values["api_secret_key"]
    for name in FILES:
        assert stat.S_IMODE((tmp_path / "secrets" / name).stat().st_mode) == 0o600


def test_a_restart_keeps_the_secrets(tmp_path: Path) -> None:
    ensure_stack_secrets(tmp_path, {})
    first = _read(tmp_path)
    assert ensure_stack_secrets(tmp_path, {"FERNET_KEY": "", "JWT_SECRET": " "}) == dict.fromkeys(FILES, "kept")
    assert _read(tmp_path) == first


def test_secrets_from_the_environment_are_written(tmp_path: Path) -> None:
    key = Fernet.generate_key().decode()
    done = ensure_stack_secrets(tmp_path, {"FERNET_KEY": key, "JWT_SECRET": "jwt-from-env"})
    assert done["fernet_key"] == done["jwt_secret"] == "from the environment"
    assert _read(tmp_path)["fernet_key"] == key and _read(tmp_path)["jwt_secret"] == "jwt-from-env"


def test_a_fernet_key_that_would_orphan_the_data_is_refused(tmp_path: Path) -> None:
    ensure_stack_secrets(tmp_path, {})
    before = _read(tmp_path)
    other = Fernet.generate_key().decode()
    with pytest.raises(StackSecretError, match="differs from the key this stack's data is encrypted with") as error:
        ensure_stack_secrets(tmp_path, {"FERNET_KEY": other, "JWT_SECRET": "new-jwt"})
    assert other not in str(error.value) and before["fernet_key"] not in str(error.value)
    assert _read(tmp_path) == before, "nothing may be written when a secret is refused"


def test_a_rotation_listing_the_current_key_is_accepted(tmp_path: Path) -> None:
    ensure_stack_secrets(tmp_path, {})
    current, new = _read(tmp_path)["fernet_key"], Fernet.generate_key().decode()
    ensure_stack_secrets(tmp_path, {"FERNET_KEY": f"{new},{current}"})
    assert _read(tmp_path)["fernet_key"] == f"{new},{current}"
    ensure_stack_secrets(tmp_path, {"FERNET_KEY": new})  # after `airflow rotate-fernet-key`: the old key dropped
    assert _read(tmp_path)["fernet_key"] == new


def test_a_malformed_fernet_key_fails_init_without_showing_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FERNET_KEY", "not-a-fernet-key-but-secret")
    assert main(["--dir", str(tmp_path)]) == 1
    out = capsys.readouterr()
    assert "FERNET_KEY part 1 is not a Fernet key" in out.err
    assert "not-a-fernet-key-but-secret" not in out.err + out.out
    assert not list(tmp_path.iterdir())


def test_init_output_names_the_files_never_the_values(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("FERNET_KEY", "JWT_SECRET", "API_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    assert main(["--dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert f"{tmp_path / 'fernet_key'}: generated" in out
    for value in _read(tmp_path).values():
        assert value not in out
