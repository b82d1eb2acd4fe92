"""Replicas behind a real router: the SGLang Model Gateway in front of course-server processes.

`start_cluster(ScaleOutConfig(...))` (cluster.py) for code and tests, `smol-inference scale-out` (command.py)
for a terminal; workload.py is the multi-tenant workload the policies are compared on. Lesson 2,
"Operate and scale".
"""

from .cluster import Cluster, GatewayMissing, gateway_installed, start_cluster
from .config import POLICIES, GatewayFlags, ScaleOutConfig

__all__ = ["Cluster", "GatewayFlags", "GatewayMissing", "POLICIES", "ScaleOutConfig", "gateway_installed",
           "start_cluster"]
