"""Mirror tunnels: the two ends of one IPsec tunnel, in two regions, with the public IPs swapped.

Both ends must have the same pre-shared key, IKE version and proposals, or the tunnel never comes UP.
The waiters use this to fail at once instead of polling until the timeout, and the project's ping
diagnosis to name the blocking tunnel. The keys are compared, never shown.
"""

from __future__ import annotations

from collections.abc import Iterable

from airflow_provider_jdcloud.models import VpnTunnel

IKE_PROPOSAL = ("ike_mode", "ike_key_exchange", "ike_cipher", "ike_auth")
IPSEC_PROPOSAL = ("ipsec_cipher", "ipsec_auth", "ipsec_key_exchange")


def find_mirror(tunnel: VpnTunnel, candidates: Iterable[VpnTunnel]) -> VpnTunnel | None:
    """Return the candidate whose cloud IP is ``tunnel``'s customer IP and vice versa, or ``None``."""
    return next(
        (c for c in candidates if c.cloud_public_ip == tunnel.customer_ip and c.customer_ip == tunnel.cloud_public_ip),
        None,
    )


def mirror_mismatch(
    tunnel: VpnTunnel, remote_tunnels: Iterable[VpnTunnel], side: str, remote: str
) -> tuple[str, str] | None:
    """Why ``tunnel`` cannot come UP with its mirror among ``remote_tunnels``, or ``None`` when they match.

    :param side: a label of ``tunnel``'s end for the message, e.g. ``home`` or its region
    :param remote: a label of the other end
    :return: ``(reason code, sentence)``; the sentence never holds a pre-shared key
    """
    mirror = find_mirror(tunnel, remote_tunnels)
    pair = f"tunnel {tunnel.vpn_tunnel_id} ({side})"
    if mirror is None:
        return (
            "tunnel_missing_peer",
            f"{pair} has no {remote} tunnel from {tunnel.customer_ip} to {tunnel.cloud_public_ip}",
        )
    pair += f" and {mirror.vpn_tunnel_id} ({remote})"
    if mirror.admin_status == "DOWN":
        return "tunnel_admin_down", f"{mirror.vpn_tunnel_id} on the {remote} side has adminStatus DOWN"
    if _secret(tunnel) != _secret(mirror):
        return "tunnel_down_psk_mismatch", f"{pair} use different pre-shared keys"
    if tunnel.ike_version != mirror.ike_version:
        return "tunnel_down_ike_version_mismatch", f"{pair}: IKE {tunnel.ike_version} vs {mirror.ike_version}"
    for field in IKE_PROPOSAL + IPSEC_PROPOSAL:
        if field == "ike_mode" and tunnel.ike_version == "v2":
            continue
        if getattr(tunnel, field) != getattr(mirror, field):
            values = f"{getattr(tunnel, field)} vs {getattr(mirror, field)}"
            return "tunnel_down_proposal_mismatch", f"{pair}: {field} {values}"
    return None


def _secret(tunnel: VpnTunnel) -> str | None:
    return tunnel.psk.get_secret_value() if tunnel.psk is not None else None
