"""vm service: instances that boot (``pending`` -> ``running``) and take a private IP from their subnet."""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING, Any

from include.jdcloud_emulator.exceptions import FailedPrecondition, InvalidArgument, not_found
from include.jdcloud_emulator.models.core import apply_filters, check_int_range, iso, require
from include.jdcloud_emulator.models.state import Instance

if TYPE_CHECKING:
    from include.jdcloud_emulator.models import Emulator

DELETABLE = ("running", "stopped", "error")


class VmBackend:
    """Instances of every region; status is derived from creation and deletion times."""

    def __init__(self, emulator: Emulator) -> None:
        self.emu = emulator

    @property
    def state(self):
        return self.emu.state

    def status(self, instance: Instance, now: float) -> str:
        if instance.deleting_at is not None:
            return "deleting"
        if now < instance.ready_at or self.emu.faults.is_stuck("vm_boot", instance.instance_id):
            return "pending"
        return "running"

    def reap(self, now: float) -> None:
        """Forget instances whose deletion has finished."""
        delay = self.emu.latency("vm_delete")
        for instance in list(self.state.instances.values()):
            if instance.deleting_at is not None and instance.deleting_at + delay <= now:
                del self.state.instances[instance.instance_id]

    def create_instances(self, region: str, params: dict) -> dict:
        spec = require(params, "instanceSpec")
        if not isinstance(spec, dict):
            raise InvalidArgument("instanceSpec must be an object")
        token = params.get("clientToken")
        if token is not None:
            if not isinstance(token, str) or len(token) > 64:
                raise InvalidArgument("clientToken must be a string of at most 64 characters")
            earlier = [i.instance_id for i in self.state.instances.values() if i.client_token == token]
            if earlier:
                return {"instanceIds": earlier}
        count = params.get("maxCount")
        count = 1 if count is None else check_int_range("maxCount", count, 1, 100)
        name = require(spec, "name")
        if not isinstance(name, str) or not 2 <= len(name) <= 128:
            raise InvalidArgument("instanceSpec.name must be 2-128 characters")
        az = require(spec, "az")
        if not isinstance(az, str) or not az.startswith(region):
            raise InvalidArgument(f"instanceSpec.az {az} is not an availability zone of {region}")
        interface = ((spec.get("primaryNetworkInterface") or {}).get("networkInterface")) or {}
        subnet = self.emu.vpc.get_subnet(region, require(interface, "subnetId"))
        ids = [self._launch(region, spec, name, az, subnet, token) for _ in range(count)]
        return {"instanceIds": ids}

    def _launch(self, region: str, spec: dict, name: str, az: str, subnet: Any, token: str | None) -> str:
        now = self.emu.now()
        instance = Instance(
            region_id=region,
            instance_id=self.emu.new_id("i"),
            instance_name=name,
            hostname=name.lower()[:64],
            instance_type=require(spec, "instanceType"),
            image_id=require(spec, "imageId"),
            az=az,
            vpc_id=subnet.vpc_id,
            subnet_id=subnet.subnet_id,
            private_ip_address=self._allocate_ip(subnet),
            launch_time=iso(now),
            client_token=token,
            ready_at=now + self.emu.latency("vm_boot"),
        )
        self.state.instances[instance.instance_id] = instance
        return instance.instance_id

    def _allocate_ip(self, subnet: Any) -> str:
        network = ipaddress.IPv4Network(subnet.address_prefix)
        used = {i.private_ip_address for i in self.state.instances.values() if i.subnet_id == subnet.subnet_id}
        for offset in range(4, network.num_addresses - 1):  # JD keeps the first addresses for the gateway
            candidate = str(network[offset])
            if candidate not in used:
                return candidate
        raise FailedPrecondition(f"subnet {subnet.subnet_id} has no free IP address")

    def get_instance(self, region: str, instance_id: str) -> Instance:
        instance = self.state.instances.get(instance_id)
        if instance is None or instance.region_id != region:
            raise not_found("instance", instance_id)
        return instance

    def instance_json(self, instance: Instance) -> dict:
        data = instance.to_json()
        data.update(
            status=self.status(instance, self.emu.now()),
            primaryNetworkInterface={
                "networkInterface": {
                    "subnetId": instance.subnet_id,
                    "vpcId": instance.vpc_id,
                    "primaryIp": {"privateIpAddress": instance.private_ip_address},
                }
            },
            osType="linux",
            keyNames=[],
            dataDisks=[],
        )
        return data

    def describe_instances(self, region: str, filters: dict) -> list[dict]:
        now = self.emu.now()
        getters = {
            "instanceId": lambda i: i.instance_id,
            "privateIpAddress": lambda i: i.private_ip_address,
            "vpcId": lambda i: i.vpc_id,
            "subnetId": lambda i: i.subnet_id,
            "status": lambda i: self.status(i, now),
            "name": lambda i: i.instance_name,
            "az": lambda i: i.az,
            "imageId": lambda i: i.image_id,
            "instanceType": lambda i: i.instance_type,
        }
        instances = [i for i in self.state.instances.values() if i.region_id == region]
        return [self.instance_json(i) for i in apply_filters(instances, filters, getters)]

    def describe_instance_status(self, region: str, filters: dict) -> list[dict]:
        now = self.emu.now()
        instances = [i for i in self.state.instances.values() if i.region_id == region]
        selected = apply_filters(instances, filters, {"instanceId": lambda i: i.instance_id})
        return [{"instanceId": i.instance_id, "status": self.status(i, now)} for i in selected]

    def delete_instance(self, region: str, instance_id: str) -> None:
        instance = self.get_instance(region, instance_id)
        status = self.status(instance, self.emu.now())
        if status not in DELETABLE:
            raise FailedPrecondition(
                f"instance {instance_id} is {status}; it can be deleted only when running, stopped or error"
            )
        instance.deleting_at = self.emu.now()
