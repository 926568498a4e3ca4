"""The tutorial's steps as idempotent functions: each looks up its resource by a deterministic name (or a
natural key), adopts it when found, creates it otherwise, and reports drift from the conf.

Every function returns a result model of :mod:`results` (resource ids, ``created`` and ``drift``); none
returns or logs a secret.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from airflow_provider_jdcloud.exceptions import FailedPrecondition, NotFound
from airflow_provider_jdcloud.hooks.jdcloud import JDCloudHook
from airflow_provider_jdcloud.models import Instance, VpnTunnelSpec
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


def _not_being_deleted(kind: str, resource_id: str, status: str | None) -> None:
    """Never adopt a resource a teardown is still deleting: raise the retryable error until it is gone."""
    if status == "deleting":
        message = f"{kind} {resource_id} is still being deleted; the step retries, then creates it anew"
        raise DeleteInProgress(message, [resource_id])


def _drift(resource: str, field: str, expected: Any, actual: Any) -> Drift:
    log.warning("Drift on %s: %s is %r, the conf wants %r", resource, field, actual, expected)
    return Drift(resource=resource, field=field, expected=expected, actual=actual)


# --------------------------------------------------------------------- precondition: the two sites exist


def check_sites(hook: JDCloudHook, conf: InterconnectConf) -> list[str]:
    """Check, with describe calls only, that each site's VPC, CIDR, subnets and probe VM are as the conf says.

    Returns one ``<field>: <rule>`` problem per mismatch (empty when all is well).
    """
    problems: list[str] = []
    for side in SIDES:
        site = conf.site(side)
        try:
            vpc = hook.describe_vpc(site.vpc_id, region=site.region)
        except NotFound:
            problems.append(f"{side}.vpc_id: {site.vpc_id} does not exist in {site.region}")
            continue
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


def ensure_border_gateway(hook: JDCloudHook, conf: InterconnectConf, side: Side) -> BorderGateway:
    """Tutorial steps 1 and 5: a border gateway in the side's region (its BGP ASN is fixed at 65000)."""
    region, name = conf.site(side).region, naming.bgw_name(conf, side)
    bgw = hook.find_bgw_by_name(name, region=region)
    created = bgw is None
    description = naming.resource_description(conf, side)
    bgw_id = hook.create_bgw(name, description=description, region=region) if created else bgw.bgw_id
    log.info("%s border gateway %s (%s) in %s", "Created" if created else "Adopted", name, bgw_id, region)
    return BorderGateway(side=side, region=region, bgw_id=bgw_id, name=name, created=created)


# --------------------------------------------------------------------- steps 2/6: VPC attachment


def ensure_vpc_attachment(hook: JDCloudHook, conf: InterconnectConf, side: Side, bgw_id: str) -> VpcAttachment:
    """Tutorial steps 2 and 6: attach the VPC to the border gateway, propagating the chosen subnets."""
    site = conf.site(side)
    name = naming.vpc_attachment_name(conf, side)
    subnet_ids = list(site.subnet_ids) if site.propagate == "partial" else None
    found = hook.describe_vpc_attachments(bgw_id=bgw_id, vpc_id=site.vpc_id, region=site.region)
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
    else:
        attachment_id = hook.create_vpc_attachment(
            name,
            bgw_id=bgw_id,
            vpc_id=site.vpc_id,
            propagate_type=site.propagate,
            subnet_ids=subnet_ids,
            region=site.region,
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
        cgw_id = hook.create_customer_gateway(
            name,
            customer_ips=placeholders,
            bgp_asn=conf.customer_gateway_bgp_asn,
            description=naming.resource_description(conf, side),
            region=region,
        )
    else:
        cgw_id = cgw.customer_gateway_id
        if cgw.bgp_asn != conf.customer_gateway_bgp_asn:
            drift.append(_drift(f"customerGateway {cgw_id}", "bgpAsn", conf.customer_gateway_bgp_asn, cgw.bgp_asn))
    log.info("%s customer gateway %s (%s) in %s", "Adopted" if cgw else "Created", name, cgw_id, region)
    return CustomerGateway(
        side=side, region=region, customer_gateway_id=cgw_id, name=name, created=cgw is None, drift=drift
    )


# --------------------------------------------------------------------- steps 8/10: VPN connection


def ensure_vpn_connection(
    hook: JDCloudHook, conf: InterconnectConf, side: Side, bgw_id: str, cgw_id: str
) -> VpnConnection:
    """Tutorial steps 8 and 10: a static-route VPN connection; JD allocates its two cloud public IPs."""
    region, name = conf.site(side).region, naming.vpn_connection_name(conf, side)
    connection = hook.find_vpn_connection_by_name(name, region=region)
    if connection is not None:
        _not_being_deleted("VPN connection", connection.vpn_connection_id, connection.status)
    drift: list[Drift] = []
    created = connection is None
    if created:
        connection_id = hook.create_vpn_connection(
            name,
            bgw_id=bgw_id,
            cgw_id=cgw_id,
            bgp_enabled=False,
            description=naming.resource_description(conf, side),
            region=region,
        )
        connection = hook.describe_vpn_connection(connection_id, region=region)
    else:
        if connection.bgw_id != bgw_id or connection.cgw_id != cgw_id:
            raise StepConflict(
                f"VPN connection {name} ({connection.vpn_connection_id}) joins bgw {connection.bgw_id} and cgw "
                f"{connection.cgw_id}, not {bgw_id} and {cgw_id}: delete it or rename the interconnect"
            )
        if connection.bgp_enabled:
            drift.append(_drift(f"vpnConnection {connection.vpn_connection_id}", "bgpEnabled", False, True))
    if len(connection.cloud_public_ip) != 2:
        raise StepConflict(
            f"VPN connection {connection.vpn_connection_id} has {connection.cloud_public_ip} as cloud IPs"
        )
    log.info(
        "%s VPN connection %s (%s), cloud IPs %s",
        "Created" if created else "Adopted",
        name,
        connection.vpn_connection_id,
        ", ".join(connection.cloud_public_ip),
    )
    return VpnConnection(
        side=side,
        region=region,
        vpn_connection_id=connection.vpn_connection_id,
        cloud_ips=list(connection.cloud_public_ip),
        name=name,
        created=created,
        drift=drift,
    )


# --------------------------------------------------------------------- steps 9/11: cross-wiring


def point_customer_gateway(
    hook: JDCloudHook, conf: InterconnectConf, side: Side, cgw_id: str, remote_cloud_ips: list[str]
) -> CustomerGatewayWiring:
    """Tutorial steps 9 and 11: the customer gateway takes the other region's two cloud public IPs."""
    region = conf.site(side).region
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


def tunnel_pair(connection: VpnConnection, remote_connection: VpnConnection, index: int) -> TunnelPair:
    """Tunnel ``index`` joins cloud IP ``index`` of this side with cloud IP ``index`` of the other (step 12c)."""
    return TunnelPair(
        index=index,
        cloud_ip=connection.cloud_ips[index - 1],
        customer_ip=remote_connection.cloud_ips[index - 1],
    )


def ensure_vpn_tunnel(
    hook: JDCloudHook, conf: InterconnectConf, side: Side, connection_id: str, pair: TunnelPair, psk: str
) -> VpnTunnel:
    """Tutorial steps 12 and 13: one tunnel of the connection, with the conf's IKE/IPsec parameters."""
    region = conf.site(side).region
    params = conf.tunnel_params(pair.index)
    existing = [
        t
        for t in hook.describe_vpn_tunnels(vpn_connection_id=connection_id, region=region)
        if t.cloud_public_ip == pair.cloud_ip and t.customer_ip == pair.customer_ip
    ]
    drift: list[Drift] = []
    if existing:  # one tunnel per (cloud IP, customer IP): the pair is the natural key
        tunnel_id = existing[0].vpn_tunnel_id
        drift = tunnel_drift(existing[0], params.to_api(), psk)
    else:
        spec = VpnTunnelSpec(
            vpn_connection_id=connection_id,
            cloud_public_ip=pair.cloud_ip,
            customer_ip=pair.customer_ip,
            psk=psk,
            **{k: v for k, v in params.model_dump().items() if v is not None},
        )
        tunnel_id = hook.create_vpn_tunnel(spec, region=region)
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


# --------------------------------------------------------------------- routing step: static routes


def ensure_static_route(
    hook: JDCloudHook, conf: InterconnectConf, side: Side, bgw_id: str, connection_id: str
) -> StaticRoute:
    """Routing step: the border gateway sends the other VPC's CIDR to the VPN connection, and the route
    tables of the side's subnets must learn it."""
    region = conf.site(side).region
    destination = str(conf.site(naming.other_side(side)).vpc_cidr)
    routes = hook.describe_bgw_routes(bgw_id, origin="static", region=region)
    found = [r for r in routes if r.bgw_route_destination == destination and r.bgw_route_nexthop == connection_id]
    if found:
        route_id = found[0].bgw_route_id
    else:
        route_id = hook.create_bgw_route(
            bgw_id,
            destination=destination,
            next_hop_id=connection_id,
            next_hop_type="vpn_connection",
            description=naming.resource_description(conf, side),
            region=region,
        )
    log.info("%s static route %s: %s via %s", "Adopted" if found else "Created", route_id, destination, connection_id)
    return StaticRoute(
        side=side,
        region=region,
        bgw_route_id=route_id,
        bgw_id=bgw_id,
        destination=destination,
        created=not found,
        route_table_targets=_route_table_targets(hook, conf, side, bgw_id, destination),
    )


def _route_table_targets(
    hook: JDCloudHook, conf: InterconnectConf, side: Side, bgw_id: str, destination: str
) -> list[RouteTableTarget]:
    """The route tables of the side's subnets, each of which must learn ``destination`` via the BGW."""
    site = conf.site(side)
    subnets = hook.describe_subnets(subnet_ids=list(site.subnet_ids), region=site.region)
    table_ids = sorted({s.route_table_id for s in subnets if s.route_table_id})
    return [
        RouteTableTarget(region=site.region, route_table_id=t, destination=destination, bgw_id=bgw_id)
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
    live = [
        i for i in hook.find_instances_by_name(name, vpc_id=site.vpc_id, region=site.region) if i.status != "deleting"
    ]
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
        ids = hook.create_instances(
            spec, client_token=probe_client_token(conf, side, attempt_scope), region=site.region
        )
        instance = hook.describe_instance(ids[0], region=site.region)
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
