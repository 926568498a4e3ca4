"""The real data plane: the stored resources built as network namespaces, real IKEv2/IPsec and real ``ping``.

One namespace per VPC (a router with a bridge per subnet and one routing table per JD route table), per running
VM, per border gateway (a router with the BGW's effective routes), per provisioned VPN connection (a router
running one strongSwan charon whose cloud public IPs sit on a shared "internet" bridge), and that internet.
A tunnel is ``UP`` exactly when charon has its CHILD_SA ``INSTALLED``; a probe's ping is iputils ``ping`` run
in the VM's namespace, so it crosses real route tables, a real ESP-in-UDP tunnel and the far side's routes.

A background thread keeps the namespaces in line with the state (changes wake it; time-based transitions such
as propagation are picked up within ``poll_interval_s``). The tunnel verdicts of ``/emulator-api/state``
(``mismatch``) stay the model's, from ``SimulatedDataPlane``.
"""

from __future__ import annotations

import ipaddress
import itertools
import logging
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import vici.exception

from include.jdcloud_emulator import netns
from include.jdcloud_emulator.dataplane import PingRequest, SimulatedDataPlane
from include.jdcloud_emulator.models.state import Instance, InvocationResult, VpnTunnel
from include.jdcloud_emulator.settings import PRIVATE_RANGES, TEST_NETS

if TYPE_CHECKING:
    from include.jdcloud_emulator.cloud import EmulatedCloud

log = logging.getLogger(__name__)

NAMESPACE_PREFIX = "jdce"  # jdce<emulator pid>x<instance>-<kind><index>
_instances = itertools.count()
BGW_TABLE = 10  # the border gateway's routes
IPSEC_TABLE = 100  # in a VPN connection's namespace: traffic from the BGW goes into the tunnel
RETRY_INITIATE_S = 1.0  # an initiator re-initiates a tunnel that has no IKE SA this often


@dataclass(frozen=True)
class End:
    """One end of a veth link: its namespace, device name, addresses and the bridge it joins."""

    namespace: str
    device: str
    addresses: tuple[str, ...] = ()
    bridge: str | None = None

    def spec(self) -> tuple[str, str, list[str], str | None]:
        return self.namespace, self.device, list(self.addresses), self.bridge


@dataclass(frozen=True)
class TunnelSpec:
    """What charon is told about one tunnel end; any change reloads it (and ends its SAs)."""

    local: str
    remote: str
    version: int
    aggressive: bool
    proposal: str
    esp_proposal: str
    dpd_s: int
    ike_life_s: int
    ipsec_life_s: int
    initiator: bool
    psk: str = field(repr=False)

    def conn(self) -> dict:
        child = {
            "local_ts": ["0.0.0.0/0"],
            "remote_ts": ["0.0.0.0/0"],
            "esp_proposals": [self.esp_proposal],
            "rekey_time": f"{self.ipsec_life_s}s",
            "start_action": "none",
        }
        return {
            "version": str(self.version),
            "aggressive": "yes" if self.aggressive else "no",
            "local_addrs": [self.local],
            "remote_addrs": [self.remote],
            "proposals": [self.proposal],
            "rekey_time": f"{self.ike_life_s}s",
            "dpd_delay": f"{self.dpd_s}s",
            "mobike": "no",
            "local": {"auth": "psk", "id": self.local},
            "remote": {"auth": "psk", "id": self.remote},
            "children": {"net": child},
        }


@dataclass
class Desired:
    """The namespaces, links, routes and tunnels the state calls for at one moment."""

    namespaces: dict[str, dict[str, str | None]] = field(default_factory=dict)  # name -> its bridges -> address
    forwarding: set[str] = field(default_factory=set)
    links: dict[tuple[str, str], tuple[End, End]] = field(default_factory=dict)  # keyed by the first end
    routes: dict[str, list[str]] = field(default_factory=dict)  # namespace -> `ip -batch` lines
    tunnels: dict[str, dict[str, TunnelSpec]] = field(default_factory=dict)  # connection namespace -> id -> spec
    vm_namespaces: dict[str, str] = field(default_factory=dict)  # instance id -> namespace

    def link(self, a: End, b: End) -> None:
        self.links[(a.namespace, a.device)] = (a, b)


def proposal(cipher: str, auth: str, key_exchange: str | None) -> str:
    """A strongSwan proposal from JD's field values (they use strongSwan's keywords)."""
    return "-".join(p for p in (cipher, auth, key_exchange) if p and p != "null")


class RealDataPlane(SimulatedDataPlane):
    """Network namespaces and strongSwan, kept in line with the emulator's state by a background thread."""

    def __init__(self, cloud: EmulatedCloud, poll_interval_s: float = 0.25) -> None:
        reason = netns.unavailable_reason()
        if reason:
            raise RuntimeError(reason)
        super().__init__(cloud)
        cleanup_stale()
        self.poll_interval_s = poll_interval_s
        self.prefix = f"{NAMESPACE_PREFIX}{os.getpid()}x{next(_instances)}-"
        self.directory = Path(tempfile.mkdtemp(prefix=f"{self.prefix}"))
        self._index: dict[str, int] = {}
        self._namespaces: set[str] = set()
        self._bridges: dict[str, dict[str, str | None]] = {}
        self._links: dict[tuple[str, str], tuple[End, End]] = {}
        self._routes: dict[str, list[str]] = {}
        self._charons: dict[str, netns.Charon] = {}
        self._loaded: dict[str, dict[str, TunnelSpec]] = {}
        self._initiated: dict[str, float] = {}
        self._up: set[str] = set()
        self._vm_namespaces: dict[str, str] = {}
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"real-dataplane-{self.prefix}", daemon=True)
        self._thread.start()

    # ------------------------------------------------------------------ the DataPlane interface

    def reconcile(self, now: float) -> None:
        super().reconcile(now)  # keeps the model's verdicts (``mismatch``) for /emulator-api/state
        self._wake.set()

    def op_status(self, tunnel: VpnTunnel, now: float) -> str:
        return "UP" if tunnel.vpn_tunnel_id in self._up else "DOWN"

    def ping(self, result: InvocationResult, source: Instance, request: PingRequest, interval_s: float) -> None:
        result.end_at = None
        args = (result, source.instance_id, request, interval_s)
        threading.Thread(target=self._ping, args=args, name=f"ping-{source.instance_id}", daemon=True).start()

    def close(self) -> None:
        """Stop the thread, every charon (they send DELETE for their SAs) and delete every namespace (once)."""
        if self._stopping.is_set():
            return
        self._stopping.set()
        self._wake.set()
        self._thread.join(timeout=30)
        for name in list(self._charons):
            self._stop_charon(name)
        for name in self._namespaces:
            netns.delete_namespace(name)
        self._charons.clear()
        self._namespaces.clear()
        shutil.rmtree(self.directory, ignore_errors=True)

    def wait_ready(self, timeout: float = 30) -> None:
        """Block until the first reconciliation has been applied."""
        if not self._ready.wait(timeout):
            raise RuntimeError("the real data plane did not come up")

    def namespace_of(self, instance_id: str) -> str | None:
        """The namespace of a running VM (None when it has none)."""
        return self._vm_namespaces.get(instance_id)

    # ------------------------------------------------------------------ ping

    def _ping(self, result: InvocationResult, instance_id: str, request: PingRequest, interval_s: float) -> None:
        exit_code, output = 2, ""
        try:
            delay = result.start_at - self.cloud.now()
            if delay > 0:
                time.sleep(delay)
            exit_code, output = self._run_ping(instance_id, request, interval_s)
        except Exception as error:  # a guest command fails, the emulator goes on
            output = f"ping: {error}\n"
        finally:
            with self.cloud.lock:
                result.exit_code, result.output, result.end_at = exit_code, output, self.cloud.now()
                if self.cloud.store:
                    self.cloud.store.save(self.cloud.state)

    def _run_ping(self, instance_id: str, request: PingRequest, interval_s: float) -> tuple[int, str]:
        """iputils ``ping`` in the VM's namespace (only validated values reach its command line)."""
        try:
            destination = ipaddress.IPv4Address(request.destination)
        except ValueError:
            return 2, f"ping: {request.destination}: Name or service not known\n"
        if not any(destination in network for network in (*PRIVATE_RANGES, *TEST_NETS)):
            return 2, "ping: connect: Network is unreachable\n"  # nothing beyond the namespaces is ever a target
        namespace = self._vm_namespaces.get(instance_id)
        if namespace is None:
            return 2, "ping: connect: Network is unreachable\n"
        argv = ["ip", "netns", "exec", namespace, "ping", "-n", "-c", str(request.count), "-s", str(request.size)]
        # Without -W, iputils waits 10 s for a lost reply: scaled like every latency of the emulator.
        wait = request.reply_wait_s or max(10 * self.cloud.settings.time_scale, 0.5)
        argv += ["-i", f"{max(interval_s, 0.002):.3f}", "-W", f"{wait:g}"]
        if request.dont_fragment:
            argv += ["-M", "do"]
        deadline = request.count * interval_s + wait + 15
        done = subprocess.run([*argv, str(destination)], capture_output=True, text=True, timeout=deadline, check=False)
        return done.returncode, done.stdout + done.stderr

    # ------------------------------------------------------------------ the reconciler

    def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                with self.cloud.lock:
                    desired = self._desired(self.cloud.now())
                self._apply(desired)
                self._drive_tunnels(desired)
                self._ready.set()
            except Exception:  # keep reconciling; the next pass retries
                log.exception("real data plane: reconciliation failed")
            self._wake.wait(self.poll_interval_s)
            self._wake.clear()

    def _name(self, kind: str, resource_id: str) -> str:
        return f"{self.prefix}{kind}{self._idx(resource_id)}"

    def _idx(self, key: str) -> int:
        return self._index.setdefault(key, len(self._index))

    def _transit(self, key: str) -> tuple[str, str]:
        """Two addresses of a /31 of 169.254.0.0/16 for the point-to-point link ``key``."""
        n = 2 * self._idx("link:" + key)
        base = ipaddress.IPv4Address("169.254.0.0") + n
        return f"{base}/31", f"{base + 1}/31"

    def _desired(self, now: float) -> Desired:
        """What the state calls for at ``now`` (called with the cloud's lock held; only reads the state)."""
        desired = Desired()
        gateways = self._vpcs(desired)
        attached, attachment_hops = self._attachments(desired, now)
        self._route_tables(desired, gateways, attached, now)
        connection_hops = self._connections(desired, now)
        self._bgw_routes(desired, connection_hops, attachment_hops, now)
        self._vms(desired, gateways, now)
        return desired

    def _vpcs(self, desired: Desired) -> dict[str, tuple[str, str, str]]:
        """A router per VPC with a bridge per subnet; returns subnet id -> (VPC namespace, bridge, gateway)."""
        gateways: dict[str, tuple[str, str, str]] = {}
        for vpc in self.cloud.state.vpcs.values():
            name = self._name("v", vpc.vpc_id)
            desired.namespaces[name] = {}
            desired.forwarding.add(name)
            desired.routes[name] = _rule_reset()
        for subnet in self.cloud.state.subnets.values():
            name = self._name("v", subnet.vpc_id)
            network = ipaddress.IPv4Network(subnet.address_prefix)
            bridge = f"s{self._idx(subnet.subnet_id)}"
            desired.namespaces[name][bridge] = f"{network[1]}/{network.prefixlen}"
            gateways[subnet.subnet_id] = (name, bridge, str(network[1]))
        return gateways

    def _attachments(
        self, desired: Desired, now: float
    ) -> tuple[dict[tuple[str, str], str], dict[str, tuple[str, str]]]:
        """A router per BGW, linked to each VPC attached to it (while the attachment is active).

        Returns (VPC id, BGW id) -> the BGW's address seen from the VPC, and attachment id -> (device, VPC's
        address) seen from the BGW.
        """
        state = self.cloud.state
        for bgw in state.bgws.values():
            name = self._name("b", bgw.bgw_id)
            desired.namespaces[name] = {}
            desired.forwarding.add(name)
        attached: dict[tuple[str, str], str] = {}
        hops: dict[str, tuple[str, str]] = {}
        for attachment in state.vpc_attachments.values():
            if not self.cloud.bgw.attachment_active(attachment, now) or attachment.vpc_id not in state.vpcs:
                continue
            bgw_side, vpc_side = self._transit(attachment.vpc_attachment_id)
            vpc_dev, bgw_dev = f"b{self._idx(attachment.bgw_id)}", f"v{self._idx(attachment.vpc_id)}"
            desired.link(
                End(self._name("v", attachment.vpc_id), vpc_dev, (vpc_side,)),
                End(self._name("b", attachment.bgw_id), bgw_dev, (bgw_side,)),
            )
            attached[(attachment.vpc_id, attachment.bgw_id)] = _host(bgw_side)
            hops[attachment.vpc_attachment_id] = (bgw_dev, _host(vpc_side))
        return attached, hops

    def _route_tables(
        self, desired: Desired, gateways: dict[str, tuple[str, str, str]], attached: dict, now: float
    ) -> None:
        """Each route table as a kernel table of its VPC's router, chosen by the source subnet."""
        for table in self.cloud.state.route_tables.values():
            tid = 1000 + self._idx(table.route_table_id)
            lines = desired.routes[self._name("v", table.vpc_id)]
            lines.append(f"route flush table {tid}")
            for rule in _dedup(self.cloud.vpc.effective_rules(table, now), "address_prefix", "priority"):
                target = f"{rule.address_prefix} table {tid} metric {rule.priority}"
                hop = attached.get((table.vpc_id, rule.next_hop_id)) if rule.next_hop_type == "bgw" else None
                if rule.next_hop_type == "local":
                    lines.append(f"route add throw {target}")  # on to the main table: the subnets' bridges
                elif hop:
                    lines.append(f"route add {target} via {hop} dev b{self._idx(rule.next_hop_id)}")
                else:
                    lines.append(f"route add blackhole {target}")  # internet, or a BGW not attached
        for subnet in self.cloud.state.subnets.values():
            name, _, _ = gateways[subnet.subnet_id]
            tid = 1000 + self._idx(subnet.route_table_id)
            desired.routes[name].append(f"rule add pref 100 from {subnet.address_prefix} lookup {tid}")

    def _connections(self, desired: Desired, now: float) -> dict[str, tuple[str, str]]:
        """A namespace per provisioned VPN connection: on the internet bridge with its cloud IPs, linked to its
        BGW, running charon. Returns connection id -> (device, address) seen from the BGW."""
        state, wan = self.cloud.state, self.prefix + "wan"
        hops: dict[str, tuple[str, str]] = {}
        for connection in state.vpn_connections.values():
            if connection.deleting_at is not None or not self.cloud.bgw.connection_provisioned(connection, now):
                continue
            if connection.bgw_id not in state.bgws:
                continue
            name = self._name("c", connection.vpn_connection_id)
            desired.namespaces[wan] = {"br0": None}  # the internet: made with the first VPN connection
            desired.namespaces[name] = {}
            desired.forwarding.add(name)
            bgw_side, conn_side = self._transit(connection.vpn_connection_id)
            bgw_dev = f"c{self._idx(connection.vpn_connection_id)}"
            desired.link(End(name, "bgw", (conn_side,)), End(self._name("b", connection.bgw_id), bgw_dev, (bgw_side,)))
            ips = tuple(f"{ip}/32" for ip in connection.cloud_public_ip)
            desired.link(End(name, "wan", ips), End(wan, bgw_dev, (), "br0"))
            hops[connection.vpn_connection_id] = (bgw_dev, _host(conn_side))
            desired.routes[name] = [
                *_rule_reset(),
                f"rule add pref 100 iif bgw lookup {IPSEC_TABLE}",
                f"route replace default via {_host(bgw_side)} dev bgw",
                *(f"route replace {network} dev wan" for network in TEST_NETS),
                f"route replace default dev ipsec0 table {IPSEC_TABLE}",
            ]
            desired.tunnels[name] = {
                t.vpn_tunnel_id: self._tunnel_spec(t)
                for t in self.cloud.bgw.tunnels_of_connection(connection.vpn_connection_id)
                if self._negotiates(t, now)
            }
        return hops

    def _bgw_routes(self, desired: Desired, connection_hops: dict, attachment_hops: dict, now: float) -> None:
        """Each BGW's effective routes (static to a VPN connection, propagated to a VPC) in its router's table."""
        for bgw in self.cloud.state.bgws.values():
            lines = [*_rule_reset(), f"rule add pref 100 lookup {BGW_TABLE}", f"route flush table {BGW_TABLE}"]
            routes = self.cloud.bgw.effective_routes(bgw.bgw_id, now)
            for route in _dedup(routes, "bgw_route_destination", "bgw_route_priority"):
                target = f"{route.bgw_route_destination} table {BGW_TABLE} metric {route.bgw_route_priority}"
                hops = connection_hops if route.bgw_route_next_hop_type == "vpnConnection" else attachment_hops
                hop = hops.get(route.bgw_route_nexthop)
                lines.append(
                    f"route add {target} via {hop[1]} dev {hop[0]}" if hop else f"route add blackhole {target}"
                )
            desired.routes[self._name("b", bgw.bgw_id)] = lines

    def _vms(self, desired: Desired, gateways: dict[str, tuple[str, str, str]], now: float) -> None:
        """A namespace per running VM, on its subnet's bridge with its private IP."""
        state = self.cloud.state
        for instance in state.instances.values():
            if self.cloud.vm.status(instance, now) != "running" or instance.subnet_id not in gateways:
                continue
            vpc_ns, bridge, gateway = gateways[instance.subnet_id]
            name = self._name("i", instance.instance_id)
            prefix = ipaddress.IPv4Network(state.subnets[instance.subnet_id].address_prefix).prefixlen
            desired.namespaces[name] = {}
            vm_end = End(name, "eth0", (f"{instance.private_ip_address}/{prefix}",))
            desired.link(vm_end, End(vpc_ns, f"i{self._idx(instance.instance_id)}", (), bridge))
            desired.routes[name] = [f"route replace default via {gateway} dev eth0"]
            desired.vm_namespaces[instance.instance_id] = name

    def _negotiates(self, tunnel: VpnTunnel, now: float) -> bool:
        """Whether charon gets this tunnel end: admin UP, its CGW lists the peer (a TEST-NET address), no stuck
        or flap fault on it."""
        if tunnel.admin_status != "UP" or not self._cross_wired(tunnel):
            return False
        if not any(ipaddress.IPv4Address(tunnel.customer_ip) in n for n in TEST_NETS):
            return False  # only documentation addresses ever appear in a namespace
        if self.cloud.faults.is_stuck("tunnel_negotiation", tunnel.vpn_tunnel_id):
            return False
        mirror = self.mirror_of(tunnel)
        ids = [tunnel.vpn_tunnel_id] + ([mirror.vpn_tunnel_id] if mirror else [])
        return not any(start <= now < end for start, end in self.cloud.faults.flaps(ids))

    @staticmethod
    def _tunnel_spec(tunnel: VpnTunnel) -> TunnelSpec:
        return TunnelSpec(
            local=tunnel.cloud_public_ip,
            remote=tunnel.customer_ip,
            version=1 if tunnel.ike_version == "v1" else 2,
            aggressive=tunnel.ike_version == "v1" and tunnel.ike_mode == "aggressive",
            proposal=proposal(tunnel.ike_cipher, tunnel.ike_auth, tunnel.ike_key_exchange),
            esp_proposal=proposal(tunnel.ipsec_cipher, tunnel.ipsec_auth, tunnel.ipsec_key_exchange),
            dpd_s=tunnel.ike_dpd_sec,
            ike_life_s=tunnel.ike_sa_life_sec,
            ipsec_life_s=tunnel.ipsec_sa_life_sec,
            initiator=ipaddress.IPv4Address(tunnel.cloud_public_ip) < ipaddress.IPv4Address(tunnel.customer_ip),
            psk=tunnel.psk,
        )

    def _apply(self, desired: Desired) -> None:
        """Make the namespaces, bridges, links, charons and routes match ``desired`` (tunnels come after)."""
        for name in set(self._charons) - set(desired.tunnels):
            self._stop_charon(name)
        for name in self._namespaces - set(desired.namespaces):
            netns.delete_namespace(name)
            self._namespaces.discard(name)
            self._bridges.pop(name, None)
            self._routes.pop(name, None)
        self._links = {k: v for k, v in self._links.items() if {v[0].namespace, v[1].namespace} <= self._namespaces}
        for name, bridges in desired.namespaces.items():
            if name not in self._namespaces:
                netns.add_namespace(name, forward=name in desired.forwarding)
                self._namespaces.add(name)
            made = self._bridges.setdefault(name, {})
            for bridge, address in bridges.items():
                if bridge not in made:
                    netns.add_bridge(name, bridge, address)
                    made[bridge] = address
        for key, link in list(self._links.items()):
            if desired.links.get(key) != link:
                netns.delete_link(*key)
                del self._links[key]
        for key, (a, b) in desired.links.items():
            if key not in self._links:
                netns.add_veth(a.spec(), b.spec())
                self._links[key] = (a, b)
        for name in desired.tunnels:
            if name not in self._charons:
                charon = netns.Charon(name, self.directory / name)
                charon.start()
                self._charons[name] = charon
                self._loaded[name] = {}
        for name, lines in desired.routes.items():
            if self._routes.get(name) != lines:
                netns.batch(name, lines)
                self._routes[name] = lines
        self._vm_namespaces = dict(desired.vm_namespaces)

    def _stop_charon(self, name: str) -> None:
        """End the charon's IKE SAs (the peers get a DELETE, as from a gateway going away), then stop it."""
        charon = self._charons.pop(name)
        try:
            session = charon.session()
            try:
                for tunnel_id in self._loaded.get(name, {}):
                    _ignore_missing(session.terminate, {"ike": tunnel_id, "timeout": 500})
            finally:
                netns.close_session(session)
        except OSError:
            pass  # charon already gone
        charon.stop()
        self._loaded.pop(name, None)

    def _drive_tunnels(self, desired: Desired) -> None:
        """Load changed tunnel ends into charon, initiate from the lower IP, and read which CHILD_SAs are up."""
        up: set[str] = set()
        now = time.monotonic()
        for name, specs in desired.tunnels.items():
            charon, loaded = self._charons[name], self._loaded[name]
            session = charon.session()
            try:
                for tunnel_id in [t for t in loaded if specs.get(t) != loaded[t]]:
                    _ignore_missing(session.terminate, {"ike": tunnel_id, "force": "yes", "timeout": -1})
                    _ignore_missing(session.unload_conn, {"name": tunnel_id})
                    _ignore_missing(session.unload_shared, {"id": tunnel_id})
                    del loaded[tunnel_id]
                for tunnel_id, spec in specs.items():
                    if tunnel_id not in loaded:
                        session.load_conn({tunnel_id: spec.conn()})
                        owners = [spec.local, spec.remote]
                        session.load_shared({"id": tunnel_id, "type": "IKE", "data": spec.psk, "owners": owners})
                        loaded[tunnel_id] = spec
                        self._initiated.pop(tunnel_id, None)
                sas = {ike: sa for entry in session.list_sas() for ike, sa in entry.items()}
                installed = {
                    n
                    for n, sa in sas.items()
                    if any(c["state"] == b"INSTALLED" for c in sa.get("child-sas", {}).values())
                }
                up |= installed & set(specs)
                for tunnel_id, spec in specs.items():
                    if not spec.initiator or tunnel_id in sas:
                        continue
                    if now - self._initiated.get(tunnel_id, -RETRY_INITIATE_S) >= RETRY_INITIATE_S:
                        for _ in session.initiate({"ike": tunnel_id, "child": "net", "timeout": -1}):
                            pass
                        self._initiated[tunnel_id] = now
            finally:
                netns.close_session(session)
        self._up = up


def _rule_reset() -> list[str]:
    """``ip -batch`` lines that put a namespace's policy rules back to the kernel's main and default rules."""
    return ["rule flush", "rule add pref 32766 lookup main", "rule add pref 32767 lookup default"]


def _host(address: str) -> str:
    return address.split("/")[0]


def _dedup(items: list, prefix_field: str, priority_field: str) -> list:
    """The first of the items that share a destination and a priority (the kernel keeps one route per pair)."""
    seen: set[tuple] = set()
    kept = []
    for item in items:
        key = (getattr(item, prefix_field), getattr(item, priority_field))
        if key not in seen:
            seen.add(key)
            kept.append(item)
    return kept


def _ignore_missing(command, message: dict) -> None:
    """Run a VICI unload/terminate command; nothing to unload or terminate is fine."""
    try:
        result = command(message)
        if result is not None and not isinstance(result, dict):
            for _ in result:
                pass
    except vici.exception.CommandException:
        pass


def cleanup_stale() -> None:
    """Stop the charons and delete the namespaces that an emulator which died without ``close`` left behind."""
    pattern = re.compile(rf"^{NAMESPACE_PREFIX}(\d+)x\d+-")

    def stale(name: str) -> bool:
        found = pattern.match(name)
        return found is not None and not Path(f"/proc/{found.group(1)}").exists()

    for directory in Path(tempfile.gettempdir()).glob(f"{NAMESPACE_PREFIX}*"):
        if stale(directory.name):
            for pid_file in directory.glob("*/run/charon.pid"):
                _stop_stale_charon(pid_file)
            shutil.rmtree(directory, ignore_errors=True)
    for name in netns.namespaces():
        if stale(name):
            netns.delete_namespace(name)


def _stop_stale_charon(pid_file: Path) -> None:
    """SIGTERM the charon whose PID file this is, if that PID is still a charon."""
    try:
        pid = int(pid_file.read_text().strip())
        if Path(f"/proc/{pid}/exe").resolve() == netns.CHARON:
            os.kill(pid, 15)
    except (OSError, ValueError):
        pass
