"""What the steps return: one pydantic model per result, the only shapes that cross a task boundary.

XCom carries each result as plain JSON (``model_dump(mode="json")``); the receiving task validates it
back into its model (:func:`include.jdcloud_vpn.taskflow.typed_task` does both). No model has a secret
field: the pre-shared key is compared inside a step and never returned.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, JsonValue

from include.jdcloud_vpn.conf import Region, Side, TeardownTarget


class Result(BaseModel):
    """Base of every result: immutable, unknown keys rejected (a renamed field fails loudly)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Drift(Result):
    """An adopted resource whose ``field`` differed from what the conf wants; ``repaired`` when the step
    modified it back to the conf (``on_drift: repair``)."""

    resource: str
    field: str
    expected: JsonValue
    actual: JsonValue
    repaired: bool = False


class SiteResult(Result):
    """A resource in one side's region, created by the step or adopted."""

    side: Side
    region: Region
    created: bool
    drift: list[Drift] = []


# --------------------------------------------------------------------- preconditions


class SitesChecked(Result):
    """Both sites exist as the conf describes them."""

    checked: list[Side]


class PskLocation(Result):
    """Where the pre-shared key is stored (never the key)."""

    stored_in: str


# --------------------------------------------------------------------- tutorial steps


class BorderGateway(SiteResult):
    """Steps 1/5."""

    bgw_id: str
    name: str


class VpcAttachment(SiteResult):
    """Steps 2/6."""

    vpc_attachment_id: str
    name: str


class CustomerGateway(SiteResult):
    """Steps 3/7."""

    customer_gateway_id: str
    name: str


class VpnConnection(SiteResult):
    """Steps 8/10: the connection and its two cloud public IPs."""

    vpn_connection_id: str
    cloud_ips: list[str]
    name: str


class CustomerGatewayWiring(Result):
    """Steps 9/11: the customer gateway now carries the other side's cloud public IPs."""

    side: Side
    region: Region
    customer_gateway_id: str
    customer_ips: list[str]
    changed: bool


class TunnelPair(Result):
    """Tunnel ``index`` joins cloud IP ``index`` of this side with cloud IP ``index`` of the other (step 12c)."""

    index: int
    cloud_ip: str
    customer_ip: str


class VpnTunnel(SiteResult):
    """Steps 12/13: one tunnel of a VPN connection."""

    vpn_tunnel_id: str
    index: int
    cloud_ip: str
    customer_ip: str


class RouteTableTarget(Result):
    """A VPC route table that must learn ``destination`` with the border gateway as next hop; the border
    gateway sends it to ``vpn_connection_id``."""

    region: Region
    route_table_id: str
    destination: str
    bgw_id: str
    vpn_connection_id: str | None = None


class StaticRoute(SiteResult):
    """Routing step: the border gateway's static route, and the route tables that must learn it."""

    bgw_route_id: str
    bgw_id: str
    destination: str
    route_table_targets: list[RouteTableTarget] = []


class ProbeVm(SiteResult):
    """Test step a/b: the VM that pings from this side (``ephemeral`` when the build created it)."""

    instance_id: str
    private_ip: str | None
    ephemeral: bool


class ReportFiles(Result):
    """A run's outcome and where its report was written: the URLs of its two files (``file://`` on the worker's
    disk, or the object store's)."""

    status: str
    json_path: str
    markdown_path: str


class DrillReportFiles(ReportFiles):
    """A drill's outcome: the report, its recovery time and the drill history it was appended to."""

    rto_s: float | None
    history_path: str


# --------------------------------------------------------------------- teardown


class PlanItem(Result):
    """One resource the teardown deletes, in ``phase``; the extra fields are what deleting it needs."""

    phase: str
    side: Side
    region: Region
    kind: str
    id: str
    bgw_id: str | None = None
    destination: str | None = None
    admin_status: str | None = None
    status: str | None = None


class TeardownRequest(Result):
    """A validated teardown trigger: which interconnect, whether to delete, where to report."""

    target: TeardownTarget
    dry_run: bool = False
    report_dir: str = "reports"


class TeardownPlan(TeardownRequest):
    """The request and everything it will delete, in deletion order."""

    plan: list[PlanItem]


class SiteGateway(Result):
    """A topology site's shared border gateway and VPC attachment."""

    site: str
    region: str
    bgw_id: str
    vpc_attachment_id: str


class SiteGatewayTeardown(Result):
    """A topology site's gateway teardown: what was deleted, or which of its users kept it."""

    site: str
    region: str
    deleted: list[str]
    kept_for: list[str]


class TeardownVerified(Result):
    """What remained after the teardown (must be nothing, unless a dry run)."""

    remaining: list[PlanItem]


CheckStatus = Literal["pass", "fail", "not checked"]


class PreflightCheck(Result):
    """One preflight check: its name, ``pass``, ``fail`` or ``not checked``, and a one-line detail."""

    name: str
    status: CheckStatus
    detail: str
