"""Capacity and 2x overload: heartbeats are shed before an alarm is ever delayed (issue 13, item 6).

    python -m simulators.bench_overload [--seconds 60] [--step-seconds 10] [--generators 2]
                                        [--service-cpu CORES]

Starts a Mosquitto of its own (as the shipped config, ``max_queued_messages 100000``; or
``--mqtt``) and the real ``lifeline ingest`` on a scratch database (dropped at the end), with
the service's own settings from the environment (``LIFELINE_INGEST_SHED_HEARTBEATS_BACKLOG``,
``LIFELINE_INGEST_SHED_HBI_MINUTES``, ``LIFELINE_MQTT_RECEIVE_MAXIMUM`` ...). Then:

(c) baseline: alarm probes (one every ``--interval``, each from its own unit) with no other load;
(a) capacity: heartbeats offered at a steady rate (open loop, ``--generators`` processes), step by
    step: doubling from ``--start-rate`` until the service no longer keeps up, then ``--refine``
    bisections. A step is *sustained* when, after its first 30 %, every heartbeat was answered OK
    at the offered rate, none was shed or refused, and the outstanding count (published, not yet
    answered) did not grow. The capacity is the highest sustained offered rate (``--capacity``
    skips the search);
(b) overload: ``--factor`` (2) x the capacity for ``--seconds``, with the same alarm probes.

Units behave like real ones for alarms: one not finally answered (HOLD or OK) within
``--retransmit`` seconds is sent again with the same ``ref``. Heartbeats are not retransmitted;
half the heartbeat units send ``hbo 001`` (they accept an interval), so a shed answer must carry
``hbi`` to exactly those. Printed: each step's offered / answered-OK / shed rates; alarm latency
publish -> HOLD, alarms lost / opened once / refused busy, heartbeats answered OK / shed / refused
/ unanswered, service CPU per message. Exit status 1 if an alarm was lost, opened twice or shed.
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

from simulators import benchkit as kit
from simulators.overload import (
    BUSY,
    HOLD,
    OK,
    REPLY_SLOTS,
    Step,
    alarm_lines,
    classify_reply,
    find_capacity,
    judge,
)

# --- processes: heartbeat generators, the reply counter, alarm probes ---------------------------


def offer(
    mqtt_url: str, root: str, cids: list[str], hbo: list[bool], rate: float, seconds: float, tag: str, sent
):
    """Publish heartbeats round robin over ``cids`` at ``rate`` per second (paced, open loop)."""
    client = kit.paho_client(mqtt_url, f"overload-gen-{tag}-{uuid.uuid4().hex[:6]}")
    client.loop_start()
    tails = ['","dty":"0001","mty":"PI","hbo":"001"}' if h else '","dty":"0001","mty":"PI"}' for h in hbo]
    heads = [f'","cid":"{cid}' for cid in cids]
    topics = [f"{root}/{cid}/mrq" for cid in cids]
    total, n, info = int(rate * seconds), 0, None
    start = time.monotonic()
    while n < total:
        due = min(total, int((time.monotonic() - start) * rate) + 1)
        while n < due:
            i = n % len(cids)
            info = client.publish(topics[i], f'{{"ref":"{tag}{n:09d}{heads[i]}{tails[i]}', qos=1)
            n += 1
        sent.value = n
        time.sleep(0.002)
    if info is not None:
        info.wait_for_publish(30)
    client.loop_stop()
    client.disconnect()


def count_replies(
    mqtt_url: str, root: str, hb_first: int, hb_units: int, shed_hbi: int, slots, ready
) -> None:
    """Count every heartbeat's answer (refs from ``offer`` start with H) into ``slots``."""
    index = {name: k for k, name in enumerate(REPLY_SLOTS)}

    def on_message(_client, _userdata, message) -> None:
        answer = json.loads(message.payload)
        if not str(answer.get("ref", "")).startswith("H"):
            return
        unit = int(message.topic.split("/")[-2]) - hb_first
        if 0 <= unit < hb_units:
            slots[index[classify_reply(answer, unit % 2 == 0, shed_hbi)]] += 1
            slots[index["answered"]] += 1

    client = kit.paho_client(mqtt_url, f"overload-count-{uuid.uuid4().hex[:6]}")
    client.on_message = on_message
    client.on_subscribe = lambda *_: ready.set()
    client.subscribe(f"{root}/+/mrs", qos=1)
    client.loop_forever()


def probe(mqtt_url, root, cids, interval, delay, retransmit, grace, first_sent, answered, sends, busy, done):
    """One alarm from each of ``cids``, one every ``interval`` s after ``delay``; record when each was
    first sent and first answered HOLD/OK; resend an unanswered one every ``retransmit`` s."""
    refs = {cid: f"A{uuid.uuid4().hex[:5].upper()}{i:05d}" for i, cid in enumerate(cids)}
    index = {cid: i for i, cid in enumerate(cids)}
    last_sent = [0.0] * len(cids)

    def on_message(_client, _userdata, message) -> None:
        now = time.monotonic()
        cid = message.topic.split("/")[-2]
        answer = json.loads(message.payload)
        i = index.get(cid)
        if i is None or answer.get("ref") != refs[cid]:
            return
        if answer.get("snu") in (OK, HOLD) and not answered[i]:
            answered[i] = now
        elif answer.get("snu") == BUSY:
            busy[i] += 1

    client = kit.paho_client(mqtt_url, f"overload-probe-{uuid.uuid4().hex[:6]}")
    client.on_message = on_message
    for k in range(0, len(cids), 200):
        client.subscribe([(f"{root}/{cid}/mrs", 1) for cid in cids[k : k + 200]])
    client.loop_start()
    time.sleep(0.5 + delay)

    def send(i: int) -> None:
        cid = cids[i]
        payload = json.dumps({"ref": refs[cid], "cid": cid, "dty": "0003", "stc": "0010"})
        client.publish(f"{root}/{cid}/mrq", payload, qos=1)
        last_sent[i] = time.monotonic()
        first_sent[i] = first_sent[i] or last_sent[i]
        sends[i] += 1

    def resend_due() -> None:
        now = time.monotonic()
        for i in range(len(cids)):
            if last_sent[i] and not answered[i] and now - last_sent[i] >= retransmit:
                send(i)

    start = time.monotonic()
    for i in range(len(cids)):
        time.sleep(max(0.0, start + i * interval - time.monotonic()))
        send(i)
        resend_due()
    deadline = time.monotonic() + grace
    while not all(answered) and time.monotonic() < deadline:
        resend_due()
        time.sleep(0.05)
    client.loop_stop()
    client.disconnect()
    done.set()


# --- the run ------------------------------------------------------------------------------------


class Harness:
    def __init__(self, args, mqtt_url: str, root: str) -> None:
        self.args, self.mqtt_url, self.root = args, mqtt_url, root
        self.hb_cids = [str(kit.CID_BASE + i) for i in range(args.units)]
        self.slots = mp.RawArray("q", len(REPLY_SLOTS))
        self.published = 0  # heartbeats published by finished steps
        self.steps = 0

    def tally(self) -> dict[str, int]:
        """The heartbeats' answers so far, by REPLY_SLOTS (and ``shed``: every snu 6)."""
        t = dict(zip(REPLY_SLOTS, self.slots, strict=True))
        return {**t, "shed": t["shed_hbi"] + t["shed_plain"] + t["shed_hbi_wrong"]}

    def generators(self, rate: float, seconds: float) -> tuple[list[mp.Process], list]:
        self.steps += 1
        n = self.args.generators
        sent = [mp.RawValue("q", 0) for _ in range(n)]
        procs = []
        for g in range(n):
            cids = self.hb_cids[g::n]
            hbo = [(g + k * n) % 2 == 0 for k in range(len(cids))]
            tag = f"H{self.steps:02d}{g}"
            procs.append(
                mp.Process(
                    target=offer, args=(self.mqtt_url, self.root, cids, hbo, rate / n, seconds, tag, sent[g])
                )
            )
        for p in procs:
            p.start()
        return procs, sent

    def load(self, rate: float, seconds: float, while_loading=None) -> tuple[list, int]:
        """Offer ``rate`` heartbeats/s for ``seconds``; sample the counts every 0.25 s; then drain.
        Returns (samples, heartbeats still unanswered after the drain)."""
        procs, sent = self.generators(rate, seconds)
        samples = []
        while any(p.is_alive() for p in procs):
            t = self.tally()
            samples.append(
                (
                    time.monotonic(),
                    self.published + sum(v.value for v in sent),
                    t["ok"],
                    t["shed"],
                    t["refused"],
                    t["answered"],
                )
            )
            time.sleep(0.25)
        if while_loading is not None:
            while_loading()
        self.published += sum(v.value for v in sent)
        deadline = time.monotonic() + self.args.drain
        while self.tally()["answered"] < self.published and time.monotonic() < deadline:
            time.sleep(0.2)
        return samples, self.published - self.tally()["answered"]

    def step(self, rate: float) -> Step:
        samples, unanswered = self.load(rate, self.args.step_seconds)
        step = judge(samples, rate)
        step = Step(**{**step.__dict__, "unanswered": unanswered})
        print(step.line(), flush=True)
        return step

    def probes(self, cids: list[str], delay: float) -> tuple[mp.Process, dict]:
        n = len(cids)
        out = {
            k: mp.RawArray("d" if k in ("first_sent", "answered") else "i", n)
            for k in ("first_sent", "answered", "sends", "busy")
        }
        out["done"] = mp.Event()
        a = self.args
        proc = mp.Process(
            target=probe,
            args=(
                self.mqtt_url,
                self.root,
                cids,
                a.interval,
                delay,
                a.retransmit,
                a.grace,
                out["first_sent"],
                out["answered"],
                out["sends"],
                out["busy"],
                out["done"],
            ),
        )
        proc.start()
        return proc, out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    for flag, kind, default, help_ in (
        ("--seconds", float, 60.0, "length of the overload (b)"),
        ("--step-seconds", float, 10.0, "length of each capacity step (a)"),
        ("--start-rate", float, 500.0, "first heartbeat rate tried (a)"),
        ("--max-rate", float, 64_000.0, "highest heartbeat rate tried (a)"),
        ("--refine", int, 3, "bisections after the doubling (a)"),
        ("--capacity", float, None, "skip the search (a): use this capacity, heartbeats/s"),
        ("--factor", float, 2.0, "overload (b) = factor x capacity"),
        ("--generators", int, 2, "heartbeat generator processes"),
        ("--units", int, 2000, "units sending the heartbeats"),
        ("--interval", float, 0.1, "seconds between alarm probes"),
        ("--retransmit", float, 10.0, "seconds before a unit resends an unanswered alarm"),
        ("--grace", float, 60.0, "seconds to wait for the last alarms' answers"),
        ("--drain", float, 30.0, "seconds to wait for the heartbeats' answers after each load"),
    ):
        parser.add_argument(flag, type=kind, default=default, help=help_)
    parser.add_argument("--no-baseline", action="store_true", help="skip (c)")
    parser.add_argument(
        "--one-connection",
        action="store_true",
        help="alarms' answers on the ingest's own connection (no LIFELINE_MQTT_ANSWERS_URL), as before",
    )
    parser.add_argument(
        "--service-cpu",
        type=float,
        default=None,
        metavar="CORES",
        help="cap the service at this many cores (a cgroup; root): on a machine the load generators"
        " share, the only way the service, not the harness, is what 2x overloads (benchkit.CpuCap)",
    )
    parser.add_argument(
        "--profile", metavar="FILE", help="run the service under cProfile (CPU time), print where it went"
    )
    kit.add_pg_argument(parser)
    parser.add_argument("--mqtt", default=None, help="an existing broker (default: start one)")
    args = parser.parse_args(argv)

    from arc.kit.settings import Settings

    shed_hbi = int(
        os.environ.get(
            "LIFELINE_INGEST_SHED_HBI_MINUTES", Settings.model_fields["ingest_shed_hbi_minutes"].default
        )
    )
    probes = max(1, int(args.seconds / args.interval))
    broker_proc, mqtt_url = (None, args.mqtt) if args.mqtt else kit.own_broker()
    tag = uuid.uuid4().hex[:8]
    root, client_id = f"overload{tag}", f"overload-ingest-{tag}"
    database_url = asyncio.run(kit.setup_database(args.pg, args.units + 2 * probes))
    probe_b = [str(kit.CID_BASE + args.units + i) for i in range(probes)]
    probe_c = [str(kit.CID_BASE + args.units + probes + i) for i in range(probes)]
    service = counter = cap = None
    load_before = os.getloadavg()
    ok_all = True
    try:
        service = kit.start_service(
            database_url, mqtt_url, root, client_id, args.profile, answers_connection=not args.one_connection
        )
        if args.service_cpu:
            cap = kit.CpuCap(args.service_cpu)
            cap.add(service.pid)
            print(f"the service capped at {args.service_cpu:g} core(s) (cgroup {cap.path})")
        kit.wait_subscribed(mqtt_url, root, client_id)
        h = Harness(args, mqtt_url, root)
        ready = mp.Event()
        counter = mp.Process(
            target=count_replies,
            args=(mqtt_url, root, kit.CID_BASE, args.units, shed_hbi, h.slots, ready),
            daemon=True,
        )
        counter.start()
        ready.wait(10)
        print(
            f"{os.cpu_count()} cores shared by broker, service, PostgreSQL, {args.generators} generator processes, the counter and the probes"
        )
        if not args.no_baseline:
            proc, out_c = h.probes(probe_c, 0.0)
            proc.join()
        if args.capacity:
            capacity = args.capacity
            print(f"(a) capacity given: {capacity:.0f} heartbeats/s (no search)")
        else:
            print(
                f"(a) capacity search: {args.step_seconds:.0f} s steps, {args.generators} generator processes"
            )
            good, _ = find_capacity(h.step, args.start_rate, args.max_rate, args.refine)
            if good is None:
                print("    no rate was sustained")
                return 1
            capacity = good.offered
            print(
                f"    capacity: {capacity:.0f} heartbeats/s stored and answered without the backlog growing"
                + (
                    " (at least: the generators ran out first; try more --generators)"
                    if good.generator_short
                    else ""
                )
            )
        rate = args.factor * capacity
        broker = broker_proc.pid if broker_proc is not None else kit.broker_pid(kit.broker_address(mqtt_url)["port"])
        broker_before = kit.process_cpu(broker) if broker else 0.0
        before = h.tally(), h.published, kit.process_cpu(service.pid), time.monotonic()
        warmup = 2.0
        proc, out_b = h.probes(probe_b, warmup)
        samples, _ = h.load(rate, warmup + args.seconds, while_loading=proc.join)
        after = h.tally()
        cpu = kit.process_cpu(service.pid) - before[2]
        broker_cpu = kit.process_cpu(broker) - broker_before if broker else None
        sent = h.published - before[1]
        offered = judge(samples, rate, warm=0.0).offered
        opened = asyncio.run(kit.alarms_by_cid(database_url.replace("+asyncpg", ""), probe_b + probe_c))
        d = {k: after[k] - before[0][k] for k in after}
        unanswered = sent - d["answered"]
        queued = max(s[1] - s[5] for s in samples)
        lines, ok_b = alarm_lines(f"(b) {args.factor:g} x capacity", probe_b, out_b, opened)
        print(
            f"(b) overload: asked {rate:.0f} heartbeats/s, offered {offered:.0f}/s for {warmup + args.seconds:.0f} s ({sent} heartbeats) + {probes} alarms"
        )
        if offered < 0.9 * rate:
            print(
                f"    THE GENERATORS FELL SHORT: {offered:.0f} of {rate:.0f}/s offered; try more --generators"
            )
        print("\n".join(lines))
        print(
            f"    heartbeats answered OK {d['ok']}, shed snu 6 {d['shed']} (with hbi {d['shed_hbi']} to units that"
            f" sent hbo 001, without {d['shed_plain']} to the others, wrong or missing hbi {d['shed_hbi_wrong']}),"
            f" refused otherwise {d['refused']}, unanswered {unanswered}; most outstanding at once (published,"
            f" not yet answered: queued in the broker and the service) {queued}"
        )
        print(
            f"    service process CPU {cpu:.1f} s: {cpu / max(1, sent + probes) * 1e6:.0f} µs per message received ({time.monotonic() - before[3]:.0f} s incl. drain)"
            + (
                f"; broker {broker_cpu:.1f} s: {broker_cpu / max(1, sent + probes) * 1e6:.0f} µs per message (it walks"
                " its in-flight list for every PUBACK: what the ingest holds unacknowledged costs it)"
                if broker_cpu is not None
                else ""
            )
        )
        ok_all = ok_b and d["shed_hbi_wrong"] == 0
        if not args.no_baseline:
            lines, ok_c = alarm_lines("(c) no background load", probe_c, out_c, opened)
            print("\n".join(lines))
            ok_all = ok_all and ok_c
    finally:
        if counter is not None:
            counter.kill()
        if service is not None:
            service.send_signal(signal.SIGTERM)
            service.wait(30)
        if cap is not None:
            cap.remove()
        asyncio.run(kit.drop_database(args.pg, database_url))
        if broker_proc is not None:
            broker_proc.kill()
    if args.profile:
        import pstats

        pstats.Stats(args.profile).sort_stats("tottime").print_stats(30)
    print(
        f"load average before {load_before[0]:.1f} / {load_before[1]:.1f}, after {os.getloadavg()[0]:.1f} / {os.getloadavg()[1]:.1f} (1 / 5 min)"
    )
    return 0 if ok_all else 1


if __name__ == "__main__":
    raise SystemExit(main())
