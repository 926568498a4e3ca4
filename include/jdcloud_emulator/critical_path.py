"""The cloud's own critical path: how fast the emulated cloud lets an interconnect be built or torn down.

A :class:`Step` is one API call, taken the moment every step it ``needs`` has ended, followed by the emulated
latencies it waits out (``settings.DEFAULT_LATENCIES`` names). ``needs`` are the cloud's rules only, as the
emulator's backends enforce them (``jdcloud-api.md`` sections 3-4, ``docs/emulator.md``), not the order a DAG
happens to use: a static route needs its VPN connection to exist, not the tunnels UP; a tunnel needs its
connection provisioned and its customer gateway pointed at the far side's cloud IPs; a ping needs both VMs
running, the tunnels UP and the routes learned in both VPCs when its invocation starts, not the other ping.
API calls take no time here, so the longest path is a lower bound on any build, whatever orchestrates it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

SIDES = ("home", "peer")
TUNNELS = (1, 2)
DIRECTIONS = (("home", "peer"), ("peer", "home"))


@dataclass(frozen=True)
class Step:
    """One API call and what it waits out.

    :param name: unique step name
    :param needs: steps that must have ended before the call is accepted (or, for a ping, can succeed)
    :param waits: ``(latency name, times)`` the step waits out after its call, e.g. ``("ping_interval", 4)``
    :param operations: the mutating API calls it makes, in order; none for a cloud event that is only waited out
    :param reads: describe calls that confirm its end (one per resource a build must see in its final state)
    """

    name: str
    needs: tuple[str, ...] = ()
    waits: tuple[tuple[str, float], ...] = ()
    operations: tuple[str, ...] = ()
    reads: int = 0

    def duration(self, latencies: Mapping[str, float]) -> float:
        """Seconds from the call to the end of the step, with ``latencies`` (already time-scaled)."""
        return sum(latencies[name] * times for name, times in self.waits)


@dataclass(frozen=True)
class CriticalPath:
    """The earliest end of every step, the bound (the latest of them) and the chain of steps that sets it."""

    ends: dict[str, float]
    bound_s: float
    chain: list[str]


def critical_path(steps: Sequence[Step], latencies: Mapping[str, float]) -> CriticalPath:
    """Earliest end of each step when each starts as soon as all it needs have ended (longest path).

    :raises ValueError: a step needs an unknown step, names are not unique, or the needs form a cycle
    """
    by_name = {step.name: step for step in steps}
    if len(by_name) != len(steps):
        raise ValueError("step names must be unique")
    for step in steps:
        unknown = set(step.needs) - set(by_name)
        if unknown:
            raise ValueError(f"step {step.name} needs unknown steps: {sorted(unknown)}")
    ends: dict[str, float] = {}
    latest_need: dict[str, str | None] = {}
    visiting: set[str] = set()

    def end(name: str) -> float:
        if name in ends:
            return ends[name]
        if name in visiting:
            raise ValueError(f"the needs form a cycle through {name}")
        visiting.add(name)
        step = by_name[name]
        start, latest_need[name] = 0.0, None
        for need in step.needs:
            if end(need) > start or latest_need[name] is None:
                start, latest_need[name] = max(start, end(need)), need
        visiting.discard(name)
        ends[name] = start + step.duration(latencies)
        return ends[name]

    for step in steps:
        end(step.name)
    last = max(steps, key=lambda s: ends[s.name]).name if steps else None
    chain: list[str] = []
    while last is not None:
        chain.append(last)
        last = latest_need[last]
    return CriticalPath(ends, max(ends.values(), default=0.0), list(reversed(chain)))


def scaled(latencies: Mapping[str, float], time_scale: float) -> dict[str, float]:
    """The latency table as the emulator applies it at ``time_scale``."""
    return {name: seconds * time_scale for name, seconds in latencies.items()}


def _other(side: str) -> str:
    return SIDES[1 - SIDES.index(side)]


def build_steps(*, create_probes: bool, ping_count: int) -> list[Step]:
    """The steps of one interconnect build, from two VPCs with a subnet each to both pings passed.

    :param create_probes: the build launches the probe VMs (they boot, and are deleted after the pings);
        otherwise they are already running
    :param ping_count: echo requests per ping (one every ``ping_interval``)
    """
    steps: list[Step] = []
    for side in SIDES:
        other = _other(side)
        bgw, cgw, vpn = f"create_bgw_{side}", f"create_customer_gateway_{side}", f"create_vpn_connection_{side}"
        attachment = f"create_vpc_attachment_{side}"
        steps += [
            Step(bgw, operations=("CreateBgw",)),
            Step(cgw, operations=("CreateCustomerGateway",)),
            Step(attachment, (bgw,), (("attachment_create", 1),), ("CreateVpcAttachment",), reads=1),
            # The border gateway learns the VPC's subnets (propagated routes) a moment after the attachment.
            Step(f"subnets_propagated_{side}", (attachment,), (("attachment_propagation", 1),)),
            Step(vpn, (bgw, cgw), operations=("CreateVpnConnection",)),
            # The connection shows (and accepts tunnels on) its two cloud IPs once provisioned.
            Step(f"cloud_ips_{side}", (vpn,), (("vpn_connection_provision", 1),), reads=1),
            Step(f"point_customer_gateway_{side}", (cgw, f"cloud_ips_{other}"), operations=("ModifyCustomerGateway",)),
            Step(f"create_static_route_{side}", (bgw, vpn), operations=("CreateBgwRoute",)),
            # The VPC route table learns the static route once the route exists and the attachment is active.
            Step(
                f"route_learned_{side}",
                (f"create_static_route_{side}", attachment),
                (("route_propagation", 1),),
                reads=1,
            ),
            # A probe VM exists from its launch and runs after vm_boot (an existing one: both at once).
            Step(f"launch_probe_vm_{side}", operations=("CreateInstances",) if create_probes else ()),
            Step(
                f"probe_vm_running_{side}",
                (f"launch_probe_vm_{side}",),
                (("vm_boot", 1),) if create_probes else (),
                reads=1 if create_probes else 0,
            ),
        ]
        steps += [
            Step(
                f"create_vpn_tunnel_{side}_{i}",
                (f"cloud_ips_{side}", f"point_customer_gateway_{side}"),
                operations=("CreateVpnTunnel",),
            )
            for i in TUNNELS
        ]
    # A tunnel pair negotiates once both mirror ends exist (each on a customer gateway naming the other's IP).
    steps += [
        Step(
            f"tunnel_{i}_up",
            tuple(f"create_vpn_tunnel_{side}_{i}" for side in SIDES),
            (("tunnel_negotiation", 1),),
            reads=len(SIDES),
        )
        for i in TUNNELS
    ]
    ready = ("probe_vm_running", "route_learned", "subnets_propagated")
    path = tuple([f"tunnel_{i}_up" for i in TUNNELS] + [f"{prefix}_{side}" for side in SIDES for prefix in ready])
    pings = []
    for source, target in DIRECTIONS:
        # The invocation (its command created first) is accepted once the source VM exists; it starts
        # invocation_start later, when the VMs must run and the path be open for every echo request.
        invoke, ping = f"invoke_ping_{source}_to_{target}", f"ping_{source}_to_{target}"
        steps += [
            Step(
                invoke,
                (f"launch_probe_vm_{source}",),
                (("invocation_start", 1),),
                ("CreateCommand", "InvokeCommand"),
            ),
            Step(ping, (invoke, *path), (("ping_interval", ping_count),), reads=1),
        ]
        pings.append(ping)
    if create_probes:
        steps += [Step(f"delete_probe_vm_{side}", tuple(pings), operations=("DeleteInstance",)) for side in SIDES]
    return steps


def teardown_steps(*, delete_probes: bool) -> list[Step]:
    """The steps of one interconnect teardown, from a built interconnect to nothing of it left.

    :param delete_probes: the probe VMs were created by the build and are deleted (and waited for until gone)
    """
    steps: list[Step] = []
    for side in SIDES:
        tunnels = [f"delete_vpn_tunnel_{side}_{i}" for i in TUNNELS]
        vpn, attachment = f"delete_vpn_connection_{side}", f"delete_vpc_attachment_{side}"
        steps += [Step(f"tunnel_admin_down_{side}_{i}", operations=("ModifyAdminStatus",)) for i in TUNNELS]
        # A tunnel set DOWN can be deleted only after the tunnel_admin_down hold.
        steps += [
            Step(name, (f"tunnel_admin_down_{side}_{i}",), (("tunnel_admin_down", 1),), ("DeleteVpnTunnel",))
            for i, name in zip(TUNNELS, tunnels, strict=True)
        ]
        steps += [
            Step(f"delete_static_route_{side}", operations=("DeleteBgwRoute",)),
            Step(
                vpn,
                (*tunnels, f"delete_static_route_{side}"),
                (("vpn_connection_delete", 1),),
                "DeleteVpnConnection",
                reads=1,
            ),
            Step(f"delete_customer_gateway_{side}", (vpn,), operations=("DeleteCustomerGateway",)),
            Step(attachment, (), (("attachment_delete", 1),), ("DeleteVpcAttachment",), reads=1),
            Step(f"delete_bgw_{side}", (attachment, vpn), operations=("DeleteBgw",)),
        ]
        if delete_probes:
            steps.append(Step(f"delete_probe_vm_{side}", (), (("vm_delete", 1),), ("DeleteInstance",), reads=1))
    steps += [
        Step(f"delete_command_{source}_to_{target}", operations=("DeleteCommands",)) for source, target in DIRECTIONS
    ]
    return steps


def minimal_calls(steps: Iterable[Step]) -> dict[str, int]:
    """The fewest API calls that take ``steps`` safely: each mutation, one idempotency lookup before it (so a
    retry adopts instead of duplicating), and the reads that confirm each awaited end."""
    steps = list(steps)
    mutations = sum(len(step.operations) for step in steps)
    reads = sum(step.reads for step in steps)
    return {"mutations": mutations, "lookups": mutations, "reads": reads, "total": 2 * mutations + reads}


def lower_bound(steps: Iterable[Step], latencies: Mapping[str, float], time_scale: float = 1.0) -> float:
    """The critical path's length in seconds at ``time_scale``."""
    return critical_path(list(steps), scaled(latencies, time_scale)).bound_s
