"""Many interconnects in one conf: named sites, and the pairs to connect (a list, or ``mesh`` / ``hub``).

A :class:`TopologyConf` names each site (a VPC in a region, as in :class:`SiteConf`) once and says which pairs
of sites to interconnect: ``interconnects`` lists them, or ``topology`` expands them:

* ``mesh``: every pair of sites in *different* regions (a pair in one region is left out and listed in
  :attr:`TopologyPlan.excluded`: a cross-region VPN needs two regions);
* ``hub``: the ``hub`` site to every other site (a spoke in the hub's region is an error).

Each pair becomes one :class:`InterconnectConf` named ``<name>-<home>-<peer>``, with the shared ``settings``
(tunnel parameters, waits, ping...), so every rule of a single interconnect applies to each pair. A site's
border gateway and VPC attachment are shared by all its pairs; each pair has its own customer gateways,
VPN connections, tunnels and static routes. :func:`validate_topology` also checks, before anything is created,
what no single pair can see: a VPC named by two sites, overlapping CIDRs behind one border gateway, and JD
Cloud's quotas (:mod:`airflow_provider_jdcloud.quotas`), each error naming the quota and the sites.
"""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import Field, ValidationError, model_validator

from airflow_provider_jdcloud import quotas
from include.jdcloud_vpn.conf import (
    ConfError,
    FrozenModel,
    InterconnectConf,
    Side,
    SiteConf,
    SiteKey,
    TopologyMember,
    TopologyName,
    interconnect_lock_keys,
    problems_of,
    rule_error,
)
from include.jdcloud_vpn.results import Result

#: InterconnectConf fields a topology sets per pair; every other field may be given in ``settings``.
PER_PAIR_FIELDS = frozenset({"name", "home", "peer", "psk_secret", "member_of"})


class PairSpec(FrozenModel):
    """One interconnect of the topology: two site keys; ``home`` is the side whose VPN connection comes second."""

    home: SiteKey
    peer: SiteKey


class TopologyConf(FrozenModel):
    """Sites and the interconnects between them."""

    name: TopologyName = Field(
        description="Topology name, 2-8 lowercase letters and digits: each pair is named <name>-<home>-<peer>.",
    )
    sites: dict[SiteKey, SiteConf] = Field(
        min_length=2, description="Sites by key (1-6 lowercase letters and digits, starting with a letter)."
    )
    topology: Literal["mesh", "hub"] | None = Field(
        default=None,
        description="mesh: every pair of sites in different regions; hub: the hub site to every other site.",
    )
    hub: SiteKey | None = Field(default=None, description="The hub site's key (topology hub only).")
    interconnects: tuple[PairSpec, ...] = Field(
        default=(), description="The pairs to connect, when no topology is given."
    )
    settings: dict[str, Any] = Field(
        default_factory=dict,
        description=(
            "Interconnect settings every pair takes: any field of a single interconnect's conf but name, home, "
            "peer and psk_secret (each pair keeps its key in Variable jdcloud_vpn_psk_secret_<pair name>)."
        ),
    )

    @model_validator(mode="after")
    def _check_shape(self) -> TopologyConf:
        if (self.topology is None) == (not self.interconnects):
            raise rule_error("give either topology (mesh or hub) or interconnects (a list of pairs), exactly one")
        if (self.topology == "hub") != (self.hub is not None):
            raise rule_error("hub names the hub site, and is given exactly when topology is hub", "hub")
        named = [self.hub] if self.hub else [key for pair in self.interconnects for key in (pair.home, pair.peer)]
        unknown = sorted({key for key in named if key not in self.sites})
        if unknown:
            raise rule_error(f"unknown site {', '.join(unknown)}; sites are {', '.join(self.sites)}")
        forbidden = sorted(PER_PAIR_FIELDS & set(self.settings))
        if forbidden:
            raise rule_error(f"{', '.join(forbidden)} cannot be shared: the topology sets them per pair", "settings")
        return self

    def pairs(self) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
        """The pairs to connect, and the pairs ``mesh`` left out because both sites are in one region."""
        if self.interconnects:
            candidates = [(pair.home, pair.peer) for pair in self.interconnects]
        elif self.topology == "hub":
            candidates = [(self.hub, key) for key in self.sites if key != self.hub]
        else:
            candidates = list(itertools.combinations(self.sites, 2))
        if self.topology == "mesh":
            kept = [(a, b) for a, b in candidates if self.sites[a].region != self.sites[b].region]
            return kept, [pair for pair in candidates if pair not in kept]
        return candidates, []

    def pair_name(self, home: str, peer: str) -> str:
        return f"{self.name}-{home}-{peer}"

    def lock_keys(self) -> frozenset[str]:
        """Every pair's interconnect, and every site's border gateway (shared by its pairs)."""
        keys = {f"site:{site.region}:{site.vpc_id}" for site in self.sites.values()}
        for home, peer in self.pairs()[0]:
            keys |= interconnect_lock_keys(self.pair_name(home, peer))
        return frozenset(keys)


@dataclass(frozen=True)
class TopologyPlan:
    """A validated topology: each pair's interconnect conf, and the pairs mesh left out."""

    conf: TopologyConf
    interconnects: dict[tuple[str, str], InterconnectConf]
    excluded: list[tuple[str, str]]

    def pairs_of(self, site: str) -> list[tuple[str, str]]:
        return [pair for pair in self.interconnects if site in pair]

    def to_result(self) -> ValidatedTopology:
        """The plan as the topology DAGs pass it on (XCom JSON): pairs, and each site with a pair that holds it."""
        sites = []
        for key, site in self.conf.sites.items():
            pair = next((p for p in self.interconnects if key in p), None)
            if pair is not None:
                side: Side = "home" if pair[0] == key else "peer"
                sites.append(TopologySite(key=key, region=site.region, side=side, anchor=self.interconnects[pair]))
        return ValidatedTopology(
            name=self.conf.name,
            lock_keys=sorted(self.conf.lock_keys()),
            sites=sites,
            pairs=[TopologyPair(home=h, peer=p, conf=conf) for (h, p), conf in self.interconnects.items()],
            excluded=[f"{h}-{p}" for h, p in self.excluded],
        )


class TopologySite(Result):
    """A site of a validated topology; ``anchor``, one of its pairs' confs (its ``side`` is this site), names and
    places the site's shared border gateway and VPC attachment."""

    key: str
    region: str
    side: Side
    anchor: InterconnectConf


class TopologyPair(Result):
    """One interconnect of a validated topology."""

    home: str
    peer: str
    conf: InterconnectConf


class ValidatedTopology(Result):
    """What the topology DAGs' first task returns: the plan, and the lock keys the run holds (guard.py)."""

    name: str
    lock_keys: list[str]
    sites: list[TopologySite]
    pairs: list[TopologyPair]
    excluded: list[str]


def validate_topology(raw: Any, parent: tuple[str, str] | None = None) -> TopologyPlan:
    """Validate a topology conf and plan its interconnects.

    :param parent: ``(dag_id, run_id)`` of the topology run that will build the pairs (in each ``member_of``).

    :raises ConfError: every problem as ``<dotted.field.path>: <rule>``; a pair's problems are prefixed
        ``interconnects[<home>-<peer>]``, quota problems ``quota``.
    """
    try:
        conf = TopologyConf.model_validate(raw)
    except ValidationError as err:
        raise ConfError(problems_of(err)) from None
    kept, excluded = conf.pairs()
    problems: list[str] = []
    if not kept:
        problems.append("topology: no pair of sites in different regions to connect")
    duplicates = [pair for pair, count in Counter(frozenset(pair) for pair in kept).items() if count > 1]
    problems += [f"interconnects: the pair {' and '.join(sorted(pair))} is listed twice" for pair in duplicates]
    interconnects: dict[tuple[str, str], InterconnectConf] = {}
    for home, peer in kept:
        member = TopologyMember(
            topology=conf.name,
            home_site=home,
            peer_site=peer,
            parent_dag_id=parent[0] if parent else None,
            parent_run_id=parent[1] if parent else None,
        )
        raw_pair = {
            **conf.settings,
            "name": conf.pair_name(home, peer),
            "home": conf.sites[home].model_dump(mode="json"),
            "peer": conf.sites[peer].model_dump(mode="json"),
            "member_of": member.model_dump(mode="json"),
        }
        try:
            interconnects[(home, peer)] = InterconnectConf.model_validate(raw_pair)
        except ValidationError as err:
            prefix = f"interconnects[{home}-{peer}]"
            problems += [f"{prefix}.{problem}" for problem in problems_of(err)]
    problems += _site_problems(conf, kept) + quota_problems(conf, kept)
    if problems:
        raise ConfError(problems)
    return TopologyPlan(conf, interconnects, excluded)


def _site_problems(conf: TopologyConf, pairs: list[tuple[str, str]]) -> list[str]:
    """A VPC named by two sites; two CIDRs behind one border gateway that overlap (its static routes would clash)."""
    problems = []
    by_vpc: dict[tuple[str, str], list[str]] = defaultdict(list)
    for key, site in conf.sites.items():
        by_vpc[(site.region, site.vpc_id)].append(key)
    for (region, vpc_id), keys in by_vpc.items():
        if len(keys) > 1:
            problems.append(f"sites: {' and '.join(keys)} are the same VPC {vpc_id} ({region})")
    for key in conf.sites:
        peers = sorted({b if a == key else a for a, b in pairs if key in (a, b)})
        for x, y in itertools.combinations(peers, 2):
            if conf.sites[x].vpc_cidr.overlaps(conf.sites[y].vpc_cidr):
                problems.append(
                    f"sites: {x} ({conf.sites[x].vpc_cidr}) and {y} ({conf.sites[y].vpc_cidr}) overlap and both "
                    f"connect to {key}: its border gateway cannot route to both"
                )
    return problems


def quota_problems(conf: TopologyConf, pairs: list[tuple[str, str]]) -> list[str]:
    """What the plan would create, per region and per border gateway, against JD Cloud's quotas.

    One border gateway per site (shared by its pairs); per pair, one customer gateway in each of its two
    regions, and on each site's border gateway one VPN connection and one static route.
    """
    problems = []
    sites_in: dict[str, list[str]] = defaultdict(list)
    for key, site in conf.sites.items():
        sites_in[site.region].append(key)
    for region, keys in sorted(sites_in.items()):
        if len(keys) > quotas.BORDER_GATEWAYS_PER_REGION:
            problems.append(
                f"quota: at most {quotas.BORDER_GATEWAYS_PER_REGION} border gateways per region; {region} would "
                f"need {len(keys)}, one per site: {', '.join(keys)}"
            )
    cgws: dict[str, list[str]] = defaultdict(list)
    for home, peer in pairs:
        for here, there in ((home, peer), (peer, home)):
            cgws[conf.sites[here].region].append(f"{here}->{there}")
    for region, uses in sorted(cgws.items()):
        if len(uses) > quotas.CUSTOMER_GATEWAYS_PER_REGION:
            problems.append(
                f"quota: at most {quotas.CUSTOMER_GATEWAYS_PER_REGION} customer gateways per region; {region} would "
                f"need {len(uses)}, one per interconnect of its sites: {', '.join(uses)}"
            )
    for key in conf.sites:
        peers = [b if a == key else a for a, b in pairs if key in (a, b)]
        for limit, what in (
            (quotas.VPN_CONNECTIONS_PER_BORDER_GATEWAY, "VPN connections"),
            (quotas.STATIC_ROUTES_PER_BORDER_GATEWAY, "static routes"),
        ):
            if len(peers) > limit:
                problems.append(
                    f"quota: at most {limit} {what} per border gateway; site {key}'s would need {len(peers)}, one "
                    f"per interconnect: to {', '.join(peers)}"
                )
    return problems
