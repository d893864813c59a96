"""CPU per heartbeat of reading it off the socket and then queueing it, or shedding it (snu 6).

    python -m simulators.bench_shed [--messages 20000] [--rounds 5] [--protocol 5|3.1.1] [--profile out.prof]

No broker and no database: the ingest's real MQTT connection (arc/ingest/wire.py) and worker, on
a transport that only counts what is written, are fed the PUBLISH packets of ``--messages``
heartbeats (as ``bench_overload``'s generators send them, half with ``hbo 001``) in reads of 64 KiB,
as the socket would give them. Timed in CPU time (``time.process_time``), best and median of
``--rounds``:

- read + queue: the queue is young, every heartbeat is queued for a batch (no answer yet);
- read + shed: the queue's oldest has waited past LIFELINE_INGEST_SHED_QUEUE_SECONDS, every
  heartbeat is answered busy with its PUBACK (the answers checked: one QoS 0 PUBLISH and one
  PUBACK per heartbeat, ``hbi`` only to the units that sent ``hbo 001``).

Why it matters (docs/performance.md): at twice capacity the ingest reads every heartbeat and sheds
half of them; unless reading and shedding cost well under storing (``bench_store``), the CPU goes
to shedding and an alarm waits behind it.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import statistics
import struct
import time

from arc.ingest.packets import varint

ROOT = "shed"
CHUNK = 64 * 1024


class CountingTransport:
    def __init__(self) -> None:
        self.chunks: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.chunks.append(data)

    def get_extra_info(self, name: str, default=None):
        return default

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        pass

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def close(self) -> None:
        pass


def publishes(count: int, v5: bool) -> bytes:
    """``count`` QoS 1 heartbeat PUBLISHes as the broker sends them, 10,000 units round robin."""
    out = bytearray()
    for n in range(count):
        cid = str(10_000_000 + n % 10_000)
        tail = '","dty":"0001","mty":"PI","hbo":"001"}' if n % 2 == 0 else '","dty":"0001","mty":"PI"}'
        payload = f'{{"ref":"H{n:09d}","cid":"{cid}{tail}'.encode()
        name = f"{ROOT}/{cid}/mrq".encode()
        body = struct.pack("!H", len(name)) + name + struct.pack("!H", n % 65535 + 1)
        body += (b"\x00" if v5 else b"") + payload
        out += b"\x32" + varint(len(body)) + body
    return bytes(out)


def replies_in(data: bytes, v5: bool) -> tuple[int, int, int]:
    """(QoS 0 PUBLISHes, PUBACKs, answers carrying hbi) in what the ingest wrote."""
    from arc.ingest.packets import read_varint

    pos = publishes_ = acks = with_hbi = 0
    while pos < len(data):
        first = data[pos]
        length, start = read_varint(data, pos + 1)
        if first >> 4 == 3:
            publishes_ += 1
            with_hbi += b'"hbi"' in data[start : start + length]
        elif first >> 4 == 4:
            acks += 1
        pos = start + length
    return publishes_, acks, with_hbi


async def one_round(
    data: bytes,
    count: int,
    v5: bool,
    shed: bool,
    profile: cProfile.Profile | None,
    chunk: int = CHUNK,
    every: float = 0.0,
) -> float:
    from arc.ingest.packets import WireOptions
    from arc.ingest.replies import Incoming
    from arc.ingest.wire import Connection
    from arc.ingest.worker import IngestWorker
    from arc.kit.settings import Settings

    settings = Settings(
        env="test",
        database_url="postgresql+asyncpg://unused/unused",
        mqtt_url="mqtt://unused",
        mqtt_topic_root=ROOT,
        ingest_shed_hbi_minutes=180,
        ingest_shed_heartbeats_backlog=10 * count,
    )
    worker = IngestWorker(settings, None)
    connection = Connection(WireOptions("unused", 0, "bench", "5" if v5 else "3.1.1"), worker._received)
    transport = CountingTransport()
    connection.connection_made(transport)
    worker.publisher.client = connection
    # the queue's oldest: read long ago (shedding) or just now (queueing)
    worker._pending.append(Incoming("x", b"", None, received_at=time.monotonic() + (-60 if shed else 3600)))
    if profile:
        profile.enable()
    started = time.process_time()
    for at in range(0, len(data), chunk):
        connection.data_received(data[at : at + chunk])
        while connection._drain_scheduled:  # noqa: ASYNC110 - stepping the loop as the socket would
            await asyncio.sleep(0)
        if every:
            await asyncio.sleep(every)  # the next read comes later (no CPU meanwhile)
    while connection._flush_scheduled or worker._to_shed:  # noqa: ASYNC110 - until the busy answers are written
        await asyncio.sleep(0.001)
    spent = time.process_time() - started
    if profile:
        profile.disable()
    written = b"".join(transport.chunks)
    if shed:
        answers, acks, with_hbi = replies_in(written, v5)
        assert (answers, acks, with_hbi) == (count, count, (count + 1) // 2), (answers, acks, with_hbi)
    else:
        assert len(worker._pending) == count + 1 and not written, (len(worker._pending), len(written))
    return spent / count * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--chunk", type=int, default=CHUNK, help="bytes per socket read (64 KiB)")
    parser.add_argument("--read-every", type=float, default=0.0, help="ms between reads (0: each at once)")
    parser.add_argument("--protocol", choices=("5", "3.1.1"), default="5")
    parser.add_argument("--profile", help="write a cProfile of the shedding rounds here and print its top")
    args = parser.parse_args()
    v5 = args.protocol == "5"
    data = publishes(args.messages, v5)
    profile = cProfile.Profile() if args.profile else None
    results = {}
    for label, shed in (("read + queue", False), ("read + shed (snu 6)", True)):
        runs = [
            asyncio.run(
                one_round(
                    data,
                    args.messages,
                    v5,
                    shed,
                    profile if shed else None,
                    args.chunk,
                    args.read_every / 1000,
                )
            )
            for _ in range(args.rounds)
        ]
        results[label] = runs
    print(
        f"{args.rounds} rounds of {args.messages} heartbeat PUBLISHes (MQTT {args.protocol}), in-process, no broker"
    )
    print(f"{'µs of CPU per heartbeat':<32}{'best':>8}{'median':>8}")
    for label, runs in results.items():
        print(f"{label:<32}{min(runs):>8.1f}{statistics.median(runs):>8.1f}")
    if profile:
        profile.dump_stats(args.profile)
        pstats.Stats(args.profile).sort_stats("tottime").print_stats(15)


if __name__ == "__main__":
    main()
