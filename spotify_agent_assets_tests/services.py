"""Availability of the local services some tests need (PostgreSQL, Redis, RabbitMQ).

Locally a test that needs an absent service skips with the reason; in CI (``CI=true``) the
same situation fails, because CI promises the services and a silent skip would hide a broken run.
"""

from __future__ import annotations

import contextlib
import os
import socket
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

SERVICES = {
    "postgres": ("PostgreSQL", 5432),
    "redis": ("Redis", 6379),
    "rabbitmq": ("RabbitMQ", 5672),
}


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def port_answers(port: int, host: str = "127.0.0.1", timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def require_service(name: str) -> None:
    label, port = SERVICES[name]
    if port_answers(port):
        return
    reason = f"{label} is not answering on 127.0.0.1:{port}"
    if in_ci():
        pytest.fail(f"{reason}, and CI=true requires it (.ci/run starts it)")
    pytest.skip(f"{reason}; start it to run this test")


@contextlib.contextmanager
def fresh_postgres_database(prefix: str) -> Iterator[tuple[str, Any]]:
    """A new, uniquely named database on the local PostgreSQL (trust auth, user postgres), and
    an autocommit admin connection; the database is dropped afterwards, open sessions or not."""
    require_service("postgres")
    import psycopg2

    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = psycopg2.connect(host="127.0.0.1", port=5432, user="postgres", dbname="postgres")
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')  # generated above, not user input
    try:
        yield name, admin
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
