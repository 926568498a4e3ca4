"""The interconnect's tasks and task groups, one task per tutorial step; the DAG files only wire them.

Each task rebuilds the validated conf from XCom, calls one idempotent function of :mod:`steps` and
returns its JSON result. Task groups are shared by the interconnect and DR-drill DAGs.
"""

from __future__ import annotations

import re
from typing import Any

from airflow.sdk import get_current_context, task, task_group
from airflow.sdk.exceptions import AirflowFailException

from airflow_provider_jdcloud.hooks.jdcloud import JDCloudHook
from airflow_provider_jdcloud.sensors.jdcloud import (
    JDCloudInstancesRunningSensor,
    JDCloudRouteTableRoutesSensor,
    JDCloudVpnTunnelsUpSensor,
)
from include.jdcloud_vpn import naming, steps
from include.jdcloud_vpn.conf import SIDES, ConfError, InterconnectConf
from include.jdcloud_vpn.operators import ConnectivityTestOperator
from include.jdcloud_vpn.params import conf_from_params
from include.jdcloud_vpn.psk import resolve_psk
from include.jdcloud_vpn.runinfo import collect_run

JDCLOUD_CONN_ID = "jdcloud_default"
VALIDATE_TASK_ID = "validate_conf"

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


def _hook() -> JDCloudHook:
    return JDCloudHook(JDCLOUD_CONN_ID)


def _conf(raw: dict[str, Any] | None) -> InterconnectConf:
    return InterconnectConf.model_validate(_need(raw, "the validated conf"))


def _need(value: Any, what: str) -> Any:
    """An upstream result, or a final failure: a task that runs after failures (all_done) needs its inputs."""
    if value is None:
        raise AirflowFailException(f"{what} is missing: the step that produces it did not succeed")
    return value


# --------------------------------------------------------------------- conf and key


@task(task_id=VALIDATE_TASK_ID, retries=0)
def validate_interconnect_conf(params: dict[str, Any] | None = None) -> dict[str, Any]:
    """Validate the whole trigger conf with the pydantic model before any API call; return it (no secrets)."""
    try:
        conf = conf_from_params(params or {})
    except ConfError as error:
        raise AirflowFailException(f"invalid interconnect conf:\n{error}") from None
    return conf.model_dump(mode="json")


@task(retries=2)
def check_sites_exist(conf: dict[str, Any]) -> dict[str, Any]:
    """Describe-only precondition: both VPCs, their CIDRs, subnets and probe VMs exist as the conf says."""
    problems = steps.check_sites(_hook(), _conf(conf))
    if problems:
        raise AirflowFailException("the conf does not match the cloud:\n" + "\n".join(problems))
    return {"checked": ["home", "peer"]}


@task(retries=0)
def ensure_pre_shared_key(conf: dict[str, Any]) -> dict[str, str]:
    """Load the PSK from its Variable or Connection, generating and storing one on the first build."""
    model = _conf(conf)
    resolve_psk(model, create_if_missing=True)
    ref = model.psk_secret
    return {"stored_in": f"connection {ref.connection}" if ref.connection else f"variable {ref.variable}"}


# --------------------------------------------------------------------- steps 1-3 and 5-7


@task(doc_md=TUTORIAL["border_gateway"])
def create_border_gateway(conf: dict[str, Any], side: str) -> dict[str, Any]:
    return steps.ensure_border_gateway(_hook(), _conf(conf), side)


@task(doc_md=TUTORIAL["vpc_attachment"])
def create_vpc_attachment(conf: dict[str, Any], side: str, bgw: dict[str, Any]) -> dict[str, Any]:
    return steps.ensure_vpc_attachment(_hook(), _conf(conf), side, bgw["bgw_id"])


@task(doc_md=TUTORIAL["customer_gateway"])
def create_customer_gateway(conf: dict[str, Any], side: str) -> dict[str, Any]:
    return steps.ensure_customer_gateway(_hook(), _conf(conf), side)


@task_group
def site_gateways(conf: Any, side: str) -> dict[str, Any]:
    """Steps 1-3 (home) or 5-7 (peer): border gateway, VPC attachment and customer gateway of one region."""
    bgw = create_border_gateway(conf, side)
    attachment = create_vpc_attachment(conf, side, bgw)
    cgw = create_customer_gateway(conf, side)
    return {"bgw": bgw, "attachment": attachment, "cgw": cgw}


# --------------------------------------------------------------------- steps 8-11


@task(doc_md=TUTORIAL["vpn_connection_peer"])
def create_vpn_connection_peer(conf: dict[str, Any], bgw: dict[str, Any], cgw: dict[str, Any]) -> dict[str, Any]:
    return steps.ensure_vpn_connection(_hook(), _conf(conf), "peer", bgw["bgw_id"], cgw["customer_gateway_id"])


@task(doc_md=TUTORIAL["point_cgw_home"])
def point_customer_gateway_home(conf: dict[str, Any], cgw: dict[str, Any], peer_vpn: dict[str, Any]) -> dict[str, Any]:
    return steps.point_customer_gateway(_hook(), _conf(conf), "home", cgw["customer_gateway_id"], peer_vpn["cloud_ips"])


@task(doc_md=TUTORIAL["vpn_connection_home"])
def create_vpn_connection_home(conf: dict[str, Any], bgw: dict[str, Any], cgw: dict[str, Any]) -> dict[str, Any]:
    return steps.ensure_vpn_connection(_hook(), _conf(conf), "home", bgw["bgw_id"], cgw["customer_gateway_id"])


@task(doc_md=TUTORIAL["point_cgw_peer"])
def point_customer_gateway_peer(conf: dict[str, Any], cgw: dict[str, Any], home_vpn: dict[str, Any]) -> dict[str, Any]:
    return steps.point_customer_gateway(_hook(), _conf(conf), "peer", cgw["customer_gateway_id"], home_vpn["cloud_ips"])


@task_group
def vpn_connections(conf: Any, home: dict[str, Any], peer: dict[str, Any]) -> dict[str, Any]:
    """Steps 8-11: each region's VPN connection, and the cross-wiring of the customer gateways."""
    peer_vpn = create_vpn_connection_peer(conf, peer["bgw"], peer["cgw"])
    home_cgw = point_customer_gateway_home(conf, home["cgw"], peer_vpn)
    home_vpn = create_vpn_connection_home(conf, home["bgw"], home["cgw"])
    peer_cgw = point_customer_gateway_peer(conf, peer["cgw"], home_vpn)
    home_cgw >> home_vpn  # tutorial order: the home gateway takes the peer IPs before step 10
    # Steps 2 and 6 come before step 8: a retried attachment must finish before anything relies on it.
    [home["attachment"], peer["attachment"]] >> peer_vpn
    return {"home": home_vpn, "peer": peer_vpn, "cgw_wiring": [home_cgw, peer_cgw]}


# --------------------------------------------------------------------- steps 12-13


def _create_tunnel(conf: dict[str, Any], side: str, connection: dict, remote: dict, index: int) -> dict[str, Any]:
    model = _conf(conf)
    pair = next(p for p in steps.tunnel_pairs(connection, remote) if p["index"] == index)
    get_current_context()["tunnel_label"] = f"tunnel {index}: {pair['cloud_ip']} <-> {pair['customer_ip']}"
    psk = resolve_psk(model, create_if_missing=False)
    return steps.ensure_vpn_tunnel(_hook(), model, side, connection["vpn_connection_id"], pair, psk)


@task(doc_md=TUTORIAL["tunnels_home"], map_index_template="{{ tunnel_label }}")
def create_vpn_tunnel_home(conf: dict[str, Any], connection: dict, remote: dict, index: int) -> dict[str, Any]:
    return _create_tunnel(conf, "home", connection, remote, index)


@task(doc_md=TUTORIAL["tunnels_peer"], map_index_template="{{ tunnel_label }}")
def create_vpn_tunnel_peer(conf: dict[str, Any], connection: dict, remote: dict, index: int) -> dict[str, Any]:
    return _create_tunnel(conf, "peer", connection, remote, index)


@task_group
def vpn_tunnels(conf: Any, connections: dict[str, Any], psk: Any) -> JDCloudVpnTunnelsUpSensor:
    """Steps 12-13: two tunnels per side (one per IP pair, mapped), then wait until all four are UP."""
    home = create_vpn_tunnel_home.partial(conf=conf, connection=connections["home"], remote=connections["peer"]).expand(
        index=list(steps.TUNNEL_INDEXES)
    )
    peer = create_vpn_tunnel_peer.partial(conf=conf, connection=connections["peer"], remote=connections["home"]).expand(
        index=list(steps.TUNNEL_INDEXES)
    )
    psk >> [home, peer]
    connections["cgw_wiring"] >> home  # a CGW's IPs cannot change once a tunnel uses it
    connections["cgw_wiring"] >> peer
    return JDCloudVpnTunnelsUpSensor(
        task_id="wait_tunnels_up",
        doc_md="Wait (deferred) until every tunnel's opStatus is UP: both ends match and IKE/IPsec negotiated.",
        targets=[home, peer],
        wait_timeout_s=conf_field("timeouts.tunnels_up.timeout_s"),
        poll_interval_s=conf_field("timeouts.tunnels_up.poll_interval_s"),
        jdcloud_conn_id=JDCLOUD_CONN_ID,
        deferrable=True,
    )


# --------------------------------------------------------------------- routing step


def _static_route(conf: dict[str, Any], side: str, gateways: dict, connection: dict) -> dict[str, Any]:
    model = _conf(conf)
    gateways = _need(gateways, f"the {side} border gateway")
    connection = _need(connection, f"the {side} VPN connection")
    route = steps.ensure_static_route(_hook(), model, side, gateways["bgw_id"], connection["vpn_connection_id"])
    route["route_table_targets"] = steps.route_table_targets(_hook(), model, side, gateways["bgw_id"])
    return route


# Runs even when the tunnel wait failed, so the connectivity test and its diagnosis see the whole path.
@task(doc_md=TUTORIAL["static_route"], trigger_rule="all_done", multiple_outputs=True)
def add_static_route_home(conf: dict[str, Any], bgw: dict, connection: dict) -> dict[str, Any]:
    return _static_route(conf, "home", bgw, connection)


@task(doc_md=TUTORIAL["static_route"], trigger_rule="all_done", multiple_outputs=True)
def add_static_route_peer(conf: dict[str, Any], bgw: dict, connection: dict) -> dict[str, Any]:
    return _static_route(conf, "peer", bgw, connection)


@task_group
def static_routing(conf: Any, home: dict, peer: dict, connections: dict, after: Any) -> JDCloudRouteTableRoutesSensor:
    """Routing step: a static route on each border gateway, then wait until each VPC route table learns it."""
    home_route = add_static_route_home(conf, home["bgw"], connections["home"])
    peer_route = add_static_route_peer(conf, peer["bgw"], connections["peer"])
    after >> [home_route, peer_route]
    return JDCloudRouteTableRoutesSensor(
        task_id="wait_routes_propagated",
        doc_md="Wait until each VPC route table has the remote CIDR with the border gateway as next hop.",
        targets=[home_route["route_table_targets"], peer_route["route_table_targets"]],
        wait_timeout_s=conf_field("timeouts.routes_propagated.timeout_s"),
        poll_interval_s=conf_field("timeouts.routes_propagated.poll_interval_s"),
        jdcloud_conn_id=JDCLOUD_CONN_ID,
        deferrable=True,
    )


# --------------------------------------------------------------------- test step


@task(doc_md=TUTORIAL["probe"])
def create_probe_vm(conf: dict[str, Any], side: str) -> dict[str, Any]:
    ti = get_current_context()["ti"]
    # One clientToken per run and task: a retry is deduplicated, a drill's rebuild (another task) is not.
    return steps.ensure_probe_vm(_hook(), _conf(conf), side, f"{ti.run_id}|{ti.task_id}")


@task(retries=2)
def delete_probe_vms(conf: dict[str, Any]) -> list[str]:
    """Remove the ephemeral probe VMs this interconnect created (existing probe VMs are never touched)."""
    model = _conf(conf)
    return [vm for side in SIDES for vm in steps.delete_ephemeral_probe(_hook(), model, side)]


@task_group
def probe_vms(conf: Any) -> dict[str, Any]:
    """Test step a/b: one probe VM per side (existing or ephemeral), then wait until both run."""
    home = create_probe_vm.override(task_id="create_probe_vm_home")(conf, "home")
    peer = create_probe_vm.override(task_id="create_probe_vm_peer")(conf, "peer")
    running = JDCloudInstancesRunningSensor(
        task_id="wait_probe_vms_running",
        targets=[home, peer],
        wait_timeout_s=conf_field("timeouts.probe_vm_running.timeout_s"),
        poll_interval_s=conf_field("timeouts.probe_vm_running.poll_interval_s"),
        jdcloud_conn_id=JDCLOUD_CONN_ID,
        deferrable=True,
    )
    return {"home": home, "peer": peer, "running": running}


@task_group
def connectivity_test(conf: Any, probes: dict[str, Any], after: list[Any]) -> list[ConnectivityTestOperator]:
    """Test step c: ping home -> peer, then peer -> home, each judged against the loss threshold."""
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
    pings[0] >> pings[1]  # tutorial: "if yes, execute ping test reversely"
    return pings


# --------------------------------------------------------------------- report


@task(trigger_rule="all_done", retries=0)
def write_report(conf: dict[str, Any], kind: str = "interconnect") -> dict[str, Any]:
    """Write the run's JSON and Markdown report (steps, attempts, durations, resources, drift, pings)."""
    context = get_current_context()
    model = _conf(conf)
    stem = f"{kind}-{model.name}-{re.sub(r'[^A-Za-z0-9_.-]+', '_', context['run_id'])}"
    report, paths = collect_run(context, kind=kind, interconnect=model.name, report_dir=model.report_dir, stem=stem)
    print(f"Report written to {paths[0]} and {paths[1]}")
    if report["status"] != "success":
        raise AirflowFailException(f"{kind} run failed: {', '.join(report['failed_steps']) or 'connectivity test'}")
    return {"status": report["status"], "json": str(paths[0]), "markdown": str(paths[1])}
