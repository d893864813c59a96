"""Ingest throughput benchmark: raw broker throughput vs stored-and-answered throughput.

    python -m simulators.bench_ingest [--messages 30000] [--units 2000]

One run, two measurements with the same load generator (one process, paho, QoS 1,
publishing heartbeats from ``--units`` registered units as fast as it can):

(a) raw: a bare subscriber on ``{root}/+/mrq`` (QoS 1, acknowledges on receipt,
    does nothing else) counts the messages: what the broker and one MQTT client
    can move on this machine.
(b) service: ``lifeline ingest`` (the real service process) receives the same
    load on a fresh persistent session, stores every message in PostgreSQL,
    triages it and answers; a counter on ``{root}/+/mrs`` counts the replies.
    A reply is only published after its transaction has committed, so (b) is
    stored-and-answered throughput.

Throughput is messages / seconds from the first publish to the last message
counted. The script prints both and their ratio. Setup (a scratch database on
``--pg``, migrated, with the units registered) goes straight to PostgreSQL; the
measurement itself talks to the service only over MQTT. The scratch database is
dropped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import signal
import time
import uuid

from devices.broker import broker_address
from simulators.benchkit import (
    CID_BASE,
    broker_pid,
    count,
    drop_database,
    machine_cpu,
    paho_client,
    process_cpu,
    setup_database,
    start_service,
    wait_subscribed,
)


def generate(
    mqtt_url: str, root: str, units: int, messages: int, window: int, counted, started, done: mp.Event
) -> None:
    """The load: heartbeats from ``units`` units, round robin, QoS 1, as fast as the window allows
    (at most ``window`` messages published and not yet counted: the broker's per-client queue is
    bounded, 1000 by default in Mosquitto, and a fleet has a bounded number of sessions open)."""
    client = paho_client(mqtt_url, f"bench-gen-{uuid.uuid4().hex[:8]}")
    client.loop_start()
    payloads = []
    for i in range(messages):
        cid = str(CID_BASE + i % units)
        body = {"ref": f"B{i:09d}", "cid": cid, "dty": "0001", "mty": "PI"}
        payloads.append((f"{root}/{cid}/mrq", json.dumps(body, separators=(",", ":")).encode()))
    started.value = time.time()
    for i, (topic, payload) in enumerate(payloads):
        while i - counted.value >= window:
            time.sleep(0.0002)
        client.publish(topic, payload, qos=1)
    done.wait(600)
    client.loop_stop()
    client.disconnect()


def measure(
    mqtt_url: str,
    root: str,
    units: int,
    messages: int,
    window: int,
    topic: str,
    service_pid: int | None = None,
    broker: int | None = None,
) -> tuple[float, float, float | None, float | None]:
    """Run the generator against a counter on ``topic``.

    Returns (messages per second, and CPU µs per message of the machine, the service process and
    the broker process). CPU time per message, unlike a throughput ratio, does not depend much
    on who else is using the cores."""
    ready, done = mp.Event(), mp.Event()
    started, finished, counted = mp.RawValue("d", 0.0), mp.RawValue("d", 0.0), mp.RawValue("q", 0)
    counter = mp.Process(target=count, args=(mqtt_url, topic, messages, ready, finished, done, counted))
    counter.start()
    if not ready.wait(10):
        raise SystemExit("counter did not subscribe")
    generator = mp.Process(
        target=generate, args=(mqtt_url, root, units, messages, window, counted, started, done)
    )
    machine_before = machine_cpu()
    service_before = process_cpu(service_pid) if service_pid else 0.0
    broker_before = process_cpu(broker) if broker else 0.0
    generator.start()
    if not done.wait(300):
        generator.kill()
        counter.kill()
        raise SystemExit(f"timed out: {counted.value} of {messages} messages counted")
    machine = (machine_cpu() - machine_before) / messages * 1e6
    service = (process_cpu(service_pid) - service_before) / messages * 1e6 if service_pid else None
    broker_cpu = (process_cpu(broker) - broker_before) / messages * 1e6 if broker else None
    generator.join(10)
    counter.join(10)
    return messages / (finished.value - started.value), machine, service, broker_cpu


async def pipeline_capacity(
    database_url: str, units: int, sizes: tuple[int, ...] = (1, 20, 200)
) -> dict[int, float]:
    """(c) The storage pipeline alone, no MQTT: decode, INSERT, triage, COMMIT, encode the reply,
    by batch size: what batching buys (one COMMIT, so one fsync, per batch)."""
    from arc.ingest.pipeline import Incoming, Pipeline
    from arc.kit.clock import Clock
    from arc.kit.db import make_engine, make_sessionmaker
    from arc.kit.settings import Settings

    url = database_url.replace("postgresql://", "postgresql+asyncpg://", 1)
    settings = Settings(env="test", database_url=url, mqtt_url="mqtt://unused", mqtt_topic_root="pipe")
    engine = make_engine(url)
    pipeline = Pipeline(settings, make_sessionmaker(engine), Clock())
    sequence = 0

    def batch(size: int) -> list[Incoming]:
        nonlocal sequence
        items = []
        for _ in range(size):
            cid = str(CID_BASE + sequence % units)
            body = {"ref": f"C{sequence:09d}", "cid": cid, "dty": "0001", "mty": "PI"}
            items.append(Incoming(f"pipe/{cid}/mrq", json.dumps(body).encode()))
            sequence += 1
        return items

    rates = {}
    try:
        await pipeline.handle(batch(10))
        for size in sizes:
            rounds = max(1, 4000 // size)
            started = time.perf_counter()
            for _ in range(rounds):
                await pipeline.handle(batch(size))
            rates[size] = rounds * size / (time.perf_counter() - started)
    finally:
        await engine.dispose()
    return rates


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=30_000)
    parser.add_argument("--units", type=int, default=2_000)
    parser.add_argument("--window", type=int, default=2_000, help="most messages in flight at once")
    parser.add_argument(
        "--pg", default="postgresql://postgres@127.0.0.1:5432/postgres", help="PostgreSQL server"
    )
    parser.add_argument("--mqtt", default="mqtt://127.0.0.1:1883", help="MQTT broker")
    parser.add_argument(
        "--profile", metavar="FILE", help="run the service under cProfile, save to FILE and print where its time"
        " went (the profiler itself roughly doubles the CPU figures)"
    )
    args = parser.parse_args()

    tag = uuid.uuid4().hex[:8]
    raw_root, service_root = f"benchraw{tag}", f"benchsvc{tag}"
    database_url = asyncio.run(setup_database(args.pg, args.units))
    service = None
    broker = broker_pid(int(broker_address(args.mqtt)["port"]))
    load_before = os.getloadavg()[0]
    try:
        raw, raw_cpu, _, raw_broker = measure(
            args.mqtt, raw_root, args.units, args.messages, args.window, f"{raw_root}/+/mrq", broker=broker
        )
        print(
            f"(a) raw broker -> bare subscriber:      {raw:8.0f} msg/s   machine CPU {raw_cpu:4.0f} µs/msg"
            f"{_broker_note(raw_broker, 1)}"
        )
        client_id = f"bench-ingest-{tag}"
        service = start_service(database_url, args.mqtt, service_root, client_id, args.profile)
        wait_subscribed(args.mqtt, service_root, client_id)
        stored, stored_cpu, service_cpu, stored_broker = measure(
            args.mqtt,
            service_root,
            args.units,
            args.messages,
            args.window,
            f"{service_root}/+/mrs",
            service.pid,
            broker,
        )
        print(
            f"(b) stored and answered by the service: {stored:8.0f} msg/s   machine CPU {stored_cpu:4.0f} µs/msg"
            f"{_broker_note(stored_broker, 2)}"
        )
        print(
            f"    service process CPU per stored-and-answered message: {service_cpu:.0f} µs"
            " (decode, store, triage, COMMIT, mrs, PUBACK)"
        )
        service.send_signal(signal.SIGTERM)
        service.wait(30)
        service = None
        if args.profile:
            import pstats

            pstats.Stats(args.profile).sort_stats("tottime").print_stats(25)
        rates = asyncio.run(pipeline_capacity(database_url, args.units))
        print(
            "(c) storage pipeline alone, no MQTT:    "
            + ", ".join(f"batch {n}: {r:.0f}" for n, r in rates.items())
        )
        print(f"ratio (b)/(a): {stored / raw:.2f}")
        print(
            f"  {args.messages} heartbeats from {args.units} units, QoS 1, at most {args.window} in flight;"
            f" {os.cpu_count()} cores shared by every process (generator, counter, broker, service, PostgreSQL)"
        )
        print(
            f"  load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after: throughput figures depend on"
            " who else is on the CPU; the CPU-per-message figures much less"
        )
    finally:
        if service is not None:
            service.send_signal(signal.SIGTERM)
            service.wait(30)
        asyncio.run(drop_database(args.pg, database_url))


def _broker_note(us: float | None, hops: int) -> str:
    if us is None:
        return "   (broker process not found on this machine)"
    return f"   broker CPU {us:4.0f} µs/msg ({hops} hop{'s' if hops > 1 else ''}: mrq{' + mrs' if hops > 1 else ''})"


if __name__ == "__main__":
    main()
