"""How the lake reaches S3-compatible object storage (AWS S3, SeaweedFS, MinIO).

The same settings feed two clients: ``pyarrow.fs.S3FileSystem`` for the lake's reads and writes,
and a DuckDB ``TEMPORARY SECRET`` for the warehouse views, so both always talk to the same
endpoint with the same credentials.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from pyarrow.fs import S3FileSystem

DEFAULT_REGION = "us-east-1"


@dataclass(frozen=True)
class S3Settings:
    """Endpoint and credentials for an S3-compatible store.

    ``endpoint_url`` is ``None`` for AWS itself; set it (``http://127.0.0.1:8333``) for a
    self-hosted store. Credentials left as ``None`` fall back to the client's default chain.
    """

    endpoint_url: str | None = None
    region: str = DEFAULT_REGION
    access_key_id: str | None = None
    secret_access_key: str | None = None

    def __post_init__(self) -> None:
        if self.endpoint_url is not None:
            parts = urlsplit(self.endpoint_url)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise ValueError(
                    f"S3 endpoint_url {self.endpoint_url!r} is not an http(s) URL; "
                    "expected e.g. 'http://127.0.0.1:8333'"
                )

    def __repr__(self) -> str:
        # Settings end up in logs and tracebacks; the secret must never be printed.
        secret = None if self.secret_access_key is None else "***"
        return (
            f"S3Settings(endpoint_url={self.endpoint_url!r}, region={self.region!r}, "
            f"access_key_id={self.access_key_id!r}, secret_access_key={secret!r})"
        )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> S3Settings:
        """Read the standard AWS variables (the S3-specific endpoint wins over the generic one)."""
        environ = os.environ if environ is None else environ
        return cls(
            endpoint_url=environ.get("AWS_ENDPOINT_URL_S3") or environ.get("AWS_ENDPOINT_URL"),
            region=environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION,
            access_key_id=environ.get("AWS_ACCESS_KEY_ID") or None,
            secret_access_key=environ.get("AWS_SECRET_ACCESS_KEY") or None,
        )

    def as_environ(self) -> dict[str, str]:
        """These settings as the AWS variables ``from_env`` reads (for a child process such as
        dbt's); credentials left to the default chain are left out. Holds the secret: pass it
        to a process's environment only, never to a log."""
        values = {"AWS_REGION": self.region}
        if self.endpoint_url is not None:
            values["AWS_ENDPOINT_URL_S3"] = self.endpoint_url
        if self.access_key_id is not None:
            values["AWS_ACCESS_KEY_ID"] = self.access_key_id
        if self.secret_access_key is not None:
            values["AWS_SECRET_ACCESS_KEY"] = self.secret_access_key
        return values

    @property
    def endpoint_host(self) -> str | None:
        """``host:port`` of a custom endpoint, the form DuckDB and Arrow expect."""
        return None if self.endpoint_url is None else urlsplit(self.endpoint_url).netloc

    @property
    def use_ssl(self) -> bool:
        return self.endpoint_url is None or urlsplit(self.endpoint_url).scheme == "https"


def split_s3_url(url: str) -> tuple[str, str]:
    """``s3://bucket/some/prefix`` -> ``("bucket", "some/prefix")`` (prefix may be empty)."""
    parts = urlsplit(url)
    if parts.scheme != "s3" or not parts.netloc:
        raise ValueError(f"{url!r} is not an s3:// URL; expected 's3://bucket[/prefix]'")
    return parts.netloc, parts.path.strip("/")


def arrow_filesystem(settings: S3Settings) -> S3FileSystem:
    """An Arrow S3 filesystem for ``settings``; paths on it are ``bucket/key`` (no scheme)."""
    from pyarrow.fs import S3FileSystem

    # Self-hosted stores are addressed by path (http://host/bucket/key), not by bucket
    # subdomain, which is Arrow's behaviour whenever virtual addressing is not forced.
    return S3FileSystem(
        access_key=settings.access_key_id,
        secret_key=settings.secret_access_key,
        region=settings.region,
        endpoint_override=settings.endpoint_host,
        scheme="https" if settings.use_ssl else "http",
    )
