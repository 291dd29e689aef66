"""Settings for `make bench` only: production settings plus the bare baseline endpoint.

The baseline lives in its own URLconf so that production URLs stay clean; its table is created
by the bench (`bench.stack`), not by a product migration.
"""

from hitl_site import embedded
from hitl_site.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
# collectstatic fills it at the start of a run, as a deployment would, so WhiteNoise serves it.
STATIC_ROOT = embedded.RUN_DIR / "static"
# The load generator's agents send thousands of proposals a minute: the per-agent limit stays on
# the request path (its Redis round trip is part of what is measured) but never trips.
HITL_AGENT_RATE_LIMIT = (1_000_000, HITL_AGENT_RATE_LIMIT[1])  # noqa: F405
# The webhook delivery figure's receiver listens on loopback, which callbacks may not reach otherwise.
HITL_CALLBACK_ALLOWED_NETWORKS = ["127.0.0.0/8"]
