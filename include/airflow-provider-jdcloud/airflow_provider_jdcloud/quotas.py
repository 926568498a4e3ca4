"""JD Cloud's documented VPN quotas (``documentation/Networking/VPN/Introduction/Restrictions.md``), which a plan
of many interconnects is checked against before anything is created. The cloud answers 429 ``QUOTA_EXCEEDED``
past them."""

from __future__ import annotations

BORDER_GATEWAYS_PER_REGION = 5
CUSTOMER_GATEWAYS_PER_REGION = 10
VPN_CONNECTIONS_PER_BORDER_GATEWAY = 10
STATIC_ROUTES_PER_BORDER_GATEWAY = 50
VPC_ATTACHMENTS_PER_VPC_AND_BORDER_GATEWAY = 1
