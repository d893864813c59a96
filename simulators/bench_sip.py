"""SIP path benchmark: sipp units at a steady rate -> Kamailio -> MQTT -> ingest -> mrs MESSAGE back.

    python -m simulators.bench_sip [--rate 20] [--seconds 30] [--units 10]

What it measures, end to end through the real pieces (sipp as the units, the SIP edge in
deploy/kamailio with Digest against PostgreSQL, the broker, the ingest storing then
answering, the edge relaying the answer): for each heartbeat ``MESSAGE`` (``mty`` PI),
the time from the unit sending it to the unit receiving the ARC's ``mrs`` in a
``MESSAGE`` of its own. Two figures: from the unit's first ``MESSAGE`` (so including the
Digest challenge round trip every message pays with one-time nonces), and from the
authenticated ``MESSAGE``. In the same run, at the same rate, MQTT units publish
heartbeats straight to the broker and their publish -> ``mrs`` time is the MQTT figure
beside it, so both share one loaded service.

The harness starts ``lifeline serve`` on a scratch database (as bench_latency does),
gives the SIP units credentials there (set-up only), and starts ``kamailio`` with the
shipped config on free ports. Needs Debian's ``kamailio`` and ``sipp`` (sip-tester).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import secrets
import sys
import tempfile
import time
from pathlib import Path

from simulators.bench_latency import CID_BASE, _mqtt_client, scratch_service
from simulators.benchkit import add_pg_argument, latency_summary
from simulators.sip import Exchange, KamailioEdge, SippUnit, tools_missing

REF = re.compile(r"<ref>([^<]+)</ref>")


def _summary(label: str, values: list[float], asked: int) -> str:
    if not values:
        return f"{label}: no samples (of {asked})"
    return f"{label}: {latency_summary(values, of=asked)}"


async def one_sip_unit(args, edge: KamailioEdge, cid: str, password: str, index: int, rate: float):
    """One unit (one sipp) sending heartbeats at ``rate``; (first, signed) sent times and mrs by ref."""
    calls = max(1, int(rate * args.seconds))
    inject = Path(tempfile.mkdtemp(prefix="lifeline-bench-sip-")) / "refs.csv"
    inject.write_text("\n".join(["SEQUENTIAL", *(f"S{index:03d}{n:06d}" for n in range(calls))]) + "\n")
    body = f"<mrq><ref>[field0]</ref><cid>{cid}</cid><dty>0001</dty><mty>PI</mty></mrq>"
    unit = SippUnit(cid=cid, password=password, host="127.0.0.1", port=edge.port)
    result = await unit.run(
        [Exchange(body)],
        expect_mrs=calls,
        linger=2.0,
        within=args.seconds + 30,
        rate=rate,
        calls=calls,
        inject=inject,
    )
    return result, calls


async def sip_load(args, edge: KamailioEdge, units: list[tuple[str, str]]) -> tuple[list, list, int]:
    """``--rate`` MESSAGEs/s in all, spread over the SIP units (one sipp each); latencies in ms."""
    runs = await asyncio.gather(
        *(
            one_sip_unit(args, edge, cid, password, i, args.rate / len(units))
            for i, (cid, password) in enumerate(units)
        )
    )
    first: dict[str, float] = {}
    signed: dict[str, float] = {}
    from_first, from_signed, asked = [], [], 0
    for result, calls in runs:
        asked += calls
        for at, text in result.sent:
            match = REF.search(text)
            if match:
                (signed if "Authorization:" in text else first).setdefault(match.group(1), at)
        for at, body_text in zip(result.received_at, result.mrs, strict=True):
            match = REF.search(body_text)
            if match and match.group(1) in first:
                from_first.append((at - first[match.group(1)]) * 1000)
                from_signed.append((at - signed.get(match.group(1), first[match.group(1)])) * 1000)
    return from_first, from_signed, asked


async def mqtt_load(args, root: str, cids: list[str]) -> tuple[list[float], int]:
    """The same rate of heartbeats over MQTT from other units; publish -> mrs in ms."""
    sent: dict[str, float] = {}
    got: list[float] = []
    total = int(args.rate * args.seconds)
    async with _mqtt_client(args.mqtt, "bench-sip-mqtt") as client:
        await client.subscribe(f"{root}/+/mrs", qos=1)

        async def answers() -> None:
            async for message in client.messages:
                if bytes(message.payload).startswith(b"<"):
                    continue  # a SIP unit's (XML) answer
                ref = json.loads(message.payload).get("ref")
                if ref in sent:
                    got.append((time.perf_counter() - sent.pop(ref)) * 1000)

        reader = asyncio.create_task(answers())
        start = time.perf_counter()
        for n in range(total):
            cid = cids[n % len(cids)]
            ref = f"M{n:07d}"
            sent[ref] = time.perf_counter()
            payload = json.dumps({"ref": ref, "cid": cid, "dty": "0001", "mty": "PI"})
            await client.publish(f"{root}/{cid}/mrq", payload, qos=1)
            await asyncio.sleep(max(0.0, start + (n + 1) / args.rate - time.perf_counter()))
        await asyncio.sleep(3.0)
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader
    return got, total


async def main_async(args) -> int:
    missing = tools_missing()
    if missing:
        print(f"needs {', '.join(missing)} (apt-get install kamailio kamailio-postgres-modules "
              "kamailio-mqtt-modules sip-tester)", file=sys.stderr)  # fmt: skip
        return 2
    sip_units = [(str(CID_BASE + i), secrets.token_urlsafe(24)) for i in range(args.units)]
    mqtt_cids = [str(CID_BASE + args.units + i) for i in range(args.units)]
    database: dict[str, str] = {}

    async def credentials(session, db_url: str) -> None:
        from sqlalchemy import select

        from arc.registry.sip import set_sip_secret
        from arc.registry.units import Unit

        database["url"] = db_url
        ids = dict((await session.execute(select(Unit.cid, Unit.id))).all())
        for cid, password in sip_units:
            await set_sip_secret(session, ids[cid], cid, "lifeline", password)

    args.probes = 0
    args.units = args.units * 2  # scratch_service registers SIP and MQTT units alike
    async with scratch_service(args, prepare=credentials) as (_url, _token, root):
        edge = KamailioEdge(
            database_url=database["url"], mqtt_url=args.mqtt, topic_root=root, pike_density=1_000_000
        )
        await edge.start()
        try:
            started = time.perf_counter()
            (sip_first, sip_signed, asked), (mqtt_ms, mqtt_asked) = await asyncio.gather(
                sip_load(args, edge, sip_units), mqtt_load(args, root, mqtt_cids)
            )
            elapsed = time.perf_counter() - started
        finally:
            await edge.stop()
    print(
        f"{args.rate:.0f} SIP MESSAGE/s and {args.rate:.0f} MQTT mrq/s for {args.seconds:.0f} s "
        f"(heartbeats, {len(sip_units)} + {len(mqtt_cids)} units; run took {elapsed:.0f} s)"
    )
    print(_summary("SIP  first MESSAGE -> mrs MESSAGE at the unit", sip_first, asked))
    print(_summary("SIP  authenticated MESSAGE -> mrs MESSAGE", sip_signed, asked))
    print(_summary("MQTT publish -> mrs at the unit", mqtt_ms, mqtt_asked))
    lost = asked - len(sip_first)
    if lost:
        print(f"MISSING: {lost} SIP heartbeats got no mrs")
    return 0 if not lost else 1


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=20.0, help="SIP MESSAGEs per second (and MQTT mrqs)")
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument(
        "--units", type=int, default=10, help="SIP units, one sipp process each (as many MQTT units again)"
    )
    add_pg_argument(parser, help="PostgreSQL server where the scratch database is made (over TCP: the edge reads it too)")
    parser.add_argument("--mqtt", default=os.environ.get("LIFELINE_BENCH_MQTT", "mqtt://127.0.0.1:1883"))
    return parser.parse_args(argv)


def main(argv=None) -> int:
    return asyncio.run(main_async(parse_args(argv)))


if __name__ == "__main__":
    raise SystemExit(main())
