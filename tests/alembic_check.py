"""`alembic upgrade heads` then `alembic check` on a scratch database (run by .ci/run).

    python -m tests.alembic_check

Uses LIFELINE_TEST_DATABASE_URL, else PostgreSQL on 127.0.0.1:5432, else the embedded
pgserver; the scratch database is dropped afterwards. Exits non-zero if the models and
the migrations differ.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg


def _server_url() -> tuple[str, object]:
    env = os.environ.get("LIFELINE_TEST_DATABASE_URL")
    if env:
        return env.replace("postgresql+asyncpg://", "postgresql://", 1), None
    try:
        socket.create_connection(("127.0.0.1", 5432), timeout=0.5).close()
        return "postgresql://postgres@127.0.0.1:5432/test", None
    except OSError:
        from arc.embedded import start_postgres

        server, url = start_postgres(Path(tempfile.mkdtemp(prefix="lifeline-check-")), database="test")
        return url.replace("postgresql+asyncpg://", "postgresql://", 1), server


async def _admin(url: str, sql: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def main() -> int:
    server_url, _server = _server_url()
    name = f"lifeline_check_{uuid.uuid4().hex[:10]}"
    asyncio.run(_admin(server_url, f'CREATE DATABASE "{name}"'))
    env = {**os.environ, "LIFELINE_DATABASE_URL": urlunsplit(urlsplit(server_url)._replace(path=f"/{name}"))}
    try:
        for step in (["upgrade", "heads"], ["check"]):
            result = subprocess.run([sys.executable, "-m", "alembic", *step], env=env, check=False)
            if result.returncode:
                return result.returncode
        return 0
    finally:
        asyncio.run(_admin(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


if __name__ == "__main__":
    raise SystemExit(main())
