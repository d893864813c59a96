"""What the benchmarks share: MQTT clients, a scratch database with registered units, the real
``lifeline ingest`` process, a broker of their own, CPU time read from /proc, percentiles.

Used by bench_ingest, bench_storm, bench_overload (and bench_latency / bench_sip for the
percentiles). Setup goes straight to PostgreSQL; the measurements talk to the service only over
MQTT.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing as mp
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import paho.mqtt.client as paho
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from devices.broker import broker_address

CID_BASE = 5_500_000


def paho_client(mqtt_url: str, identifier: str) -> paho.Client:
    """MQTT 5 with a large Receive Maximum, so the broker never queues (or drops) for this client."""
    address = broker_address(mqtt_url)
    client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=identifier, protocol=paho.MQTTv5)
    if address["username"]:
        client.username_pw_set(address["username"], address["password"])
    client.max_inflight_messages_set(0)
    client.max_queued_messages_set(0)
    connect = Properties(PacketTypes.CONNECT)
    connect.ReceiveMaximum = 65535
    client.connect(address["hostname"], address["port"], keepalive=60, properties=connect)
    return client


def count(
    mqtt_url: str, topic: str, messages: int, ready: mp.Event, result, done: mp.Event, counted=None
) -> None:
    """A bare subscriber: count messages on ``topic``; record when the last one arrived."""
    seen = 0

    def on_message(client, userdata, message) -> None:
        nonlocal seen
        seen += 1
        if counted is not None:
            counted.value = seen
        if seen >= messages:
            result.value = time.time()
            done.set()

    def on_subscribe(client, userdata, mid, reason_codes, properties) -> None:
        ready.set()

    client = paho_client(mqtt_url, f"bench-count-{uuid.uuid4().hex[:8]}")
    client.on_message = on_message
    client.on_subscribe = on_subscribe
    client.subscribe(topic, qos=1)
    client.loop_start()
    done.wait(600)
    client.loop_stop()
    client.disconnect()


def machine_cpu() -> float:
    """CPU seconds used by the whole machine so far (all cores, busy time only)."""
    with open("/proc/stat") as stat:
        fields = [int(x) for x in stat.readline().split()[1:]]
    busy = sum(fields[:3]) + sum(fields[5:8])  # user nice system | irq softirq steal
    return busy / os.sysconf("SC_CLK_TCK")


def process_cpu(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def broker_pid(port: int) -> int | None:
    """The local process listening on ``port`` (the broker), found through /proc, or None."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                next(f)
                for line in f:
                    cols = line.split()
                    if cols[3] == "0A" and int(cols[1].rsplit(":", 1)[1], 16) == port:  # 0A = LISTEN
                        inodes.add(cols[9])
        except OSError:
            continue
    wanted = {f"socket:[{inode}]" for inode in inodes}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                if os.readlink(f"/proc/{pid}/fd/{fd}") in wanted:
                    return int(pid)
        except OSError:
            continue
    return None


async def scratch_database(pg_url: str, prefix: str = "lifeline_bench") -> str:
    """A new database on the server ``pg_url``, migrated. Returns its (postgresql://) URL."""
    import asyncpg

    from arc import migrate

    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(pg_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    url = urlunsplit(urlsplit(pg_url)._replace(path=f"/{name}"))
    await migrate.upgrade(url.replace("postgresql://", "postgresql+asyncpg://", 1))
    return url


async def setup_database(pg_url: str, units: int, cid_base: int = CID_BASE) -> str:
    """A scratch database, migrated, with ``units`` registered units (cids from ``cid_base``). Returns its URL."""
    import asyncpg

    url = await scratch_database(pg_url)
    conn = await asyncpg.connect(url)
    try:
        await conn.copy_records_to_table(
            "units",
            records=[(str(cid_base + i), "BenchHub", False) for i in range(units)],
            columns=["cid", "model", "is_mobile"],
        )
    finally:
        await conn.close()
    return url


async def drop_database(pg_url: str, url: str) -> None:
    """Drop the scratch database ``url`` (on the server ``pg_url``), connections and all."""
    import asyncpg

    admin = await asyncpg.connect(pg_url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{urlsplit(url).path[1:]}" WITH (FORCE)')
    finally:
        await admin.close()


def start_service(
    database_url: str,
    mqtt_url: str,
    root: str,
    client_id: str,
    profile: str | None = None,
    extra_env: dict[str, str] | None = None,
    cwd: str | None = None,
    answers_connection: bool = True,
) -> subprocess.Popen:
    """``lifeline ingest`` in a process of its own; ``cwd``: the source tree whose code it runs
    (``python -m`` imports from the working directory first). ``answers_connection``: alarms' answers
    on a connection of their own (LIFELINE_MQTT_ANSWERS_URL, the same anonymous broker here)."""
    env = {
        **os.environ,
        "LIFELINE_ENV": "test",
        "LIFELINE_DATABASE_URL": database_url,
        "LIFELINE_MQTT_URL": mqtt_url,
        "LIFELINE_MQTT_TOPIC_ROOT": root,
        "LIFELINE_MQTT_CLIENT_ID": client_id,
        "LIFELINE_MQTT_SESSION_EXPIRY_SECONDS": "300",
        "LIFELINE_LOG_LEVEL": "WARNING",
        "LIFELINE_INGEST_BATCH_MAX": os.environ.get("LIFELINE_INGEST_BATCH_MAX", "200"),
        **({"LIFELINE_MQTT_ANSWERS_URL": mqtt_url} if answers_connection else {}),
        **(extra_env or {}),
    }
    if profile:  # CPU time, not wall time: on shared cores wall time mostly measures the neighbours
        command = ["-c", _PROFILED.format(out=profile)]
    else:
        command = ["-m", "arc.cli", "ingest"]
    return subprocess.Popen([sys.executable, *command], env=env, cwd=cwd)  # noqa: S603 - our own command


class CpuCap:
    """A CPU budget for one process tree (the service), through a cgroup: ``fraction`` of one core,
    granted in 10 ms periods (a longer period would pause the service for up to its length).

    For an overload run on a shared machine: the load generators and the answer counter need more
    CPU than the service at the service's own capacity, so on two cores the generators starve the
    service long before it is overloaded by the load itself. Capping the service models what a
    deployment has — units elsewhere, the server's CPU the limit — at a capacity the harness can
    offer twice. Needs root and the cgroup ``cpu`` controller (v1 or v2)."""

    PERIOD_US = 10_000

    def __init__(self, fraction: float) -> None:
        quota = max(1000, int(fraction * self.PERIOD_US))
        name = f"lifeline-bench-{uuid.uuid4().hex[:8]}"
        v1, v2 = Path("/sys/fs/cgroup/cpu"), Path("/sys/fs/cgroup")
        if (v1 / "cpu.cfs_quota_us").exists():
            self.path = v1 / name
            self.path.mkdir()
            (self.path / "cpu.cfs_period_us").write_text(str(self.PERIOD_US))
            (self.path / "cpu.cfs_quota_us").write_text(str(quota))
        elif (v2 / "cgroup.controllers").exists() and "cpu" in (v2 / "cgroup.controllers").read_text():
            self.path = v2 / name
            self.path.mkdir()
            (self.path / "cpu.max").write_text(f"{quota} {self.PERIOD_US}")
        else:
            raise SystemExit("--service-cpu needs the cgroup cpu controller (and root): not found here")

    def add(self, pid: int) -> None:
        (self.path / "cgroup.procs").write_text(str(pid))

    def remove(self) -> None:
        with contextlib.suppress(OSError):
            self.path.rmdir()


_PROFILED = """
import cProfile, runpy, sys, time
profiler = cProfile.Profile(time.process_time)
sys.argv = ["lifeline", "ingest"]
profiler.enable()
try:
    runpy.run_module("arc.cli", run_name="__main__")
finally:
    profiler.disable()
    profiler.dump_stats({out!r})
"""


def wait_subscribed(mqtt_url: str, root: str, client_id: str, cid: int = CID_BASE) -> None:
    """The service is ready when a probe heartbeat gets an answer."""
    ready, done, result = mp.Event(), mp.Event(), mp.RawValue("d", 0.0)
    counter = mp.Process(target=count, args=(mqtt_url, f"{root}/+/mrs", 1, ready, result, done))
    counter.start()
    ready.wait(10)
    client = paho_client(mqtt_url, f"bench-probe-{uuid.uuid4().hex[:8]}")
    client.loop_start()
    for _ in range(60):
        client.publish(
            f"{root}/{cid}/mrq",
            json.dumps({"ref": f"P{uuid.uuid4().hex[:8]}", "cid": str(cid), "dty": "1", "mty": "PI"}),
            qos=1,
        )
        if done.wait(1):
            break
    client.loop_stop()
    client.disconnect()
    counter.join(5)
    if not done.is_set():
        raise SystemExit("the service did not answer")


async def stored_counts(database_url: str, refs: list[str]) -> dict[str, int]:
    """Inbox rows per ref (1 = stored once), and ``__alarms__``: alarms opened in all."""
    import asyncpg

    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            "SELECT ref, count(*) AS n FROM ingest_inbox WHERE ref = ANY($1::text[]) GROUP BY ref", refs
        )
        alarms = await conn.fetchval("SELECT count(*) FROM alarms WHERE kind = 'activation'")
    finally:
        await conn.close()
    return {**{r["ref"]: r["n"] for r in rows}, "__alarms__": alarms}


async def alarms_by_cid(database_url: str, cids: list[str]) -> dict[str, int]:
    """How many alarms each of ``cids`` opened (a unit with one alarm must have exactly 1)."""
    import asyncpg

    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            "SELECT cid, count(*) AS n FROM alarms WHERE cid = ANY($1::text[]) GROUP BY cid", cids
        )
    finally:
        await conn.close()
    return {r["cid"]: r["n"] for r in rows}


def add_pg_argument(parser, help: str = "PostgreSQL server where the scratch database is made") -> None:
    """``--pg``: the server the bench makes its scratch database on (LIFELINE_BENCH_PG, else local)."""
    parser.add_argument(
        "--pg",
        default=os.environ.get("LIFELINE_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres"),
        help=help,
    )


def own_broker() -> tuple[subprocess.Popen, str]:
    """A Mosquitto of our own on a free port, tuned as the shipped deploy/mosquitto.conf
    (``max_queued_messages 100000``: the default 1,000 drops QoS 1 messages for a busy ingest;
    ``max_inflight_messages 1000``: with the default 20 the ingest's answers queue under load;
    ``set_tcp_nodelay true``: without it every answer can wait 40 ms for a delayed ACK)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    workdir = Path(tempfile.mkdtemp(prefix="storm-broker-"))
    conf = workdir / "mosquitto.conf"
    conf.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
        "max_queued_messages 100000\nmax_inflight_messages 1000\nset_tcp_nodelay true\nlog_dest none\n"
    )
    mosquitto = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    proc = subprocess.Popen([mosquitto, "-c", str(conf)])  # noqa: S603 - our own command
    time.sleep(0.5)
    return proc, f"mqtt://127.0.0.1:{port}"


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def latency_summary(
    values: Sequence[float], percentiles: Sequence[int] = (50, 90, 99), of: int | None = None
) -> str:
    """``n=… p50=… ms p90=… ms p99=… ms max=… ms`` (p50 is the median; ``n=k/of`` when ``of`` is given)."""
    ordered = sorted(values)
    shown = " ".join(
        f"p{p}={statistics.median(ordered) if p == 50 else percentile(ordered, p):.1f} ms"
        for p in percentiles
    )
    n = f"{len(ordered)}/{of}" if of is not None else f"{len(ordered)}"
    return f"n={n} {shown} max={ordered[-1]:.1f} ms"
