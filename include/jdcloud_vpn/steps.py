"""The tutorial's steps as idempotent functions: each looks up its resource by a deterministic name (or a
natural key), adopts it when found, creates it otherwise, and handles drift from the conf: with
``on_drift: repair`` (the default) an adopted resource is modified back to the conf, with ``report`` the
difference is only reported. A difference JD Cloud cannot modify fails a repairing step (:class:`StepConflict`).
A create that fails in a way that may have applied it (a 5xx, a timeout) is never resent: the resource is
looked up by its natural key again and adopted, or the error goes to Airflow, whose retry looks it up first.

Every function returns a result model of :mod:`results` (resource ids, ``created`` and ``drift``); none
returns or logs a secret.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from airflow_provider_jdcloud.exceptions import FailedPrecondition, NotFound
from airflow_provider_jdcloud.hooks.base import create_or_adopt
from airflow_provider_jdcloud.hooks.jdcloud import JDCloudHook
from airflow_provider_jdcloud.models import Instance, VpnTunnelModifySpec, VpnTunnelSpec
from airflow_provider_jdcloud.models import VpnTunnel as ApiVpnTunnel
from include.jdcloud_vpn import naming
from include.jdcloud_vpn.conf import SIDES, CreateProbe, InterconnectConf, Side
from include.jdcloud_vpn.results import (
    BorderGateway,
    CustomerGateway,
    CustomerGatewayWiring,
    Drift,
    ProbeVm,
    RouteTableTarget,
    StaticRoute,
    TunnelPair,
    VpcAttachment,
    VpnConnection,
    VpnTunnel,
)
from include.jdcloud_vpn.teardown import DeleteInProgress

log = logging.getLogger(__name__)

TUNNEL_INDEXES = (1, 2)


class StepConflict(RuntimeError):
    """An existing resource blocks the step in a way a retry cannot fix (the message says what to do)."""


def _id_of(resource: Any, id_field: str) -> str | None:
    return getattr(resource, id_field) if resource is not None else None


def _not_being_deleted(kind: str, resource_id: str, status: str | None) -> None:
    """Never adopt a resource a teardown is still deleting: raise the retryable error until it is gone."""
    if status == "deleting":
        message = f"{kind} {resource_id} is still being deleted; the step retries, then creates it anew"
        raise DeleteInProgress(message, [resource_id])


def _drift(resource: str, field: str, expected: Any, actual: Any) -> Drift:
    log.warning("Drift on %s: %s is %r, the conf wants %r", resource, field, actual, expected)
    return Drift(resource=resource, field=field, expected=expected, actual=actual)


def _repairing(conf: InterconnectConf, drift: list[Drift]) -> bool:
    """Whether the step modifies the adopted resource back to the conf: drift found, ``on_drift: repair``."""
    return bool(drift) and conf.on_drift == "repair"


def _repaired(drift: list[Drift]) -> list[Drift]:
    for item in drift:
        log.info("Repaired %s: %s is now %r", item.resource, item.field, item.expected)
    return [item.model_copy(update={"repaired": True}) for item in drift]


def _immutable(drift: Drift, why: str) -> StepConflict:
    """The error of a repairing step that found a difference JD Cloud cannot modify."""
    return StepConflict(
        f"{drift.resource}: {drift.field} is {drift.actual!r} but the conf wants {drift.expected!r}, and {why}: "
        f"delete the resource (teardown DAG) and build again, or run with on_drift=report"
    )


# --------------------------------------------------------------------- precondition: the two sites exist


def check_sites(hook: JDCloudHook, conf: InterconnectConf) -> list[str]:
    """Check, with describe calls only, that each site's VPC, CIDR, subnets and probe VM are as the conf says.

    Returns one ``<field>: <rule>`` problem per mismatch (empty when all is well).
    """
    return [problem for side in SIDES for problem in check_site(hook, conf, side)]


def check_site(hook: JDCloudHook, conf: InterconnectConf, side: Side) -> list[str]:
    """:func:`check_sites` for one side (a topology checks each of its sites once, not once per pair)."""
    site = conf.site(side)
    try:
        vpc = hook.describe_vpc(site.vpc_id, region=site.region)
    except NotFound:
        return [f"{side}.vpc_id: {site.vpc_id} does not exist in {site.region}"]
    problems: list[str] = []
    if vpc.address_prefix != str(site.vpc_cidr):
        problems.append(f"{side}.vpc_cidr: {site.vpc_cidr} is not the CIDR of {site.vpc_id} ({vpc.address_prefix})")
    subnets = {s.subnet_id: s for s in hook.describe_subnets(vpc_id=site.vpc_id, region=site.region)}
    for index, subnet_id in enumerate(site.subnet_ids):
        if subnet_id not in subnets:
            problems.append(f"{side}.subnet_ids.{index}: {subnet_id} is not a subnet of {site.vpc_id}")
    if not isinstance(site.probe, CreateProbe):
        try:
            probe = hook.describe_instance(site.probe.instance_id, region=site.region)
        except NotFound:
            problems.append(f"{side}.probe.instance_id: {site.probe.instance_id} does not exist in {site.region}")
        else:
            if probe.vpc_id != site.vpc_id:
                problems.append(f"{side}.probe.instance_id: {probe.instance_id} is not in {site.vpc_id}")
    return problems


# --------------------------------------------------------------------- steps 1/5: border gateway


def _shared_missing(conf: InterconnectConf, kind: str, name: str) -> StepConflict:
    return StepConflict(
        f"{kind} {name} of topology {conf.member_of.topology} is missing: the topology run creates its sites' "
        "gateways before their pairs (a pair never creates a shared one: two pairs would race)"
    )


def ensure_border_gateway(
    hook: JDCloudHook, conf: InterconnectConf, side: Side, *, site_stage: bool = False
) -> BorderGateway:
    """Tutorial steps 1 and 5: a border gateway in the side's region (its BGP ASN is fixed at 65000).

    A topology's pair (``conf.member_of``) only adopts its site's gateway; the topology's site stage
    (``site_stage``) creates it.
    """
    region, name = conf.site(side).region, naming.bgw_name(conf, side)
    bgw_id = _id_of(hook.find_bgw_by_name(name, region=region), "bgw_id")
    created = bgw_id is None
    if created and naming.shares_gateways(conf) and not site_stage:
        raise _shared_missing(conf, "border gateway", name)
    if created:
        bgw_id = create_or_adopt(
            f"border gateway {name}",
            lambda: hook.create_bgw(name, description=naming.resource_description(conf, side), region=region),
            lambda: _id_of(hook.find_bgw_by_name(name, region=region), "bgw_id"),
        )
    log.info("%s border gateway %s (%s) in %s", "Created" if created else "Adopted", name, bgw_id, region)
    return BorderGateway(side=side, region=region, bgw_id=bgw_id, name=name, created=created)


# --------------------------------------------------------------------- steps 2/6: VPC attachment


def ensure_vpc_attachment(
    hook: JDCloudHook, conf: InterconnectConf, side: Side, bgw_id: str, *, site_stage: bool = False
) -> VpcAttachment:
    """Tutorial steps 2 and 6: attach the VPC to the border gateway, propagating the chosen subnets.

    A topology's pair only adopts its site's attachment; the topology's site stage creates it.
    """
    site = conf.site(side)
    name = naming.vpc_attachment_name(conf, side)
    subnet_ids = list(site.subnet_ids) if site.propagate == "partial" else None

    def attachments() -> list:
        listed = hook.describe_vpc_attachments(bgw_id=bgw_id, vpc_id=site.vpc_id, region=site.region)
        return [a for a in listed if a.bgw_id == bgw_id and a.vpc_id == site.vpc_id]

    found = attachments()
    drift: list[Drift] = []
    if found:  # at most one attachment per (VPC, BGW): the pair is the natural key
        attachment = found[0]
        attachment_id = attachment.vpc_attachment_id
        _not_being_deleted("VPC attachment", attachment_id, attachment.status)
        if attachment.propagate_type != site.propagate:
            drift.append(
                _drift(f"vpcAttachment {attachment_id}", "propagateType", site.propagate, attachment.propagate_type)
            )
        actual_subnets = sorted(i.subnet_id for i in attachment.propagate_cidr_infos if i.subnet_id)
        if subnet_ids is not None and actual_subnets != sorted(subnet_ids):
            drift.append(_drift(f"vpcAttachment {attachment_id}", "subnetIds", sorted(subnet_ids), actual_subnets))
        if _repairing(conf, drift):  # the propagation is replaced in full
            hook.modify_vpc_attachment(
                attachment_id,
                vpc_id=site.vpc_id,
                propagate_type=site.propagate,
                subnet_ids=subnet_ids,
                region=site.region,
            )
            drift = _repaired(drift)
    elif naming.shares_gateways(conf) and not site_stage:
        raise _shared_missing(conf, "VPC attachment", name)
    else:
        attachment_id = create_or_adopt(
            f"VPC attachment {name}",
            lambda: hook.create_vpc_attachment(
                name,
                bgw_id=bgw_id,
                vpc_id=site.vpc_id,
                propagate_type=site.propagate,
                subnet_ids=subnet_ids,
                region=site.region,
            ),
            lambda: next((a.vpc_attachment_id for a in attachments()), None),
        )
    log.info("%s VPC attachment %s of %s to %s", "Adopted" if found else "Created", attachment_id, site.vpc_id, bgw_id)
    return VpcAttachment(
        side=side, region=site.region, vpc_attachment_id=attachment_id, name=name, created=not found, drift=drift
    )


# --------------------------------------------------------------------- steps 3/7: customer gateway


def ensure_customer_gateway(hook: JDCloudHook, conf: InterconnectConf, side: Side) -> CustomerGateway:
    """Tutorial steps 3 and 7: a customer gateway standing for the other region, with placeholder IPs."""
    region, name = conf.site(side).region, naming.customer_gateway_name(conf, side)
    cgw = hook.find_customer_gateway_by_name(name, region=region)
    drift: list[Drift] = []
    if cgw is None:
        placeholders = [str(ip) for ip in conf.customer_gateway_placeholder_ips]
        cgw_id = create_or_adopt(
            f"customer gateway {name}",
            lambda: hook.create_customer_gateway(
                name,
                customer_ips=placeholders,
                bgp_asn=conf.customer_gateway_bgp_asn,
                description=naming.resource_description(conf, side),
                region=region,
            ),
            lambda: _id_of(hook.find_customer_gateway_by_name(name, region=region), "customer_gateway_id"),
        )
    else:
        cgw_id = cgw.customer_gateway_id
        if cgw.bgp_asn != conf.customer_gateway_bgp_asn:
            drift.append(_drift(f"customerGateway {cgw_id}", "bgpAsn", conf.customer_gateway_bgp_asn, cgw.bgp_asn))
        if _repairing(conf, drift):
            raise _immutable(drift[0], "JD Cloud cannot modify a customer gateway's BGP ASN")
    log.info("%s customer gateway %s (%s) in %s", "Adopted" if cgw else "Created", name, cgw_id, region)
    return CustomerGateway(
        side=side, region=region, customer_gateway_id=cgw_id, name=name, created=cgw is None, drift=drift
    )


# --------------------------------------------------------------------- steps 8/10: VPN connection


def ensure_vpn_connection(
    hook: JDCloudHook, conf: InterconnectConf, side: Side, bgw_id: str, cgw_id: str
) -> VpnConnection:
    """Tutorial steps 8 and 10: a static-route VPN connection. JD allocates its two cloud public IPs, which may
    take a moment: ``cloud_ips`` is empty until then (the DAG waits for them with a sensor)."""
    region, name = conf.site(side).region, naming.vpn_connection_name(conf, side)
    connection = hook.find_vpn_connection_by_name(name, region=region)
    if connection is not None:
        _not_being_deleted("VPN connection", connection.vpn_connection_id, connection.status)
    drift: list[Drift] = []
    created = connection is None
    if created:
        connection_id = create_or_adopt(
            f"VPN connection {name}",
            lambda: hook.create_vpn_connection(
                name,
                bgw_id=bgw_id,
                cgw_id=cgw_id,
                bgp_enabled=False,
                description=naming.resource_description(conf, side),
                region=region,
            ),
            lambda: _id_of(hook.find_vpn_connection_by_name(name, region=region), "vpn_connection_id"),
        )
        cloud_ips: list[str] = []  # allocated a moment later: the DAG's sensor waits for them, nothing reads them here
    else:
        connection_id, cloud_ips = connection.vpn_connection_id, list(connection.cloud_public_ip)
        if connection.bgw_id != bgw_id or connection.cgw_id != cgw_id:
            raise StepConflict(
                f"VPN connection {name} ({connection.vpn_connection_id}) joins bgw {connection.bgw_id} and cgw "
                f"{connection.cgw_id}, not {bgw_id} and {cgw_id}: delete it or rename the interconnect"
            )
        if bool(connection.bgp_enabled) != conf.bgp_enabled:
            resource = f"vpnConnection {connection.vpn_connection_id}"
            drift.append(_drift(resource, "bgpEnabled", conf.bgp_enabled, bool(connection.bgp_enabled)))
        if _repairing(conf, drift):
            hook.modify_vpn_connection(connection.vpn_connection_id, bgp_enabled=conf.bgp_enabled, region=region)
            drift = _repaired(drift)
    log.info(
        "%s VPN connection %s (%s), cloud IPs %s",
        "Created" if created else "Adopted",
        name,
        connection_id,
        ", ".join(cloud_ips) or "not allocated yet",
    )
    return VpnConnection(
        side=side,
        region=region,
        vpn_connection_id=connection_id,
        cloud_ips=cloud_ips,
        name=name,
        created=created,
        drift=drift,
    )


# --------------------------------------------------------------------- steps 9/11: cross-wiring


def point_customer_gateway(
    hook: JDCloudHook, conf: InterconnectConf, side: Side, cgw_id: str, remote: VpnConnection
) -> CustomerGatewayWiring:
    """Tutorial steps 9 and 11: the customer gateway takes the other region's two cloud public IPs (read now:
    they may have been allocated after the connection was created)."""
    region = conf.site(side).region
    remote_cloud_ips = hook.describe_vpn_connection(remote.vpn_connection_id, region=remote.region).cloud_public_ip
    if len(remote_cloud_ips) != 2:
        raise StepConflict(
            f"VPN connection {remote.vpn_connection_id} has {remote_cloud_ips or 'no'} cloud IPs, not two: "
            "wait until JD Cloud has allocated them"
        )
    cgw = hook.describe_customer_gateway(cgw_id, region=region)
    changed = list(cgw.customer_ips) != list(remote_cloud_ips)
    if changed:
        try:
            hook.modify_customer_gateway(cgw_id, customer_ips=list(remote_cloud_ips), region=region)
        except FailedPrecondition as error:
            raise StepConflict(
                f"customer gateway {cgw_id} lists {cgw.customer_ips} but the other side's VPN connection has "
                f"{remote_cloud_ips}, and JD Cloud refuses the change while tunnels use it: run the teardown "
                f"DAG for {conf.name} and build again"
            ) from error
    log.info("Customer gateway %s %s %s", cgw_id, "now points at" if changed else "already points at", remote_cloud_ips)
    return CustomerGatewayWiring(
        side=side, region=region, customer_gateway_id=cgw_id, customer_ips=list(remote_cloud_ips), changed=changed
    )


# --------------------------------------------------------------------- steps 12/13: tunnels


def tunnel_pair(wiring: CustomerGatewayWiring, remote_wiring: CustomerGatewayWiring, index: int) -> TunnelPair:
    """Tunnel ``index`` joins cloud IP ``index`` of this side with cloud IP ``index`` of the other (step 12c).

    The cross-wiring holds both: this side's customer gateway lists the other side's cloud IPs, the other
    side's lists this side's.
    """
    return TunnelPair(
        index=index,
        cloud_ip=remote_wiring.customer_ips[index - 1],
        customer_ip=wiring.customer_ips[index - 1],
    )


def ensure_vpn_tunnel(
    hook: JDCloudHook, conf: InterconnectConf, side: Side, connection_id: str, pair: TunnelPair, psk: str
) -> VpnTunnel:
    """Tutorial steps 12 and 13: one tunnel of the connection, with the conf's IKE/IPsec parameters."""
    region = conf.site(side).region
    params = conf.tunnel_params(pair.index)

    def tunnels_of_pair() -> list[ApiVpnTunnel]:
        return [
            t
            for t in hook.describe_vpn_tunnels(vpn_connection_id=connection_id, region=region)
            if t.vpn_connection_id == connection_id
            and t.cloud_public_ip == pair.cloud_ip
            and t.customer_ip == pair.customer_ip
        ]

    existing = tunnels_of_pair()
    drift: list[Drift] = []
    if existing:  # one tunnel per (cloud IP, customer IP): the pair is the natural key
        tunnel_id = existing[0].vpn_tunnel_id
        drift = tunnel_drift(existing[0], params.to_api(), psk)
        if _repairing(conf, drift):
            repair_vpn_tunnel(hook, tunnel_id, drift, params.to_api(), psk, region=region)
            drift = _repaired(drift)
    else:
        spec = VpnTunnelSpec(
            vpn_connection_id=connection_id,
            cloud_public_ip=pair.cloud_ip,
            customer_ip=pair.customer_ip,
            psk=psk,
            **{k: v for k, v in params.model_dump().items() if v is not None},
        )
        tunnel_id = create_or_adopt(
            f"VPN tunnel {pair.cloud_ip} <-> {pair.customer_ip}",
            lambda: hook.create_vpn_tunnel(spec, region=region),
            lambda: next((t.vpn_tunnel_id for t in tunnels_of_pair()), None),
        )
    log.info(
        "%s VPN tunnel %s: %s <-> %s",
        "Adopted" if existing else "Created",
        tunnel_id,
        pair.cloud_ip,
        pair.customer_ip,
    )
    return VpnTunnel(
        side=side, region=region, vpn_tunnel_id=tunnel_id, created=not existing, drift=drift, **pair.model_dump()
    )


def tunnel_drift(tunnel: ApiVpnTunnel, wanted: dict[str, Any], psk: str) -> list[Drift]:
    """Compare an adopted tunnel with the conf; the PSK is compared but never shown."""
    actual = tunnel.model_dump(by_alias=True)
    resource = f"vpnTunnel {tunnel.vpn_tunnel_id}"
    drift = [_drift(resource, key, value, actual.get(key)) for key, value in wanted.items() if actual.get(key) != value]
    if tunnel.psk is not None and tunnel.psk.get_secret_value() != psk:
        drift.append(_drift(resource, "psk", "(the stored pre-shared key)", "(a different key)"))
    return drift


def repair_vpn_tunnel(
    hook: JDCloudHook, tunnel_id: str, drift: list[Drift], wanted: dict[str, Any], psk: str, *, region: str
) -> None:
    """Write the drifted fields back to the conf, as JD Cloud asks for config changes: adminStatus DOWN,
    modify, then UP to renegotiate. Only the drifted fields are sent (the PSK only when it differs)."""
    fields = {d.field for d in drift}
    body: dict[str, Any] = {key: value for key, value in wanted.items() if key in fields}
    if "ipsecKeyExchange" in body and body["ipsecKeyExchange"] is None:
        body["ipsecKeyExchange"] = "null"  # JD's spelling of "no PFS"; None would leave the field unchanged
    if "psk" in fields:
        body["psk"] = psk
    spec = VpnTunnelModifySpec.model_validate(body)
    hook.modify_vpn_tunnel_admin_status(tunnel_id, "DOWN", region=region)
    try:
        hook.modify_vpn_tunnel(tunnel_id, spec, region=region)
    finally:  # a failed modify leaves the tunnel negotiating as before, not down
        hook.modify_vpn_tunnel_admin_status(tunnel_id, "UP", region=region)


# --------------------------------------------------------------------- routing step: static routes


def ensure_static_route(
    hook: JDCloudHook, conf: InterconnectConf, side: Side, bgw_id: str, connection_id: str
) -> StaticRoute:
    """Routing step: the border gateway sends the other VPC's CIDR to the VPN connection, and the route
    tables of the side's subnets must learn it."""
    region = conf.site(side).region
    destination = str(conf.site(naming.other_side(side)).vpc_cidr)

    def routes_to_destination() -> list:
        routes = hook.describe_bgw_routes(bgw_id, origin="static", region=region)
        to_destination = [r for r in routes if r.bgw_route_destination == destination]
        return [r for r in to_destination if r.bgw_route_nexthop == connection_id] or to_destination

    found = routes_to_destination()
    drift: list[Drift] = []
    if found:  # the destination is the natural key; a wrong next hop is drift
        route_id = found[0].bgw_route_id
        if found[0].bgw_route_nexthop != connection_id:
            drift.append(_drift(f"bgwRoute {route_id}", "bgwRouteNexthop", connection_id, found[0].bgw_route_nexthop))
        if _repairing(conf, drift):
            hook.modify_bgw_route(
                bgw_id,
                route_id,
                destination=destination,
                next_hop_id=connection_id,
                next_hop_type="vpn_connection",
                description=found[0].description,
                region=region,
            )
            drift = _repaired(drift)
    else:
        route_id = create_or_adopt(
            f"static route {destination} on {bgw_id}",
            lambda: hook.create_bgw_route(
                bgw_id,
                destination=destination,
                next_hop_id=connection_id,
                next_hop_type="vpn_connection",
                description=naming.resource_description(conf, side),
                region=region,
            ),
            lambda: next((r.bgw_route_id for r in routes_to_destination()), None),
        )
    log.info("%s static route %s: %s via %s", "Adopted" if found else "Created", route_id, destination, connection_id)
    return StaticRoute(
        side=side,
        region=region,
        bgw_route_id=route_id,
        bgw_id=bgw_id,
        destination=destination,
        created=not found,
        drift=drift,
        route_table_targets=_route_table_targets(hook, conf, side, bgw_id, destination, connection_id),
    )


def _route_table_targets(
    hook: JDCloudHook, conf: InterconnectConf, side: Side, bgw_id: str, destination: str, connection_id: str
) -> list[RouteTableTarget]:
    """The route tables of the side's subnets, each of which must learn ``destination`` via the BGW (which
    sends it to ``connection_id``)."""
    site = conf.site(side)
    subnets = hook.describe_subnets(subnet_ids=list(site.subnet_ids), region=site.region)
    table_ids = sorted({s.route_table_id for s in subnets if s.route_table_id})
    return [
        RouteTableTarget(
            region=site.region,
            route_table_id=t,
            destination=destination,
            bgw_id=bgw_id,
            vpn_connection_id=connection_id,
        )
        for t in table_ids
    ]


# --------------------------------------------------------------------- test step: probe VMs


def probe_client_token(conf: InterconnectConf, side: Side, attempt_scope: str) -> str:
    """A clientToken per ``attempt_scope`` (run and task): a retried create is deduplicated by the API."""
    digest = hashlib.sha256(f"{naming.probe_vm_name(conf, side)}|{attempt_scope}".encode()).hexdigest()
    return digest[:32]


def ensure_probe_vm(hook: JDCloudHook, conf: InterconnectConf, side: Side, attempt_scope: str) -> ProbeVm:
    """Test step a/b: the VM that pings from this side; an existing one, or an ephemeral one created here."""
    site = conf.site(side)
    if not isinstance(site.probe, CreateProbe):
        instance = hook.describe_instance(site.probe.instance_id, region=site.region)
        if instance.vpc_id != site.vpc_id:
            raise StepConflict(f"probe {instance.instance_id} is in {instance.vpc_id}, not in {site.vpc_id}")
        return _probe_vm(side, site.region, instance, ephemeral=False, created=False)
    name = naming.probe_vm_name(conf, side)

    def live_probes() -> list[Instance]:
        found = hook.find_instances_by_name(name, vpc_id=site.vpc_id, region=site.region)
        return [i for i in found if i.status != "deleting"]

    live = live_probes()
    if live:
        instance = live[0]
    else:
        spec = {
            "name": name,
            "az": site.probe.az or f"{site.region}a",
            "instanceType": site.probe.instance_type,
            "imageId": site.probe.image_id,
            "description": naming.resource_description(conf, side),
            "primaryNetworkInterface": {"networkInterface": {"subnetId": site.probe.create_in_subnet}},
        }
        instance_id = create_or_adopt(
            f"probe VM {name}",
            lambda: hook.create_instances(
                spec, client_token=probe_client_token(conf, side, attempt_scope), region=site.region
            )[0],
            lambda: next((i.instance_id for i in live_probes()), None),
        )
        instance = hook.describe_instance(instance_id, region=site.region)
    log.info(
        "%s probe VM %s (%s) at %s",
        "Adopted" if live else "Created",
        name,
        instance.instance_id,
        instance.private_ip_address,
    )
    return _probe_vm(side, site.region, instance, ephemeral=True, created=not live)


def _probe_vm(side: Side, region: str, instance: Instance, *, ephemeral: bool, created: bool) -> ProbeVm:
    return ProbeVm(
        side=side,
        region=region,
        instance_id=instance.instance_id,
        private_ip=instance.private_ip_address,
        ephemeral=ephemeral,
        created=created,
    )


def delete_ephemeral_probe(hook: JDCloudHook, conf: InterconnectConf, side: Side) -> list[str]:
    """Delete this interconnect's ephemeral probe VMs on one side; existing probes are never touched."""
    site = conf.site(side)
    if not isinstance(site.probe, CreateProbe):
        return []
    deleted = []
    name = naming.probe_vm_name(conf, side)
    for instance in hook.find_instances_by_name(name, vpc_id=site.vpc_id, region=site.region):
        if instance.status == "deleting":
            continue
        try:
            hook.delete_instance(instance.instance_id, region=site.region)
        except NotFound:
            continue
        deleted.append(instance.instance_id)
        log.info("Deleted ephemeral probe VM %s in %s", instance.instance_id, site.region)
    return deleted
