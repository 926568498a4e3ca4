"""The compose stack's shared Airflow secrets: one file each in the ``airflow-secrets`` volume.

``airflow-init`` runs ``python -m include.jdcloud_vpn.stack_secrets --dir /opt/airflow/secrets --owner UID``
before any other Airflow container starts. Each secret given in the environment (``FERNET_KEY``, ``JWT_SECRET``,
``API_SECRET_KEY``, e.g. from ``.env``) is written to its file; one not given keeps its file, or is generated on
the first start. Every component reads the files through ``AIRFLOW__<SECTION>__<KEY>_CMD`` (``cat <file>``), so
all of them share one Fernet key and Variables and Connections are always encrypted in Postgres.

A Fernet key that would make the stored data unreadable is refused: a new ``FERNET_KEY`` must list the current
key too (``new,current``, then ``airflow rotate-fernet-key``). No secret value is ever printed.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import Fernet


class StackSecretError(ValueError):
    """A secret given in the environment is unusable; the stack must not start with it."""


@dataclass(frozen=True)
class StackSecret:
    """One shared secret: the environment variable that may give it and the file every component reads."""

    env: str
    filename: str


FERNET_KEY = StackSecret("FERNET_KEY", "fernet_key")
JWT_SECRET = StackSecret("JWT_SECRET", "jwt_secret")
API_SECRET_KEY = StackSecret("API_SECRET_KEY", "api_secret_key")
STACK_SECRETS = (FERNET_KEY, JWT_SECRET, API_SECRET_KEY)


def check_fernet_keys(value: str) -> list[str]:
    """Return the comma-separated Fernet keys of ``value`` (first = the one that encrypts).

    :raises StackSecretError: a part is not a Fernet key (32 url-safe base64-encoded bytes); the key is not shown
    """
    keys = [part.strip() for part in value.split(",")]
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key.encode())
        except ValueError:
            raise StackSecretError(
                f"FERNET_KEY part {position} is not a Fernet key (32 url-safe base64-encoded bytes); generate one "
                'with: python -c "from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())"'
            ) from None
    return keys


def _generate(secret: StackSecret) -> str:
    if secret is FERNET_KEY:
        return Fernet.generate_key().decode()
    return secrets.token_urlsafe(32)


def _check_given(secret: StackSecret, given: str, current: str | None) -> None:
    if secret is not FERNET_KEY:
        return
    keys = check_fernet_keys(given)
    if current is not None and check_fernet_keys(current)[0] not in keys:
        raise StackSecretError(
            "FERNET_KEY differs from the key this stack's data is encrypted with (airflow-secrets volume): "
            "stored Variables and Connections would become unreadable. To rotate, set FERNET_KEY=<new>,<current> "
            "and run `airflow rotate-fernet-key`; for a fresh stack remove the volumes (docker compose down -v)"
        )


def _write(path: Path, value: str, owner: int | None) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(value, encoding="utf-8")  # no newline: the _CMD output is the value as is
    temporary.chmod(0o600)
    if owner is not None:
        os.chown(temporary, owner, 0)
    temporary.replace(path)


def ensure_stack_secrets(directory: Path, environ: Mapping[str, str], owner: int | None = None) -> dict[str, str]:
    """Write given secrets, keep existing ones, generate missing ones; return ``{file name: what was done}``.

    :param directory: the secrets volume
    :param environ: where given secrets are read (an empty value counts as not given)
    :param owner: uid that must own the files (the uid the Airflow containers run as); group 0, mode 0600
    :raises StackSecretError: a given secret is unusable (nothing is written then)
    """
    directory.mkdir(parents=True, exist_ok=True)
    plan: dict[StackSecret, tuple[str, str]] = {}
    for secret in STACK_SECRETS:
        path = directory / secret.filename
        current = path.read_text(encoding="utf-8").strip() if path.exists() else None
        given = environ.get(secret.env, "").strip()
        if given:
            _check_given(secret, given, current)
            plan[secret] = (given, "kept (same as the environment)" if given == current else "from the environment")
        elif current:
            plan[secret] = (current, "kept")
        else:
            plan[secret] = (_generate(secret), "generated")
    for secret, (value, _) in plan.items():
        _write(directory / secret.filename, value, owner)
    return {secret.filename: done for secret, (_, done) in plan.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m include.jdcloud_vpn.stack_secrets", description=__doc__)
    parser.add_argument("--dir", type=Path, required=True, help="the secrets volume")
    parser.add_argument("--owner", type=int, help="uid that must own the files (AIRFLOW_UID)")
    args = parser.parse_args(argv)
    try:
        done = ensure_stack_secrets(args.dir, os.environ, args.owner)
    except StackSecretError as error:
        print(f"ERROR: {error}", file=sys.stderr)
        return 1
    for filename, action in done.items():
        print(f"{args.dir / filename}: {action}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
