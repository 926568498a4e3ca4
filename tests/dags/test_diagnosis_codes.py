"""Every reason code of ``diagnosis.diagnose`` provoked on a real interconnect, through the JD Cloud API.

The interconnect DAG builds one interconnect against the emulator (``dag.test()``, real jdcloud-sdk over
HTTP) once for the module. Each case then breaks exactly one hop, through the API (the hook) or the
emulator's control plane (``/emulator-api/faults``), asserts the reason code and the hop ``diagnose``
names, restores what it broke, and polls the emulator until ``diagnose`` finds nothing in either
direction, so the cases stay independent. ``PROVOCATIONS`` is the table of code -> how it is provoked.

Two codes need a word:

* ``bgw_missing_static_route``: a VPC route table learns the remote CIDR from the border gateway's static
  route (propagation), so deleting that route alone empties the route table too, and the walk, which
  follows the packet, reports the route table first (asserted). The case first adds the remote CIDR to
  the route table as a static rule via the border gateway (what someone routing by hand would do), then
  deletes the static route.
* ``cgw_not_cross_wired``: JD Cloud refuses to change a customer gateway's IPs once a tunnel uses it (and
  so does the emulator), and a VPN connection's cloud IPs are fixed. The real-world cause is the other
  side's VPN connection re-created (new cloud IPs) while this side's customer gateway still lists the
  old ones: that is what the case does, and its restore rewires the interconnect.

``test_a_failed_ping_records_the_diagnosis_in_the_run_report`` runs the DAG on a broken hop: its ping task
fails and the run report carries the diagnosis (``test_interconnect_e2e.py`` does the same for a PSK
mismatch, where the build's tunnel wait fails too; here the build passes and only the pings fail).
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import httpx
import pytest

from airflow_provider_jdcloud import mirror
from airflow_provider_jdcloud.exceptions import FailedPrecondition, NotFound
from airflow_provider_jdcloud.hooks.jdcloud import JDCloudHook
from airflow_provider_jdcloud.models import (
    BgwRoute,
    CustomerGateway,
    RouteTableRuleSpec,
    VpnConnection,
    VpnTunnel,
    VpnTunnelModifySpec,
    VpnTunnelOptions,
    VpnTunnelSpec,
)
from airflow_provider_jdcloud.waiters import wait
from include.jdcloud_emulator.server import RunningEmulator
from include.jdcloud_emulator.settings import DEMO_ACCESS_KEY, DEMO_SECRET_KEY
from include.jdcloud_vpn import diagnosis, naming
from include.jdcloud_vpn.conf import SIDES, InterconnectConf, Side, validate_conf
from include.jdcloud_vpn.diagnosis import Finding, diagnose
from tests import summary
from tests.conftest import reset_control
from tests.dags.conftest import preserved_params, seeded_conf

pytestmark = pytest.mark.timeout(300)

INTERCONNECT = "jdcloud_vpn_interconnect"
NAME = "diag"
# Short waits: the emulator runs at a 0.01 time scale (a tunnel negotiates in 0.2 s).
WAITS = {wait: {"timeout_s": 10, "poll_interval_s": 0.1} for wait in ("tunnels_up", "routes_propagated", "ping")}
WAITS["probe_vm_running"] = {"timeout_s": 30, "poll_interval_s": 0.1}
HEALTHY_WITHIN_S = 20.0
OTHER_PSK = "Another_Key_123"
TUNNEL_OPTIONS = tuple(VpnTunnelOptions.model_fields)


@dataclass
class Interconnect:
    """The built interconnect: its conf (raw and validated), a hook and the control plane on the emulator."""

    conf: dict[str, Any]
    model: InterconnectConf
    hook: JDCloudHook
    control: httpx.Client
    dagbag: Any

    def diagnose(self, source: Side) -> Finding | None:
        return diagnose(self.hook, self.model, source)


@dataclass(frozen=True)
class Site:
    """One side's resources of the interconnect, looked up afresh by their deterministic names."""

    side: Side
    region: str
    probe_id: str
    route_table_id: str
    bgw_id: str
    static_route: BgwRoute
    connection: VpnConnection
    cgw: CustomerGateway
    tunnels: list[VpnTunnel]


def _site(ic: Interconnect, side: Side) -> Site:
    hook, site = ic.hook, ic.model.site(side)
    region = site.region
    subnet = hook.describe_subnets(subnet_ids=[site.subnet_ids[0]], region=region)[0]
    bgw = hook.find_bgw_by_name(naming.bgw_name(ic.model, side), region=region)
    connection = hook.find_vpn_connection_by_name(naming.vpn_connection_name(ic.model, side), region=region)
    assert bgw is not None and connection is not None, f"the {side} side is not built"
    routes = hook.describe_bgw_routes(bgw.bgw_id, origin="static", region=region)
    route = next(r for r in routes if r.bgw_route_nexthop == connection.vpn_connection_id)
    tunnels = hook.describe_vpn_tunnels(vpn_connection_id=connection.vpn_connection_id, region=region)
    return Site(
        side=side,
        region=region,
        probe_id=site.probe.instance_id,
        route_table_id=subnet.route_table_id,
        bgw_id=bgw.bgw_id,
        static_route=route,
        connection=connection,
        cgw=hook.describe_customer_gateway(connection.cgw_id, region=region),
        tunnels=sorted(tunnels, key=lambda t: connection.cloud_public_ip.index(t.cloud_public_ip)),
    )


def _remote_cidr(ic: Interconnect, side: Side) -> str:
    return str(ic.model.site(naming.other_side(side)).vpc_cidr)


def _wait_healthy(ic: Interconnect) -> None:
    """Poll the emulator until ``diagnose`` finds no blocking hop in either direction."""
    deadline = time.monotonic() + HEALTHY_WITHIN_S
    while True:
        findings = {side: ic.diagnose(side) for side in SIDES}
        if not any(findings.values()):
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"the interconnect did not recover within {HEALTHY_WITHIN_S}s: {findings}")
        time.sleep(0.1)


# --------------------------------------------------------------------- API helpers


def _until(done: Callable[[], bool], what: str) -> None:
    """Poll ``done`` until it is true: some changes take the cloud a moment (a tunnel going DOWN, a delete)."""
    deadline = time.monotonic() + HEALTHY_WITHIN_S
    while not done():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {HEALTHY_WITHIN_S}s")
        time.sleep(0.05)


def _delete_tunnels(ic: Interconnect, site: Site) -> None:
    """Set the side's tunnels DOWN and delete them (JD Cloud deletes a tunnel only once it is DOWN)."""

    def deleted(tunnel_id: str) -> bool:
        try:
            ic.hook.delete_vpn_tunnel(tunnel_id, region=site.region)
        except FailedPrecondition:  # still going DOWN
            return False
        return True

    for tunnel in site.tunnels:
        ic.hook.modify_vpn_tunnel_admin_status(tunnel.vpn_tunnel_id, "DOWN", region=site.region)
        _until(lambda t=tunnel.vpn_tunnel_id: deleted(t), f"deleting tunnel {tunnel.vpn_tunnel_id}")


def _recreate_tunnel(ic: Interconnect, region: str, tunnel: VpnTunnel, **endpoints: str) -> None:
    """Create ``tunnel`` again with its PSK and IKE/IPsec options; ``endpoints`` override its connection/IPs."""
    options = {name: getattr(tunnel, name) for name in TUNNEL_OPTIONS if getattr(tunnel, name, None) is not None}
    spec = VpnTunnelSpec(
        vpn_connection_id=endpoints.get("vpn_connection_id", tunnel.vpn_connection_id),
        cloud_public_ip=endpoints.get("cloud_public_ip", tunnel.cloud_public_ip),
        customer_ip=endpoints.get("customer_ip", tunnel.customer_ip),
        psk=tunnel.psk,
        **options,
    )
    ic.hook.create_vpn_tunnel(spec, region=region)


def _recreate_tunnels(ic: Interconnect, region: str, tunnels: list[VpnTunnel]) -> None:
    for tunnel in tunnels:
        _recreate_tunnel(ic, region, tunnel)


def _set_admin_status(ic: Interconnect, site: Site, status: Literal["UP", "DOWN"]) -> None:
    for tunnel in site.tunnels:
        ic.hook.modify_vpn_tunnel_admin_status(tunnel.vpn_tunnel_id, status, region=site.region)


def _modify_tunnels(ic: Interconnect, site: Site, spec: VpnTunnelModifySpec) -> None:
    for tunnel in site.tunnels:
        ic.hook.modify_vpn_tunnel(tunnel.vpn_tunnel_id, spec, region=site.region)


def _set_faults(ic: Interconnect, **faults: Any) -> Callable[[], None]:
    ic.control.patch("/faults", json=faults).raise_for_status()
    return lambda: ic.control.delete("/faults").raise_for_status()


def _add_rule(ic: Interconnect, site: Site, prefix: str, next_hop_type: str, next_hop_id: str) -> Callable[[], None]:
    """Add a static rule to the side's route table; return the call that removes it again."""
    spec = RouteTableRuleSpec(next_hop_type=next_hop_type, next_hop_id=next_hop_id, address_prefix=prefix)
    ic.hook.add_route_table_rules(site.route_table_id, [spec], region=site.region)
    rules = ic.hook.describe_route_table_rules(site.route_table_id, address_prefix=prefix, region=site.region)
    (rule,) = [r for r in rules if r.origin != "propagated" and r.next_hop_type == next_hop_type]
    params = {"routeTableId": site.route_table_id, "ruleIds": [rule.rule_id]}
    return lambda: ic.hook.call("RemoveRouteTableRules", params, region=site.region)


# --------------------------------------------------------------------- the cases


@dataclass(frozen=True)
class Broken:
    """What a provocation broke: the hop ``diagnose`` must name, a detail fragment, and how to restore it.

    ``one_of``: the detail names one of these (a pair of broken tunnels: the diagnosis names the first it reads).
    """

    hop: str
    restore: Callable[[], None]
    detail: str = ""
    one_of: tuple[str, ...] = ()


def _probe_vm_stuck(ic: Interconnect) -> Broken:
    home = _site(ic, "home")
    restore = _set_faults(ic, stuck_transitions=[{"transition": "vm_boot", "resource_id": home.probe_id}])
    return Broken(f"probe VM {home.probe_id}", restore, "pending")


def _hijack_remote_route(ic: Interconnect) -> Broken:
    """A more specific static rule sends the peer probe's address to the internet, not the border gateway."""
    home, peer = _site(ic, "home"), _site(ic, "peer")
    peer_ip = ic.hook.describe_instance(peer.probe_id, region=peer.region).private_ip_address
    restore = _add_rule(ic, home, f"{peer_ip}/32", "internet", "internet")
    return Broken(f"route table {home.route_table_id} ({home.region})", restore, peer_ip)


def _rename_bgw(ic: Interconnect) -> Broken:
    home = _site(ic, "home")
    name = naming.bgw_name(ic.model, "home")
    ic.hook.call("ModifyBgw", {"bgwId": home.bgw_id, "bgwName": f"{name}-renamed"}, region=home.region)
    return Broken(
        f"border gateway {name}",
        lambda: ic.hook.call("ModifyBgw", {"bgwId": home.bgw_id, "bgwName": name}, region=home.region),
        "does not exist",
    )


def _delete_static_route(ic: Interconnect) -> Broken:
    home = _site(ic, "home")
    cidr = _remote_cidr(ic, "home")
    ic.hook.delete_bgw_route(home.bgw_id, home.static_route.bgw_route_id, region=home.region)
    # The route table learned the remote CIDR from that static route: it loses it too, and is reported first.
    first = ic.diagnose("home")
    assert first is not None and first.reason == "route_table_missing_remote_cidr", first
    remove_rule = _add_rule(ic, home, cidr, "bgw", home.bgw_id)

    def restore() -> None:
        ic.hook.create_bgw_route(
            home.bgw_id, destination=cidr, next_hop_id=home.connection.vpn_connection_id, region=home.region
        )
        remove_rule()

    return Broken(f"border gateway {home.bgw_id} ({home.region})", restore, "no static route")


def _delete_home_tunnels(ic: Interconnect) -> Broken:
    home = _site(ic, "home")
    _delete_tunnels(ic, home)
    return Broken(
        f"VPN connection {home.connection.vpn_connection_id} ({home.region})",
        lambda: _recreate_tunnels(ic, home.region, home.tunnels),
        "no tunnels",
    )


def _home_tunnels_admin_down(ic: Interconnect) -> Broken:
    home = _site(ic, "home")
    _set_admin_status(ic, home, "DOWN")
    return Broken(
        f"VPN connection {home.connection.vpn_connection_id} ({home.region})",
        lambda: _set_admin_status(ic, home, "UP"),
        home.tunnels[0].vpn_tunnel_id,
    )


def _peer_tunnels_admin_down(ic: Interconnect) -> Broken:
    home, peer = _site(ic, "home"), _site(ic, "peer")
    _set_admin_status(ic, peer, "DOWN")
    return Broken(
        f"VPN connection {home.connection.vpn_connection_id} ({home.region})",
        lambda: _set_admin_status(ic, peer, "UP"),
        "on the peer side has adminStatus DOWN",
        one_of=tuple(t.vpn_tunnel_id for t in peer.tunnels),
    )


def _recreate_peer_connection(ic: Interconnect) -> Broken:
    """The peer VPN connection deleted and created again: new cloud IPs, the home CGW still lists the old ones."""
    home, peer = _site(ic, "home"), _site(ic, "peer")
    _delete_tunnels(ic, peer)
    ic.hook.delete_bgw_route(peer.bgw_id, peer.static_route.bgw_route_id, region=peer.region)
    ic.hook.delete_vpn_connection(peer.connection.vpn_connection_id, region=peer.region)

    def connection_gone() -> bool:
        try:
            ic.hook.describe_vpn_connection(peer.connection.vpn_connection_id, region=peer.region)
        except NotFound:
            return True
        return False

    _until(connection_gone, f"deleting VPN connection {peer.connection.vpn_connection_id}")
    new_id = ic.hook.create_vpn_connection(
        peer.connection.vpn_connection_name or "",
        bgw_id=peer.bgw_id,
        cgw_id=peer.cgw.customer_gateway_id,
        description=peer.connection.description,
        region=peer.region,
    )
    target = {"region": peer.region, "vpn_connection_id": new_id}  # JD allocates the IPs a moment later
    status, _ = wait(ic.hook, "vpn_connections_provisioned", [target], deadline=time.time() + 30, poll_interval=0.05)
    assert status == "success"
    new_ips = ic.hook.describe_vpn_connection(new_id, region=peer.region).cloud_public_ip
    assert sorted(new_ips) != sorted(peer.connection.cloud_public_ip)

    def restore() -> None:
        # Tutorial steps 9 and 12-13 again: the home CGW may take the new IPs only once no tunnel uses it.
        _delete_tunnels(ic, home)
        ic.hook.modify_customer_gateway(home.cgw.customer_gateway_id, customer_ips=new_ips, region=home.region)
        for index, tunnel in enumerate(home.tunnels):
            _recreate_tunnel(ic, home.region, tunnel, customer_ip=new_ips[index])
        for index, tunnel in enumerate(peer.tunnels):
            _recreate_tunnel(ic, peer.region, tunnel, vpn_connection_id=new_id, cloud_public_ip=new_ips[index])
        cidr = _remote_cidr(ic, "peer")
        ic.hook.create_bgw_route(peer.bgw_id, destination=cidr, next_hop_id=new_id, region=peer.region)

    return Broken(f"customer gateway {home.cgw.customer_gateway_id} ({home.region})", restore, new_ips[0])


def _delete_peer_tunnels(ic: Interconnect) -> Broken:
    home, peer = _site(ic, "home"), _site(ic, "peer")
    _delete_tunnels(ic, peer)
    return Broken(
        f"VPN connection {home.connection.vpn_connection_id} ({home.region})",
        lambda: _recreate_tunnels(ic, peer.region, peer.tunnels),
        "has no peer tunnel from",
        one_of=tuple(f"from {t.customer_ip} to {t.cloud_public_ip}" for t in home.tunnels),
    )


def _modify_peer_tunnels(
    field: str, value: Callable[[VpnTunnel], Any], detail: str
) -> Callable[[Interconnect], Broken]:
    """Change one field of both peer tunnels (``ModifyVpnTunnel``); the restore sets the old value back."""

    def provoke(ic: Interconnect) -> Broken:
        home, peer = _site(ic, "home"), _site(ic, "peer")
        old = getattr(peer.tunnels[0], field)
        old = old.get_secret_value() if field == "psk" else old
        _modify_tunnels(ic, peer, VpnTunnelModifySpec(**{field: value(peer.tunnels[0])}))
        return Broken(
            f"VPN connection {home.connection.vpn_connection_id} ({home.region})",
            lambda: _modify_tunnels(ic, peer, VpnTunnelModifySpec(**{field: old})),
            detail,
        )

    return provoke


def _negotiation_stuck(ic: Interconnect) -> Broken:
    home = _site(ic, "home")
    restore = _set_faults(ic, stuck_transitions=[{"transition": "tunnel_negotiation"}])
    return Broken(f"VPN connection {home.connection.vpn_connection_id} ({home.region})", restore, "not UP yet")


@dataclass(frozen=True)
class Case:
    reason: str
    how: str
    provoke: Callable[[Interconnect], Broken]
    variant: str = ""

    @property
    def id(self) -> str:
        return f"{self.reason}-{self.variant}" if self.variant else self.reason


CASES = (
    Case(
        "probe_vm_not_running",
        "control plane: stuck_transitions vm_boot on the home probe VM (it reports pending)",
        _probe_vm_stuck,
    ),
    Case(
        "route_table_missing_remote_cidr",
        "AddRouteTableRules: the peer probe's /32 via internet in the home route table (longer prefix wins)",
        _hijack_remote_route,
    ),
    Case(
        "bgw_missing",
        "ModifyBgw: the home border gateway renamed (found by name; deletion needs it empty)",
        _rename_bgw,
    ),
    Case(
        "bgw_missing_static_route",
        "AddRouteTableRules remote CIDR via bgw, then DeleteBgwRoute of the home static route",
        _delete_static_route,
    ),
    Case("tunnel_missing", "ModifyAdminStatus DOWN + DeleteVpnTunnel of both home tunnels", _delete_home_tunnels),
    Case("tunnel_admin_down", "ModifyAdminStatus DOWN on both home tunnels", _home_tunnels_admin_down, "home"),
    Case("tunnel_admin_down", "ModifyAdminStatus DOWN on both peer tunnels", _peer_tunnels_admin_down, "peer"),
    Case(
        "cgw_not_cross_wired",
        "peer VPN connection re-created (DeleteVpnTunnel, DeleteBgwRoute, DeleteVpnConnection, CreateVpnConnection)",
        _recreate_peer_connection,
    ),
    Case("tunnel_missing_peer", "ModifyAdminStatus DOWN + DeleteVpnTunnel of both peer tunnels", _delete_peer_tunnels),
    Case(
        "tunnel_down_psk_mismatch",
        "ModifyVpnTunnel psk on both peer tunnels",
        _modify_peer_tunnels("psk", lambda t: OTHER_PSK, "use different pre-shared keys"),
    ),
    Case(
        "tunnel_down_ike_version_mismatch",
        "ModifyVpnTunnel ikeVersion on both peer tunnels",
        _modify_peer_tunnels("ike_version", lambda t: "v1" if t.ike_version == "v2" else "v2", "IKE v"),
    ),
    Case(
        "tunnel_down_proposal_mismatch",
        "ModifyVpnTunnel ikeCipher on both peer tunnels",
        _modify_peer_tunnels("ike_cipher", lambda t: "aes256" if t.ike_cipher != "aes256" else "aes128", "ike_cipher"),
    ),
    Case(
        "tunnel_down_negotiating",
        "control plane: stuck_transitions tunnel_negotiation (every tunnel matches its peer, none comes UP)",
        _negotiation_stuck,
    ),
)

#: reason code -> how the test provokes it (one line per case; tunnel_admin_down has two).
PROVOCATIONS: dict[str, list[str]] = {}
for _case in CASES:
    PROVOCATIONS.setdefault(_case.reason, []).append(_case.how)


# --------------------------------------------------------------------- fixtures and tests


@pytest.fixture(scope="module")
def interconnect(
    dag_emulator: RunningEmulator, dagbag: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Interconnect]:
    """One interconnect built by a DAG run (existing probe VMs, so nothing is deleted after the run)."""
    from airflow.utils.state import DagRunState

    hook = JDCloudHook.from_credentials(
        DEMO_ACCESS_KEY, DEMO_SECRET_KEY, endpoint=dag_emulator.endpoint, scheme="http", retry_base_wait=0.05
    )
    with reset_control(dag_emulator) as control, preserved_params(dagbag):
        conf = seeded_conf(hook, tmp_path_factory.mktemp("diagnosis"), name=NAME, timeouts=WAITS)
        dag_run = dagbag.dags[INTERCONNECT].test(run_conf=conf)
        assert dag_run.state == DagRunState.SUCCESS
        ic = Interconnect(conf=conf, model=validate_conf(conf), hook=hook, control=control, dagbag=dagbag)
        _wait_healthy(ic)
        yield ic


def test_the_cases_cover_every_reason_code_of_the_diagnosis() -> None:
    # The walk's own codes, and the tunnel-pair codes it shares with the tunnel wait.
    source = "".join(Path(module.__file__).read_text(encoding="utf-8") for module in (diagnosis, mirror))
    codes = set(re.findall(r'"((?:probe|route|bgw|tunnel|cgw)_[a-z_]+)"', source))
    assert len(codes) == 12, sorted(codes)
    assert set(PROVOCATIONS) == codes


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_each_reason_code_is_provoked_through_the_api(
    interconnect: Interconnect, case: Case, pytestconfig: pytest.Config
) -> None:
    _wait_healthy(interconnect)  # a case starts on a healthy interconnect, whatever the previous one did
    broken = case.provoke(interconnect)
    try:
        finding = interconnect.diagnose("home")
    finally:
        broken.restore()
        _wait_healthy(interconnect)
    assert finding is not None, f"{case.id}: no blocking hop found"
    assert (finding.reason, finding.hop) == (case.reason, broken.hop), finding
    assert broken.detail in finding.detail, finding
    assert not broken.one_of or any(name in finding.detail for name in broken.one_of), (broken.one_of, finding)
    summary.add(pytestconfig, summary.DIAGNOSIS, f"{finding.reason:<33} at {finding.hop}: {case.how}")


def test_a_failed_ping_records_the_diagnosis_in_the_run_report(interconnect: Interconnect) -> None:
    """The DAG's ping tasks fail on a hijacked route (the build itself passes) and the report names the hop."""
    from airflow.utils.state import DagRunState

    ic = interconnect
    broken = _hijack_remote_route(ic)
    try:
        with preserved_params(ic.dagbag):
            dag_run = ic.dagbag.dags[INTERCONNECT].test(run_conf=ic.conf)
    finally:
        broken.restore()
    states = {ti.task_id: ti.state for ti in dag_run.get_task_instances()}
    assert dag_run.state == DagRunState.FAILED
    failed = {task for task, state in states.items() if state != "success"}
    assert failed == {"connectivity_test.ping_home_to_peer", "connectivity_test.ping_peer_to_home", "write_report"}
    reports = sorted(Path(ic.conf["report_dir"]).glob("interconnect-*.json"), key=lambda p: p.stat().st_mtime)
    report = json.loads(reports[-1].read_text())
    assert report["run_id"] == dag_run.run_id and report["status"] == "failed"
    for direction in naming.DIRECTIONS:
        assert report["connectivity"][direction]["received"] == 0
        # Echo requests (home -> peer) and replies (peer -> home) both leave through the home route table.
        finding = report["diagnosis"][direction]
        assert (finding["reason"], finding["hop"]) == ("route_table_missing_remote_cidr", broken.hop), finding
    _wait_healthy(ic)
