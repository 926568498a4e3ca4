"""Where the pre-shared key lives: an Airflow Variable or Connection named by the conf, never the conf itself.

The default Variable key is ``jdcloud_vpn_psk_secret_<name>``: it contains ``secret``, one of Airflow's default
sensitive words, so the UI and the REST API show ``***`` for it. A key that Airflow would show in clear is never
used to store a generated key, and the key of older releases (``jdcloud_vpn_psk_<name>``) is moved to the new one
the first time it is read.
"""

from __future__ import annotations

import logging

from airflow.sdk import Connection, Variable
from airflow.sdk.log import mask_secret

from include.jdcloud_vpn.conf import (
    InterconnectConf,
    default_psk_variable,
    generate_psk,
    legacy_psk_variable,
    validate_psk,
)

log = logging.getLogger(__name__)


class PskError(LookupError):
    """The pre-shared key is missing or unusable; retrying cannot fix it."""


def variable_is_masked(key: str) -> bool:
    """Return whether Airflow hides the value of Variable ``key`` in its UI and REST API.

    The rule of the running Airflow (``should_hide_value_for_key``): the key contains one of the default sensitive
    words (``secret``, ``password``, ``token``, ...) or of ``[core] sensitive_var_conn_names``, and ``[core]
    hide_sensitive_var_conn_fields`` is on. The worker must share the API server's configuration.
    """
    # Airflow 3.3 has no public import of this function; the SDK's copy is configured from airflow.cfg.
    from airflow.sdk._shared.secrets_masker import should_hide_value_for_key

    return bool(should_hide_value_for_key(key))


def resolve_psk(conf: InterconnectConf, *, create_if_missing: bool) -> str:
    """Return the interconnect's PSK, masked in every log from here on.

    With a Variable reference and ``create_if_missing``, a strong key is generated and stored when the
    Variable does not exist yet (first build), unless Airflow would show that Variable in clear. A Connection
    reference must exist (its password is the key).

    :raises PskError: the key is missing, would be stored where Airflow shows it, or breaks JD Cloud's PSK rules
        (the message never holds the key)
    """
    ref = conf.psk_secret
    if ref.connection:
        value = Connection.get(ref.connection).password
        if not value:
            raise PskError(f"connection {ref.connection} has no password to use as the pre-shared key")
        source = f"connection {ref.connection}"
    else:
        value = _variable_psk(conf, create_if_missing=create_if_missing)
        source = f"variable {ref.variable}"
    mask_secret(value)
    try:
        validate_psk(value)
    except ValueError as error:
        raise PskError(f"the pre-shared key in {source} is not usable: {error}") from None
    return value


def _variable_psk(conf: InterconnectConf, *, create_if_missing: bool) -> str:
    """Read (moving a legacy key first) or generate the PSK in the conf's Variable."""
    key = str(conf.psk_secret.variable)  # PskSecret holds exactly one of variable and connection
    value = Variable.get(key, default=None)
    if value is None and key == default_psk_variable(conf.name):
        value = _move_legacy_psk(conf.name)
    if value is not None:
        mask_secret(value)
        if not variable_is_masked(key):
            log.warning(
                "Variable %s holding the pre-shared key is shown in clear by the Airflow UI and REST API: move it "
                "to a key containing 'secret' (default %s) or add a word of the key to [core] "
                "sensitive_var_conn_names",
                key,
                default_psk_variable(conf.name),
            )
        return value
    if not create_if_missing:
        raise PskError(f"variable {key} holding the pre-shared key does not exist")
    if not variable_is_masked(key):
        raise PskError(
            f"not storing a new pre-shared key in variable {key}: Airflow would show its value in clear in the UI "
            f"and REST API. Use a key containing 'secret' (the default is {default_psk_variable(conf.name)}), add "
            "a word of the key to [core] sensitive_var_conn_names, or keep the key in a Connection's password "
            '(psk_secret {"connection": ...})'
        )
    value = generate_psk()
    mask_secret(value)
    Variable.set(key, value, description=f"IPsec pre-shared key of interconnect {conf.name}")
    log.info("Generated a new pre-shared key and stored it in variable %s", key)
    return value


def _move_legacy_psk(name: str) -> str | None:
    """Move the PSK from the pre-``secret`` default key to the current one; return it (None if there is none)."""
    old, new = legacy_psk_variable(name), default_psk_variable(name)
    value = Variable.get(old, default=None)
    if value is None:
        return None
    mask_secret(value)
    Variable.set(new, value, description=f"IPsec pre-shared key of interconnect {name}")
    Variable.delete(old)
    log.warning("Moved the pre-shared key from variable %s (shown in clear by Airflow) to %s (masked)", old, new)
    return value
