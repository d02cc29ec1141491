"""Reaching a Label Studio server: which one, with which token, and errors that say so.

A user's own server comes from the standard ``LABEL_STUDIO_URL`` and ``LABEL_STUDIO_API_KEY``
settings; otherwise the instance ``bench annotate serve`` runs for the workspace.  Every error
leaving this module is a ``LabelStudioError`` whose text went through ``redact``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx
from label_studio_sdk import LabelStudio
from label_studio_sdk.core.api_error import ApiError

from annotation.labelstudio import is_healthy, load_or_create_credentials
from annotation.redact import redact, register_secret
from annotation.workspace import Workspace

URL_ENV = "LABEL_STUDIO_URL"
KEY_ENV = "LABEL_STUDIO_API_KEY"
T = TypeVar("T")


class LabelStudioError(RuntimeError):
    """A Label Studio call failed: unreachable, refused, or an unexpected answer."""


@dataclass(frozen=True)
class Connection:
    url: str
    token: str = field(repr=False)

    def client(self, timeout: float = 120.0) -> LabelStudio:
        return LabelStudio(base_url=self.url, api_key=self.token, timeout=timeout)


def resolve_connection(workspace: Workspace) -> Connection:
    """``$LABEL_STUDIO_URL`` + ``$LABEL_STUDIO_API_KEY``, else the workspace's served instance."""
    url, key = os.environ.get(URL_ENV, "").strip(), os.environ.get(KEY_ENV, "").strip()
    if url or key:
        if not (url and key):
            missing = URL_ENV if not url else KEY_ENV
            raise LabelStudioError(
                f"{missing} is not set; set both {URL_ENV} and {KEY_ENV} to use your own Label Studio server"
            )
        register_secret(key)
        return Connection(url.rstrip("/"), key)
    info = workspace.connection_file
    if not info.exists():
        raise LabelStudioError(
            f"no Label Studio server known for workspace {workspace.root}: start one with "
            f"`bench annotate serve --workspace {workspace.root}`, or set {URL_ENV} and {KEY_ENV}"
        )
    try:
        url = json.loads(info.read_text())["url"]
    except (ValueError, KeyError, TypeError):
        raise LabelStudioError(f"{info} is not a valid server file; restart `bench annotate serve`") from None
    creds = load_or_create_credentials(workspace.credentials_file)
    if not is_healthy(url):
        raise LabelStudioError(
            f"the Label Studio server recorded in {info} ({url}) does not "
            "answer; is `bench annotate serve` still running?"
        )
    return Connection(url, creds.token)


def call(what: str, function: Callable[..., T], *args, **kwargs) -> T:
    """``function(*args, **kwargs)``, turning HTTP and API failures into LabelStudioError."""
    try:
        return function(*args, **kwargs)
    except ApiError as exc:
        body = exc.body if isinstance(exc.body, str) else json.dumps(exc.body, default=str)
        hint = " (check the API token)" if exc.status_code in (401, 403) else ""
        raise LabelStudioError(
            redact(f"Label Studio refused to {what}: HTTP {exc.status_code}{hint}: {body[:500]}")
        ) from None
    except httpx.HTTPError as exc:
        raise LabelStudioError(
            redact(f"Label Studio stopped answering while trying to {what} ({type(exc).__name__}: {exc})")
        ) from None


def server_url(client: LabelStudio) -> str | None:
    """The base URL a client talks to (the SDK keeps it in its client wrapper)."""
    get = getattr(getattr(client, "_client_wrapper", None), "get_base_url", None)
    return str(get()).rstrip("/") if callable(get) else None


def check_access(client: LabelStudio) -> None:
    """One cheap request before any work: a wrong token or a dead server fails here, clearly."""
    url = server_url(client)
    try:
        client.users.whoami()
    except ApiError as exc:
        if exc.status_code in (401, 403):
            raise LabelStudioError(
                f"Label Studio at {url} refused the API token (HTTP {exc.status_code}; check the API token: "
                f"{KEY_ENV} for a server of your own, else restart `bench annotate serve`)"
            ) from None
        raise LabelStudioError(
            redact(f"Label Studio at {url} answered HTTP {exc.status_code} to a first request")
        ) from None
    except httpx.HTTPError as exc:
        raise LabelStudioError(redact(f"Label Studio at {url} does not answer ({type(exc).__name__}: {exc})")) from None


def every_page(what: str, fetch_page: Callable[..., Any], page_size: int = 100) -> list[Any]:
    """Every item of a paged Label Studio list, asking for no page past the last.

    ``fetch_page(page=N, page_size=M)`` is an SDK ``list`` call.  The SDK's own iterator asks
    for one page more than there is, which the server answers with 404 and an ERROR traceback
    in its log; the answer's ``total`` (tasks) or ``count`` (projects), else its ``next`` link,
    says where to stop.
    The server may cap ``page_size``, so a short page is not taken as the last one.
    """
    items: list[Any] = []
    page = 1
    while True:
        pager = call(what, fetch_page, page=page, page_size=page_size)
        got = list(pager.items or [])
        items += got
        total = _total(pager.response)
        more = bool(getattr(pager.response, "next", None)) if total is None else len(items) < total
        if not got or not more:
            return items
        page += 1


def _total(response: Any) -> int | None:
    for name in ("total", "count"):
        value = getattr(response, name, None)
        if isinstance(value, int):
            return value
    return None
