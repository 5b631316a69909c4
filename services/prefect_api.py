"""Calls to the Prefect API that cannot get through become one PrefectApiError line.

Used by the services that read flow runs before anything resumes (preflight) and by the
flows' own client calls (approval, deployments), so a refused connection or bad credentials
read the same wherever they happen.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from sop_models.errors import PrefectApiError

_CHECK_CREDENTIALS = " (check PREFECT_API_KEY / PREFECT_API_AUTH_STRING)"


@contextmanager
def prefect_api_errors(api_url: object) -> Iterator[None]:
    """Report a Prefect API call in the block that cannot get through as one PrefectApiError.

    Only transport failures (refused, timed out, DNS) and HTTP error answers (401/403 for bad
    credentials, 5xx) are turned; callers catch the "not found" answers they expect first.
    """
    where = str(api_url).rstrip("/")
    try:
        yield
    except httpx.TransportError as exc:
        cause = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        raise PrefectApiError(
            f"cannot reach the Prefect server at {where}: {cause}", api_url=where
        ) from exc
    except httpx.HTTPStatusError as exc:
        status = exc.response.status_code
        hint = _CHECK_CREDENTIALS if status in (401, 403) else ""
        raise PrefectApiError(
            f"the Prefect server at {where} answered {exc.request.method} "
            f"{exc.request.url.path} with {status} {exc.response.reason_phrase}{hint}",
            api_url=where,
        ) from exc
