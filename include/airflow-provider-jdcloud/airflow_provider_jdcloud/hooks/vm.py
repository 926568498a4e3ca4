"""Hook for the JD Cloud vm service: virtual machine instances."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from airflow_provider_jdcloud.hooks.base import JDCloudBaseHook, Resource
from airflow_provider_jdcloud.models import Image, Instance

INSTANCE = Resource("Instance", Instance)
IMAGE = Resource("Image", Image)


class JDCloudVmHook(JDCloudBaseHook):
    """Create, read and delete VM instances; read images.

    :param jdcloud_conn_id: the Airflow connection id; other arguments as for :class:`JDCloudBaseHook`
    """

    def describe_instance(self, instance_id: str, *, region: str | None = None) -> Instance:
        """Describe one VM instance."""
        return self._describe(INSTANCE, instance_id, region)

    def describe_instances(
        self,
        *,
        instance_ids: Sequence[str] | None = None,
        vpc_id: str | None = None,
        subnet_id: str | None = None,
        name: str | None = None,
        status: str | None = None,
        private_ip_address: str | None = None,
        region: str | None = None,
    ) -> list[Instance]:
        """List VM instances, optionally filtered."""
        filters = {
            "instanceId": instance_ids,
            "vpcId": vpc_id,
            "subnetId": subnet_id,
            "name": name,
            "status": status,
            "privateIpAddress": private_ip_address,
        }
        return self._list(INSTANCE, filters, region)

    def find_instances_by_name(
        self, name: str, *, vpc_id: str | None = None, region: str | None = None
    ) -> list[Instance]:
        """The VMs named exactly ``name`` (in ``vpc_id`` when given): JD's ``name`` filter is a fuzzy match."""
        found = self.describe_instances(name=name, vpc_id=vpc_id, region=region)
        return [i for i in found if i.instance_name == name and vpc_id in (None, i.vpc_id)]

    def create_instances(
        self,
        instance_spec: Mapping[str, Any],
        *,
        max_count: int = 1,
        client_token: str | None = None,
        region: str | None = None,
    ) -> list[str]:
        """Create VM instances from a camelCase ``instanceSpec`` and return their ids.

        :param instance_spec: at least ``name``, ``az``, ``instanceType``, ``imageId`` and
            ``primaryNetworkInterface: {networkInterface: {subnetId}}``
        :param client_token: idempotency token, at most 64 characters
        """
        params = {"instanceSpec": dict(instance_spec), "maxCount": max_count, "clientToken": client_token}
        return list(self.call("CreateInstances", params, region=region).get("instanceIds") or [])

    def delete_instance(self, instance_id: str, *, region: str | None = None) -> None:
        """Delete a VM instance; it must be ``running``, ``stopped`` or ``error``."""
        self._delete(INSTANCE, instance_id, region)

    def describe_image(self, image_id: str, *, region: str | None = None) -> Image:
        """Describe one image (``NotFound`` when the region has no image ``image_id``)."""
        return self._describe(IMAGE, image_id, region)
