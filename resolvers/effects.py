"""Field metadata for queries that are not free of side effects.

A query field that writes (an audit entry of a support lookup) must not run from a cross-site
link: ``GET`` requests carry the ``SameSite=Lax`` cookie on top-level navigation. Declaring it on
the field keeps the fact beside the code that writes; ``web/get_requests.py`` refuses such a
field over GET with 405 before anything runs (issue 13, finding 8).
"""

from __future__ import annotations

from collections.abc import Mapping

#: ``strawberry.field(metadata=WRITES)``: the field writes, so it is served over POST only.
WRITES: dict[str, bool] = {"writes": True}


def writes(metadata: Mapping[str, object]) -> bool:
    return metadata.get("writes") is True
