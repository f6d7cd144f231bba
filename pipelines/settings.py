"""Task settings shared by the flows.

Person-level frames pass between tasks in memory only: tasks that touch them have result
persistence and caching off (`PERSON_LEVEL`), so nothing person-level reaches Prefect's
result store; flows return aggregates.
"""

from __future__ import annotations

from prefect.cache_policies import NO_CACHE

PERSON_LEVEL = {"persist_result": False, "cache_policy": NO_CACHE}
