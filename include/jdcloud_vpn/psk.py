"""Where the pre-shared key lives: an Airflow Variable or Connection named by the conf, never the conf itself."""

from __future__ import annotations

import logging

from airflow.sdk import Connection, Variable
from airflow.sdk.log import mask_secret

from include.jdcloud_vpn.conf import InterconnectConf, generate_psk, validate_psk

log = logging.getLogger(__name__)


class PskError(LookupError):
    """The pre-shared key is missing or unusable; retrying cannot fix it."""


def resolve_psk(conf: InterconnectConf, *, create_if_missing: bool) -> str:
    """Return the interconnect's PSK, masked in every log from here on.

    With a Variable reference and ``create_if_missing``, a strong key is generated and stored when the
    Variable does not exist yet (first build). A Connection reference must exist (its password is the key).

    :raises PskError: the key is missing, or breaks JD Cloud's PSK rules (the message never holds the key)
    """
    ref = conf.psk_secret
    if ref.connection:
        value = Connection.get(ref.connection).password
        if not value:
            raise PskError(f"connection {ref.connection} has no password to use as the pre-shared key")
        source = f"connection {ref.connection}"
    else:
        value = Variable.get(ref.variable, default=None)
        source = f"variable {ref.variable}"
        if value is None:
            if not create_if_missing:
                raise PskError(f"variable {ref.variable} holding the pre-shared key does not exist")
            value = generate_psk()
            mask_secret(value)
            Variable.set(ref.variable, value, description=f"IPsec pre-shared key of interconnect {conf.name}")
            log.info("Generated a new pre-shared key and stored it in %s", source)
    mask_secret(value)
    try:
        validate_psk(value)
    except ValueError as error:
        raise PskError(f"the pre-shared key in {source} is not usable: {error}") from None
    return value
