"""vm service: instances that boot (``pending`` -> ``running``) and take a private IP from their subnet."""

from __future__ import annotations

import ipaddress

from include.jdcloud_emulator.exceptions import FailedPrecondition, not_found
from include.jdcloud_emulator.models.core import Fuzzy, RegionalBackend, apply_filters, iso
from include.jdcloud_emulator.models.state import Instance, Subnet

DELETABLE = ("running", "stopped", "error")
#: The images every region has (the emulator's stand-ins for JD's official images with the cloud assistant):
#: ``DescribeImage`` finds them and ``CreateInstances`` accepts only them.
IMAGES: dict[str, dict[str, str]] = {
    "img-emulator-centos7": {"name": "CentOS 7.9 64bit (emulator)", "platform": "CentOS", "osVersion": "7.9"},
    "img-emulator": {"name": "CentOS 7.9 64bit (emulator, short id)", "platform": "CentOS", "osVersion": "7.9"},
}


class VmBackend(RegionalBackend):
    """Instances of every region; status is derived from creation and deletion times."""

    def status(self, instance: Instance, now: float) -> str:
        if instance.deleting_at is not None:
            return "deleting"
        if now < instance.ready_at or self.cloud.faults.is_stuck("vm_boot", instance.instance_id):
            return "pending"
        return "running"

    def reap(self, now: float) -> None:
        """Forget instances whose deletion has finished."""
        delay = self.cloud.latency("vm_delete")
        for instance in list(self.state.instances.values()):
            if instance.deleting_at is not None and instance.deleting_at + delay <= now:
                del self.state.instances[instance.instance_id]

    def create_instances(
        self,
        region: str,
        *,
        name: str,
        az: str,
        instance_type: str,
        image_id: str,
        subnet_id: str,
        count: int,
        client_token: str | None,
    ) -> list[Instance]:
        """Launch ``count`` instances; a ``client_token`` seen before returns that call's instances instead."""
        if client_token is not None:
            earlier = [i for i in self.state.instances.values() if i.client_token == client_token]
            if earlier:
                return earlier
        subnet = self.cloud.vpc.get_subnet(region, subnet_id)
        self.get_image(region, image_id)
        return [self._launch(region, name, az, instance_type, image_id, subnet, client_token) for _ in range(count)]

    def _launch(
        self, region: str, name: str, az: str, instance_type: str, image_id: str, subnet: Subnet, token: str | None
    ) -> Instance:
        now = self.cloud.now()
        return self._new(
            self.state.instances,
            Instance,
            region,
            instance_name=name,
            hostname=name.lower()[:64],
            instance_type=instance_type,
            image_id=image_id,
            az=az,
            vpc_id=subnet.vpc_id,
            subnet_id=subnet.subnet_id,
            private_ip_address=self._allocate_ip(subnet),
            launch_time=iso(now),
            client_token=token,
            ready_at=now + self.cloud.latency("vm_boot"),
        )

    def _allocate_ip(self, subnet: Subnet) -> str:
        network = ipaddress.IPv4Network(subnet.address_prefix)
        used = {i.private_ip_address for i in self.state.instances.values() if i.subnet_id == subnet.subnet_id}
        for offset in range(4, network.num_addresses - 1):  # JD keeps the first addresses for the gateway
            candidate = str(network[offset])
            if candidate not in used:
                return candidate
        raise FailedPrecondition(f"subnet {subnet.subnet_id} has no free IP address")

    def get_image(self, region: str, image_id: str) -> dict:
        """The ``Image`` of ``image_id`` (official images exist in every region), or 404 ``NOT_FOUND``."""
        if image_id not in IMAGES:
            raise not_found("image", image_id)
        return {
            "imageId": image_id,
            **IMAGES[image_id],
            "architecture": "x86_64",
            "osType": "linux",
            "imageSource": "jcloud",
            "status": "ready",
            "systemDiskSizeGB": 40,
        }

    def get_instance(self, region: str, instance_id: str) -> Instance:
        return self.get_in_region(self.state.instances, "instance", region, instance_id)

    def instance_json(self, instance: Instance) -> dict:
        data = instance.to_json()
        data.update(
            status=self.status(instance, self.cloud.now()),
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

    def instance_status_json(self, instance: Instance) -> dict:
        return {"instanceId": instance.instance_id, "status": self.status(instance, self.cloud.now())}

    def describe_instances(self, region: str, filters: dict[str, list[str]]) -> list[Instance]:
        now = self.cloud.now()
        getters = {
            "instanceId": "instance_id",
            "privateIpAddress": Fuzzy("private_ip_address"),
            "vpcId": "vpc_id",
            "subnetId": "subnet_id",
            "status": lambda i: self.status(i, now),
            "name": Fuzzy("instance_name"),
            "az": "az",
            "imageId": "image_id",
            "instanceType": "instance_type",
        }
        return apply_filters(self.in_region(self.state.instances, region), filters, getters)

    def describe_instance_status(self, region: str, filters: dict[str, list[str]]) -> list[Instance]:
        getters = {"instanceId": "instance_id"}
        return apply_filters(self.in_region(self.state.instances, region), filters, getters)

    def delete_instance(self, region: str, instance_id: str) -> None:
        instance = self.get_instance(region, instance_id)
        status = self.status(instance, self.cloud.now())
        if status not in DELETABLE:
            raise FailedPrecondition(
                f"instance {instance_id} is {status}; it can be deleted only when running, stopped or error"
            )
        instance.deleting_at = self.cloud.now()
