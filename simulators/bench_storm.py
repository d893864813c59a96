"""Reconnect storm: every unit reports at once after a network outage.

    python -m simulators.bench_storm [--units 20000] [--alarms 300] [--statuses 500]

Each of ``--units`` registered units sends one heartbeat at the same moment; ``--alarms`` of
them also raise an alarm and ``--statuses`` report a technical status (mains failure), all
mixed into the same burst. Units behave like real ones: an unanswered message, or one
answered ``snu`` 5/6 (not treated / busy), is sent again with the same ``ref`` every
``--retransmit`` seconds. The clock stops when every message has its final answer (alarm:
HOLD or OK; the rest: OK), or at ``--timeout``.

Printed: time until drained, alarm latency (publish -> first HOLD) during the storm, how
many heartbeats were shed (``snu`` 6) on the way, the database's count of each message
(stored once / twice / not at all), and the CPU the service and broker spent.

The alarm latency is printed twice. A real unit reads only its own answer; here one listener
reads all ~20,800 answers, in the process (and under the GIL) of the sender that publishes the
storm, so an alarm's HOLD can sit unread behind thousands of heartbeat answers. The first figure
is what the alarm units see: their answers read by a process of its own, subscribed to their
topics only. The second is that one listener's, as earlier sessions measured it.

The harness starts a Mosquitto of its own (``max_queued_messages 100000``, as the shipped
``deploy/mosquitto/mosquitto.conf``: the default 1,000 would drop most of a storm for the
ingest's session) unless ``--mqtt`` names a broker, and ``lifeline ingest`` on a scratch
database on ``--pg`` (dropped at the end). Targets (issue 13): drained under 30 s, alarms
p99 under 1 s during it, 0 lost, 0 duplicated.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import random
import signal
import statistics
import threading
import time
import uuid

from simulators.benchkit import (
    CID_BASE,
    broker_pid,
    drop_database,
    latency_summary,
    own_broker,
    paho_client,
    process_cpu,
    setup_database,
    start_service,
    stored_counts,
    wait_subscribed,
)

FINAL = {"alarm": (0, 4), "heartbeat": (0,), "status": (0,)}


class Storm:
    def __init__(
        self,
        mqtt_url: str,
        root: str,
        units: int,
        alarms: int,
        statuses: int,
        quiet_alarm_units: bool = False,
    ) -> None:
        self.mqtt_url, self.root = mqtt_url, root
        self.messages: dict[str, dict] = {}  # ref -> {kind, cid, payload, sent, answered, snus}
        for i in range(units):
            cid = str(CID_BASE + i)
            if not (quiet_alarm_units and i < alarms):
                self._add("heartbeat", cid, {"dty": "0001", "mty": "PI", "hbo": "001"})
            if i < alarms:
                self._add("alarm", cid, {"dty": "0003", "stc": "0010", "did": "P1"})
            elif i < alarms + statuses:
                self._add("status", cid, {"dty": "0001", "stc": "0085"})
        self.lock = threading.Lock()
        self.all_answered = threading.Event()
        self.unanswered = len(self.messages)
        self.alarm_units_saw: dict[
            str, float
        ] = {}  # ref -> first final answer, read by the alarm units alone
        self.alarm_started: dict[str, float] = {}  # ref -> when its storing transaction began (Unix time)

    def _add(self, kind: str, cid: str, fields: dict) -> None:
        ref = f"S{len(self.messages):07d}"
        payload = json.dumps({"ref": ref, "cid": cid, **fields}, separators=(",", ":")).encode()
        self.messages[ref] = {
            "kind": kind,
            "cid": cid,
            "payload": payload,
            "sent": None,
            "sent_wall": None,
            "answered": None,
            "snus": [],
        }

    def on_reply(self, _client, _userdata, message) -> None:
        now = time.monotonic()
        try:
            answer = json.loads(message.payload)
        except ValueError:
            return
        entry = self.messages.get(answer.get("ref"))
        if entry is None:
            return
        with self.lock:
            entry["snus"].append(answer.get("snu"))
            if entry["answered"] is None and answer.get("snu") in FINAL[entry["kind"]]:
                entry["answered"] = now
                self.unanswered -= 1
                if self.unanswered == 0:
                    self.all_answered.set()

    def run(self, retransmit: float, timeout: float) -> float:
        listener = paho_client(self.mqtt_url, f"storm-units-in-{uuid.uuid4().hex[:6]}")
        listener.on_message = self.on_reply
        listener.subscribe(f"{self.root}/+/mrs", qos=1)
        listener.loop_start()
        sender = paho_client(self.mqtt_url, f"storm-units-out-{uuid.uuid4().hex[:6]}")
        sender.loop_start()
        time.sleep(0.5)
        order = list(self.messages)
        random.Random(13).shuffle(order)  # alarms and statuses mixed through the heartbeats, not first
        started = time.monotonic()
        deadline = started + timeout
        try:
            while not self.all_answered.is_set() and time.monotonic() < deadline:
                due = [ref for ref in order if self.messages[ref]["answered"] is None]
                for ref in due:
                    entry = self.messages[ref]
                    if entry["sent"] is None:
                        entry["sent"], entry["sent_wall"] = time.monotonic(), time.time()
                    sender.publish(f"{self.root}/{entry['cid']}/mrq", entry["payload"], qos=1)
                self.all_answered.wait(retransmit)
        finally:
            sender.loop_stop()
            listener.loop_stop()
        return started


def watch_alarms(mqtt_url: str, topics: list[str], ready, done, results) -> None:
    """A process of its own: the first final answer (HOLD or OK) to each alarm unit, when it arrived."""
    first: dict[str, float] = {}

    def on_message(_client, _userdata, message) -> None:
        now = time.monotonic()  # CLOCK_MONOTONIC: the same clock in every process
        try:
            answer = json.loads(message.payload)
        except ValueError:
            return
        if answer.get("snu") in FINAL["alarm"]:
            first.setdefault(answer.get("ref"), now)

    client = paho_client(mqtt_url, f"storm-alarm-units-{uuid.uuid4().hex[:6]}")
    client.on_message = on_message
    client.subscribe([(topic, 1) for topic in topics])
    client.loop_start()
    time.sleep(0.5)  # SUBACK
    ready.set()
    done.wait()
    client.loop_stop()
    results.put(first)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--units", type=int, default=20_000)
    parser.add_argument("--alarms", type=int, default=300)
    parser.add_argument("--statuses", type=int, default=500)
    parser.add_argument("--retransmit", type=float, default=10.0, help="seconds before a unit sends again")
    parser.add_argument("--timeout", type=float, default=180.0)
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--mqtt", default=None, help="an existing broker (default: start one)")
    parser.add_argument(
        "--quiet-alarm-units",
        action="store_true",
        help="units that raise an alarm send no heartbeat in the storm",
    )
    parser.add_argument(
        "--processes",
        type=int,
        default=1,
        help="ingest processes sharing the subscription (LIFELINE_MQTT_SHARED_GROUP); default one",
    )
    parser.add_argument(
        "--one-connection",
        action="store_true",
        help="alarms' answers on the ingest's own connection (no LIFELINE_MQTT_ANSWERS_URL), as before",
    )
    args = parser.parse_args()

    broker_proc, mqtt_url = (None, args.mqtt) if args.mqtt else own_broker()
    tag = uuid.uuid4().hex[:8]
    root, client_id = f"storm{tag}", f"storm-ingest-{tag}"
    database_url = asyncio.run(setup_database(args.pg, args.units))
    services = []
    load_before = os.getloadavg()[0]
    shared = (
        {"LIFELINE_MQTT_SHARED_GROUP": f"storm{tag}", "LIFELINE_MQTT_PROTOCOL": "5"}
        if args.processes > 1
        else {}
    )
    try:
        for n in range(args.processes):
            services.append(
                start_service(
                    database_url,
                    mqtt_url,
                    root,
                    f"{client_id}-{n}",
                    extra_env=shared,
                    answers_connection=not args.one_connection,
                )
            )
        for _ in services:  # each probe is answered by one member: as many answered as members started
            wait_subscribed(mqtt_url, root, client_id)
        time.sleep(1.0 if args.processes > 1 else 0.0)
        broker = broker_pid(int(mqtt_url.rsplit(":", 1)[1]))
        cpu_before = (sum(process_cpu(s.pid) for s in services), process_cpu(broker) if broker else 0.0)
        storm = Storm(mqtt_url, root, args.units, args.alarms, args.statuses, args.quiet_alarm_units)
        alarm_topics = sorted(
            {f"{root}/{m['cid']}/mrs" for m in storm.messages.values() if m["kind"] == "alarm"}
        )
        ready, done, results = mp.Event(), mp.Event(), mp.Queue()
        watcher = mp.Process(
            target=watch_alarms, args=(mqtt_url, alarm_topics, ready, done, results), daemon=True
        )
        watcher.start()
        ready.wait(10)
        started = storm.run(args.retransmit, args.timeout)
        time.sleep(0.5)
        done.set()
        storm.alarm_units_saw = results.get(timeout=10)
        watcher.join(5)
        answered = [m["answered"] for m in storm.messages.values() if m["answered"]]
        drained = (max(answered) - started) if len(answered) == len(storm.messages) else None
        service_cpu = sum(process_cpu(s.pid) for s in services) - cpu_before[0]
        broker_cpu = (process_cpu(broker) - cpu_before[1]) if broker else None
        time.sleep(1.0)
        counts = asyncio.run(stored_counts(database_url, list(storm.messages)))
        alarm_refs = [ref for ref, m in storm.messages.items() if m["kind"] == "alarm"]
        storm.alarm_started = asyncio.run(transaction_starts(database_url, alarm_refs))
    finally:
        for service in services:
            service.send_signal(signal.SIGTERM)
        for service in services:
            service.wait(30)
        asyncio.run(drop_database(args.pg, database_url))
        if broker_proc is not None:
            broker_proc.kill()
    report(args, storm, started, drained, counts, service_cpu, broker_cpu, load_before)


async def transaction_starts(database_url: str, refs: list[str]) -> dict[str, float]:
    """When the ingest began the transaction that stored each ref (the inbox row's ``received_at``:
    its batch's clock), as a Unix time."""
    import asyncpg

    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            "SELECT ref, extract(epoch FROM received_at)::float8 AS at FROM ingest_inbox"
            " WHERE ref = ANY($1::text[]) AND generation = 0",
            refs,
        )
    finally:
        await conn.close()
    return {row["ref"]: row["at"] for row in rows}


def _summary(values: list[float]) -> str:
    return latency_summary(values, (50, 99)) if values else "n=0"


def split_alarm_time(storm: Storm, started: float) -> None:
    """Where the alarms' time went: publish -> the transaction that stored it began (the broker,
    reading, the alarm lane's queue) and that start -> the unit's HOLD (the transaction, the answer
    back through the broker); and the latency by when in the storm the alarm was published."""
    before, after, by_third = [], [], {0: [], 1: [], 2: []}
    seen = storm.alarm_units_saw
    spread = max((m["sent"] for m in storm.messages.values() if m["sent"]), default=started) - started or 1.0
    for ref, m in storm.messages.items():
        if m["kind"] != "alarm" or ref not in seen or ref not in storm.alarm_started:
            continue
        begun = storm.alarm_started[ref] - m["sent_wall"]  # wall clocks of this machine: same clock
        total = seen[ref] - m["sent"]
        before.append(begun * 1000)
        after.append((total - begun) * 1000)
        by_third[min(2, int(3 * (m["sent"] - started) / spread))].append(total * 1000)
    print(f"alarm time, publish -> its transaction begins (broker, reading, lane queue): {_summary(before)}")
    print(f"alarm time, transaction begins -> HOLD at the unit (store, answer, broker): {_summary(after)}")
    print(
        "alarms by when they were published: "
        + "; ".join(
            f"{name} {_summary(by_third[n])}"
            for n, name in enumerate(("first third", "middle", "last third"))
        )
    )


def report(args, storm: Storm, started, drained, counts, service_cpu, broker_cpu, load_before) -> None:
    messages = storm.messages.values()
    alarms = [m for m in messages if m["kind"] == "alarm"]
    latencies = sorted((m["answered"] - m["sent"]) * 1000 for m in alarms if m["answered"])
    own = sorted(
        (storm.alarm_units_saw[ref] - m["sent"]) * 1000
        for ref, m in storm.messages.items()
        if m["kind"] == "alarm" and ref in storm.alarm_units_saw and m["sent"]
    )
    total = len(storm.messages)
    copies = [counts.get(ref, 0) for ref in storm.messages]
    shed = sum(1 for m in messages if 6 in m["snus"])
    first_sends = sorted(m["sent"] for m in messages if m["sent"])
    print(
        f"storm: {args.units} units at once: {total} messages ({len(alarms)} alarms, {args.statuses} statuses),"
        f" units retransmit every {args.retransmit:.0f} s; {args.processes} ingest process(es),"
        f" alarms' answers on {'the ingest connection' if args.one_connection else 'a connection of their own'}"
    )
    print(f"the generator took {first_sends[-1] - first_sends[0]:.1f} s to publish them all once")
    print(
        f"drained (every message finally answered): {f'{drained:.1f} s' if drained else 'NOT within the timeout'}"
    )
    for label, values in (
        ("as the alarm units see it (their answers read by a process of their own)", own),
        ("read by the one listener of every answer, behind the heartbeats' answers", latencies),
    ):
        if values:
            p99 = values[min(len(values) - 1, int(len(values) * 0.99))]
            print(
                f"alarms publish -> HOLD, {label}: n={len(values)} p50={statistics.median(values):.0f} ms"
                f" p99={p99:.0f} ms max={values[-1]:.0f} ms"
            )
    split_alarm_time(storm, started)
    print(
        f"stored once {sum(1 for n in copies if n == 1)}, twice or more {sum(1 for n in copies if n > 1)},"
        f" not stored {sum(1 for n in copies if n == 0)}; alarms opened {counts['__alarms__']} of {len(alarms)};"
        f" heartbeats shed (snu 6) on the way {shed}"
    )
    print(
        f"CPU: service (all processes) {service_cpu:.1f} s ({service_cpu / total * 1e6:.0f} µs/msg)"
        + (
            f", broker {broker_cpu:.1f} s ({broker_cpu / total * 1e6:.0f} µs/msg)"
            if broker_cpu is not None
            else ""
        )
    )
    print(
        f"machine: {os.cpu_count()} cores shared by generator, broker, service and PostgreSQL (and anyone else):"
        f" load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after"
    )


if __name__ == "__main__":
    main()
