"""The interconnect's tasks and task groups, one task per tutorial step; the DAG files only wire them.

Each task receives the validated conf and its upstream results as typed models (:mod:`taskflow`), calls
one idempotent function of :mod:`steps` and returns its result model. A step taken on both sides is one
task, instantiated per side with its own task id and tutorial text. Task groups are shared by the
interconnect and DR-drill DAGs through :mod:`build`.
"""

from __future__ import annotations

from typing import Any, TypeVar

from airflow.sdk import get_current_context, task_group
from airflow.sdk.exceptions import AirflowFailException

from airflow_provider_jdcloud.sensors.jdcloud import (
    JDCloudInstancesRunningSensor,
    JDCloudRouteTableRoutesSensor,
    JDCloudVpcAttachmentsActiveSensor,
    JDCloudVpnConnectionsProvisionedSensor,
    JDCloudVpnTunnelsUpSensor,
    JDCloudWaiterSensor,
)
from include.jdcloud_vpn import naming, steps
from include.jdcloud_vpn.conf import SIDES, ConfError, InterconnectConf, Side
from include.jdcloud_vpn.notifiers import note_for_alert
from include.jdcloud_vpn.operators import ConnectivityTestOperator
from include.jdcloud_vpn.params import conf_from_trigger
from include.jdcloud_vpn.psk import resolve_psk
from include.jdcloud_vpn.report import report_stem
from include.jdcloud_vpn.results import (
    BorderGateway,
    CustomerGateway,
    CustomerGatewayWiring,
    ProbeVm,
    PskLocation,
    ReportFiles,
    SitesChecked,
    StaticRoute,
    VpcAttachment,
    VpnConnection,
    VpnTunnel,
)
from include.jdcloud_vpn.runinfo import collect_run
from include.jdcloud_vpn.taskflow import JDCLOUD_CONN_ID, jdcloud_hook, typed_task

VALIDATE_TASK_ID = "validate_conf"
S = TypeVar("S", bound=JDCloudWaiterSensor)

TUTORIAL = {
    "border_gateway": "Step 1/5: create a border gateway in the region (its BGP ASN is fixed at 65000).",
    "vpc_attachment": (
        "Step 2/6: create a VPC attachment: select the border gateway, the VPC and the segments transmitted to "
        "the border gateway; they are added to its route table with the attachment as next hop."
    ),
    "customer_gateway": (
        "Step 3/7: create a customer gateway standing for the other region; its public IPs are placeholders "
        "until the other region's VPN connection allocates them."
    ),
    "vpn_connection_peer": (
        "Step 8: create the VPN connection in the opposite region (static routing, 'Enable BGP Route' "
        "unchecked); two cloud public IPs are allocated."
    ),
    "point_cgw_home": (
        "Step 9: update the home customer gateway's two public IPs to the opposite region's cloud public IPs."
    ),
    "vpn_connection_home": "Step 10: create the VPN connection in the home region; two cloud public IPs are allocated.",
    "point_cgw_peer": "Step 11: update the opposite customer gateway's two public IPs to the home cloud public IPs.",
    "tunnels_home": (
        "Step 12: create the VPN tunnels in the home region: tunnel 1 joins cloud IP 1 and customer IP 1, "
        "tunnel 2 joins cloud IP 2 and customer IP 2; tunnel 2 reuses tunnel 1's IKE/IPsec parameters unless "
        "overridden."
    ),
    "tunnels_peer": "Step 13: create the mirror tunnels in the opposite region with identical parameters and key.",
    "static_route": (
        "Routing step: configure a static route in the border gateway's route table, the remote segment as "
        "destination and the VPN connection as next hop; the VPC attachment propagates it to the VPC route table."
    ),
    "probe": "Test step a/b: a virtual machine in each VPC whose subnet route table routes to the other VPC.",
    "ping": "Test step c: ping the other VM's private address; if it passes, ping in reverse.",
}


def conf_field(path: str) -> str:
    """A Jinja template reading one field (dotted ``path``) of the validated conf, e.g. a timeout."""
    keys = "".join(f"[{key!r}]" for key in path.split("."))
    return f"{{{{ ti.xcom_pull(task_ids='{VALIDATE_TASK_ID}'){keys} }}}}"


def deferred_wait(sensor: type[S], task_id: str, wait: str, targets: Any, doc_md: str) -> S:
    """A deferrable JD Cloud sensor whose timeout and longest poll interval are the conf's ``timeouts.<wait>``."""
    return sensor(
        task_id=task_id,
        doc_md=doc_md,
        targets=targets,
        wait_timeout_s=conf_field(f"timeouts.{wait}.timeout_s"),
        poll_interval_s=conf_field(f"timeouts.{wait}.poll_interval_s"),
        jdcloud_conn_id=JDCLOUD_CONN_ID,
        deferrable=True,
    )


# --------------------------------------------------------------------- conf and key


@typed_task(task_id=VALIDATE_TASK_ID, retries=0)
def validate_interconnect_conf(params: dict | None = None, dag_run: Any = None) -> InterconnectConf:
    """Validate the whole trigger conf (form or nested shape) with the pydantic model before any API call;
    return it (no secrets)."""
    try:
        return conf_from_trigger(dict(dag_run.conf or {}) if dag_run else {}, params or {})
    except ConfError as error:
        raise AirflowFailException(f"invalid interconnect conf:\n{error}") from None


@typed_task(retries=2)
def check_sites_exist(conf: InterconnectConf) -> SitesChecked:
    """Describe-only precondition: both VPCs, their CIDRs, subnets and probe VMs exist as the conf says."""
    problems = steps.check_sites(jdcloud_hook(), conf)
    if problems:
        raise AirflowFailException("the conf does not match the cloud:\n" + "\n".join(problems))
    return SitesChecked(checked=list(SIDES))


@typed_task(retries=0)
def ensure_pre_shared_key(conf: InterconnectConf) -> PskLocation:
    """Load the PSK from its Variable or Connection, generating and storing one on the first build."""
    resolve_psk(conf, create_if_missing=True)
    ref = conf.psk_secret
    return PskLocation(stored_in=f"connection {ref.connection}" if ref.connection else f"variable {ref.variable}")


# --------------------------------------------------------------------- steps 1-3 and 5-7


@typed_task(doc_md=TUTORIAL["border_gateway"], jdcloud_resource="border_gateway")
def create_border_gateway(conf: InterconnectConf, side: Side) -> BorderGateway:
    return steps.ensure_border_gateway(jdcloud_hook(), conf, side)


@typed_task(doc_md=TUTORIAL["vpc_attachment"], jdcloud_resource="vpc_attachment")
def create_vpc_attachment(conf: InterconnectConf, side: Side, bgw: BorderGateway) -> VpcAttachment:
    return steps.ensure_vpc_attachment(jdcloud_hook(), conf, side, bgw.bgw_id)


@typed_task(doc_md=TUTORIAL["customer_gateway"], jdcloud_resource="customer_gateway")
def create_customer_gateway(conf: InterconnectConf, side: Side) -> CustomerGateway:
    return steps.ensure_customer_gateway(jdcloud_hook(), conf, side)


@task_group
def site_gateways(conf: Any, side: Side) -> dict[str, Any]:
    """Steps 1-3 (home) or 5-7 (peer): border gateway, VPC attachment (waited for until active) and customer
    gateway of one region."""
    bgw = create_border_gateway(conf, side)
    attachment = create_vpc_attachment(conf, side, bgw)
    attachment_active = deferred_wait(
        JDCloudVpcAttachmentsActiveSensor,
        "wait_vpc_attachment_active",
        "attachment_active",
        [attachment],
        "Wait (deferred) until the VPC attachment is active: the border gateway has learned the VPC.",
    )
    cgw = create_customer_gateway(conf, side)
    return {"bgw": bgw, "attachment": attachment_active, "cgw": cgw}


# --------------------------------------------------------------------- steps 8-11


@typed_task(jdcloud_resource="vpn_connection")
def create_vpn_connection(
    conf: InterconnectConf, side: Side, bgw: BorderGateway, cgw: CustomerGateway
) -> VpnConnection:
    return steps.ensure_vpn_connection(jdcloud_hook(), conf, side, bgw.bgw_id, cgw.customer_gateway_id)


@typed_task(jdcloud_resource="customer_gateway")
def point_customer_gateway(
    conf: InterconnectConf, side: Side, cgw: CustomerGateway, remote_vpn: VpnConnection
) -> CustomerGatewayWiring:
    return steps.point_customer_gateway(jdcloud_hook(), conf, side, cgw.customer_gateway_id, remote_vpn)


def _per_side(step: Any, side: Side, tutorial_key: str) -> Any:
    """``step`` as the task of one side: task id ``<name>_<side>``, the tutorial's text for that side."""
    return step.override(task_id=f"{step.function.__name__}_{side}", doc_md=TUTORIAL[tutorial_key])


def _cloud_ips_allocated(side: Side, connection: Any) -> JDCloudVpnConnectionsProvisionedSensor:
    """Wait (deferred) until one side's VPN connection shows the two cloud public IPs JD allocates for it."""
    return deferred_wait(
        JDCloudVpnConnectionsProvisionedSensor,
        f"wait_cloud_ips_{side}",
        "cloud_ips_allocated",
        [connection],
        "Wait (deferred) until JD Cloud has allocated the VPN connection's two cloud public IPs.",
    )


@task_group
def vpn_connections(conf: Any, home: dict[str, Any], peer: dict[str, Any]) -> dict[str, Any]:
    """Steps 8-11: each region's VPN connection, and the cross-wiring of the customer gateways."""
    peer_vpn = _per_side(create_vpn_connection, "peer", "vpn_connection_peer")(conf, "peer", peer["bgw"], peer["cgw"])
    home_cgw = _per_side(point_customer_gateway, "home", "point_cgw_home")(conf, "home", home["cgw"], peer_vpn)
    home_vpn = _per_side(create_vpn_connection, "home", "vpn_connection_home")(conf, "home", home["bgw"], home["cgw"])
    peer_cgw = _per_side(point_customer_gateway, "peer", "point_cgw_peer")(conf, "peer", peer["cgw"], home_vpn)
    _cloud_ips_allocated("peer", peer_vpn) >> home_cgw
    _cloud_ips_allocated("home", home_vpn) >> peer_cgw
    home_cgw >> home_vpn  # tutorial order: the home gateway takes the peer IPs before step 10
    # Steps 2 and 6 come before step 8: an attachment must be active before anything relies on it.
    [home["attachment"], peer["attachment"]] >> peer_vpn
    return {"home": home_vpn, "peer": peer_vpn, "cgw_wiring": {"home": home_cgw, "peer": peer_cgw}}


# --------------------------------------------------------------------- steps 12-13


@typed_task(map_index_template="{{ tunnel_label }}", jdcloud_resource="vpn_tunnel")
def create_vpn_tunnel(
    conf: InterconnectConf,
    side: Side,
    connection: VpnConnection,
    wiring: CustomerGatewayWiring,
    remote_wiring: CustomerGatewayWiring,
    index: int,
) -> VpnTunnel:
    pair = steps.tunnel_pair(wiring, remote_wiring, index)
    get_current_context()["tunnel_label"] = f"tunnel {index}: {pair.cloud_ip} <-> {pair.customer_ip}"
    psk = resolve_psk(conf, create_if_missing=False)
    return steps.ensure_vpn_tunnel(jdcloud_hook(), conf, side, connection.vpn_connection_id, pair, psk)


@task_group
def vpn_tunnels(conf: Any, connections: dict[str, Any], psk: Any) -> JDCloudVpnTunnelsUpSensor:
    """Steps 12-13: two tunnels per side (one per IP pair, mapped), then wait until all four are UP."""
    wiring = connections["cgw_wiring"]  # a CGW's IPs cannot change once a tunnel uses it: wire both sides first
    tunnels = [
        _per_side(create_vpn_tunnel, side, f"tunnels_{side}")
        .partial(
            conf=conf,
            side=side,
            connection=connections[side],
            wiring=wiring[side],
            remote_wiring=wiring[naming.other_side(side)],
        )
        .expand(index=list(steps.TUNNEL_INDEXES))
        for side in SIDES
    ]
    psk >> tunnels
    return deferred_wait(
        JDCloudVpnTunnelsUpSensor,
        "wait_tunnels_up",
        "tunnels_up",
        tunnels,
        "Wait (deferred) until every tunnel's opStatus is UP: both ends match and IKE/IPsec negotiated.",
    )


# --------------------------------------------------------------------- routing step


@typed_task(multiple_outputs=True, jdcloud_resource="bgw_route")
def add_static_route(conf: InterconnectConf, side: Side, bgw: BorderGateway, connection: VpnConnection) -> StaticRoute:
    return steps.ensure_static_route(jdcloud_hook(), conf, side, bgw.bgw_id, connection.vpn_connection_id)


@task_group
def static_routing(conf: Any, home: dict, peer: dict, connections: dict) -> JDCloudRouteTableRoutesSensor:
    """Routing step: a static route on each border gateway (it needs only its VPN connection), then wait until each
    VPC route table learns it."""
    gateways = {"home": home, "peer": peer}
    routes = [
        _per_side(add_static_route, side, "static_route")(conf, side, gateways[side]["bgw"], connections[side])
        for side in SIDES
    ]
    return deferred_wait(
        JDCloudRouteTableRoutesSensor,
        "wait_routes_propagated",
        "routes_propagated",
        [route["route_table_targets"] for route in routes],
        "Wait (deferred) until each VPC route table has the remote CIDR with the border gateway as next hop.",
    )


# --------------------------------------------------------------------- test step


@typed_task(doc_md=TUTORIAL["probe"], jdcloud_resource="vm_instance")
def create_probe_vm(conf: InterconnectConf, side: Side) -> ProbeVm:
    ti = get_current_context()["ti"]
    # One clientToken per run and task: a retry is deduplicated, a drill's rebuild (another task) is not.
    return steps.ensure_probe_vm(jdcloud_hook(), conf, side, f"{ti.run_id}|{ti.task_id}")


@typed_task(retries=2)
def delete_probe_vms(conf: InterconnectConf) -> list[str]:
    """Remove the ephemeral probe VMs this interconnect created (existing probe VMs are never touched)."""
    return [vm for side in SIDES for vm in steps.delete_ephemeral_probe(jdcloud_hook(), conf, side)]


@task_group
def probe_vms(conf: Any) -> dict[str, Any]:
    """Test step a/b: one probe VM per side (existing or ephemeral), then wait until both run."""
    probes = {side: create_probe_vm.override(task_id=f"create_probe_vm_{side}")(conf, side) for side in SIDES}
    running = deferred_wait(
        JDCloudInstancesRunningSensor,
        "wait_probe_vms_running",
        "probe_vm_running",
        list(probes.values()),
        "Wait (deferred) until both probe VMs are running.",
    )
    return {**probes, "running": running}


@task_group
def connectivity_test(conf: Any, probes: dict[str, Any], after: list[Any]) -> list[ConnectivityTestOperator]:
    """Test step c: ping home -> peer and peer -> home (at once), each judged against the loss threshold."""
    pings = []
    for direction in naming.DIRECTIONS:
        ping = ConnectivityTestOperator(
            task_id=f"ping_{direction}",
            doc_md=TUTORIAL["ping"],
            direction=direction,
            conf=conf,
            probes=probes["running"].output,  # the sensor returns the probe VMs it waited for
            jdcloud_conn_id=JDCLOUD_CONN_ID,
            wait_timeout_s=conf_field("timeouts.ping.timeout_s"),
            poll_interval_s=conf_field("timeouts.ping.poll_interval_s"),
            deferrable=True,
            trigger_rule="all_done",
        )
        after >> ping
        pings.append(ping)
    # The tutorial pings in reverse once the first passes; the two directions do not depend on each other, so
    # both run at once and the report has both verdicts.
    return pings


# --------------------------------------------------------------------- report


@typed_task(trigger_rule="all_done", retries=0)
def write_report(conf: InterconnectConf, kind: str = "interconnect") -> ReportFiles:
    """Write the run's JSON and Markdown report (steps in run order, attempts, durations, resources, drift, pings)."""
    context = get_current_context()
    stem = report_stem(kind, conf.name, context["run_id"])
    report, paths = collect_run(context, kind=kind, interconnect=conf.name, report_dir=conf.report_dir, stem=stem)
    print(f"Report written to {paths[0]} and {paths[1]}")
    problem = None
    if report["status"] != "success":
        problem = f"{kind} run failed: {', '.join(report['failed_steps']) or 'connectivity test'}"
    note_for_alert(context["ti"], str(paths[1]), problem)
    if problem:
        raise AirflowFailException(problem)
    return ReportFiles(status=report["status"], json_path=str(paths[0]), markdown_path=str(paths[1]))
