"""The Web API's wire conventions in the sample world, shared by every route of `api`.

The request as routes see it (`_Request`), the checks of its parameters (ids, paging, market,
`fields`) with Spotify's 400 messages, and the encodings of answers: JSON bodies, Spotify's
error object and the OAuth error of the token endpoint. Apart from `api` so that the routes read
as what each endpoint serves; the emulator encodes its faults with the same functions.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from spotify_agent_assets.sample_world.catalogue import JsonObject
from spotify_agent_assets.sample_world.field_selection import (
    FieldTree,
    InvalidFieldsError,
    parse_fields,
)
from spotify_agent_assets.sample_world.shapes import paging_json

JSON_CONTENT_TYPE = "application/json; charset=utf-8"
_ID = re.compile(r"[0-9A-Za-z]{22}")
_MARKET = re.compile(r"[A-Z]{2}")


@dataclass(frozen=True)
class ApiResponse:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


class _ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def json_response(
    status: int, payload: Any, extra_headers: Mapping[str, str] | None = None
) -> ApiResponse:
    """A JSON answer encoded the one way every server of the sample world encodes it."""
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    headers = {"Content-Type": JSON_CONTENT_TYPE, **(extra_headers or {})}
    return ApiResponse(status, headers, body)


def error_response(status: int, message: str) -> ApiResponse:
    """Spotify's error object: `{"error": {"status": ..., "message": ...}}`."""
    extra = {"WWW-Authenticate": 'Bearer realm="spotify"'} if status == 401 else None
    return json_response(status, {"error": {"status": status, "message": message}}, extra)


@dataclass(frozen=True)
class _Request:
    base_url: str  # ends with "/v1/"
    route: list[str]  # path segments after /v1/
    query: dict[str, str]  # first value of every parameter, in request order

    def param(self, name: str) -> str | None:
        value = self.query.get(name)
        return value if value not in (None, "") else None

    def others(self, *excluded: str) -> dict[str, str]:
        return {k: v for k, v in self.query.items() if k not in excluded}


def bearer_token(lowered_headers: Mapping[str, str]) -> str | None:
    """The bearer token of a request whose header names are lower-cased, if it has one."""
    scheme, _, token = lowered_headers.get("authorization", "").partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def _oauth_error(error: str, description: str) -> ApiResponse:
    return json_response(400, {"error": error, "error_description": description})


def _check_id(value: str) -> None:
    if _ID.fullmatch(value) is None:
        raise _ApiError(400, "invalid id")


def _ids(request: _Request, maximum: int) -> list[str]:
    raw = request.param("ids")
    if raw is None:
        raise _ApiError(400, "Missing required parameter: ids")
    ids = raw.split(",")
    if len(ids) > maximum:
        raise _ApiError(400, "Too many ids requested")
    for value in ids:
        _check_id(value)
    return ids


def _paging(request: _Request, *, default: int, maximum: int) -> tuple[int, int]:
    limit_text, offset_text = request.param("limit"), request.param("offset")
    try:
        limit = default if limit_text is None else int(limit_text)
    except ValueError:
        raise _ApiError(400, "Invalid limit") from None
    if not 1 <= limit <= maximum:
        raise _ApiError(400, "Invalid limit")
    try:
        offset = 0 if offset_text is None else int(offset_text)
    except ValueError:
        raise _ApiError(400, "Invalid offset") from None
    if offset < 0:
        raise _ApiError(400, "Invalid offset")
    return offset, limit


def _market(request: _Request) -> str | None:
    market = request.param("market")
    if market is not None and _MARKET.fullmatch(market) is None:
        raise _ApiError(400, "Invalid market code")
    return market


def _with_fixed(fixed: Mapping[str, Any], ids: list[str], answers: list[Any]) -> list[Any]:
    """A batch answer with the fixed objects in the slots of their ids."""
    return [fixed.get(i, answer) for i, answer in zip(ids, answers, strict=True)]


def _fields(request: _Request) -> FieldTree | None:
    try:
        return parse_fields(request.param("fields"))
    except InvalidFieldsError as error:
        raise _ApiError(400, str(error)) from None


def _page(
    request: _Request, items: list[Any], path: str, *, default: int, maximum: int
) -> JsonObject:
    """One page of a listing: `limit` items from `offset`, with links to the neighbours."""
    offset, limit = _paging(request, default=default, maximum=maximum)
    return paging_json(
        items[offset : offset + limit],
        endpoint=f"{request.base_url}{path}",
        offset=offset,
        limit=limit,
        total=len(items),
        query=request.others("offset", "limit"),
    )
