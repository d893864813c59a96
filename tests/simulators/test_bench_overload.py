"""bench_overload: its arithmetic (how an answer counts, when a step is sustained, the capacity
search, the alarm figures), and one short end-to-end run of the real thing in overload."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from simulators.overload import Step, alarm_lines, classify_reply, find_capacity, judge


def test_a_shed_answer_must_carry_the_hbi_exactly_when_the_unit_sent_hbo():
    assert classify_reply({"snu": 0, "hbi": 60}, True, 120) == "ok"
    assert classify_reply({"snu": 6, "hbi": 120}, True, 120) == "shed_hbi"
    assert classify_reply({"snu": 6}, True, 120) == "shed_hbi_wrong"  # asked for one, got none
    assert classify_reply({"snu": 6, "hbi": 60}, True, 120) == "shed_hbi_wrong"  # not the raised one
    assert classify_reply({"snu": 6}, False, 120) == "shed_plain"
    assert classify_reply({"snu": 6, "hbi": 120}, False, 120) == "shed_hbi_wrong"  # never asked
    assert classify_reply({"snu": 5}, True, 120) == "refused"


def _samples(rate, answered_rate, seconds=10, idle_start=2, idle_end=3, shed_rate=0.0):
    """(t, published, ok, shed, refused, answered) every 0.25 s: generators starting late and
    idling at the end, as real ones do (process start, waiting for the last PUBACK)."""
    out, published, ok, shed = [], 0.0, 0.0, 0.0
    for k in range(idle_start + int(seconds * 4) + idle_end):
        active = idle_start <= k < idle_start + seconds * 4
        published += rate / 4 if active else 0
        ok += min(answered_rate, rate) / 4 if active else 0
        shed += shed_rate / 4 if active else 0
        out.append((k / 4, int(published), int(ok), int(shed), 0, int(ok + shed)))
    return out


def test_a_step_the_service_keeps_up_with_is_sustained_at_the_rate_offered():
    step = judge(_samples(1000, 1000), 1000)
    assert step.offered == pytest.approx(1000, rel=0.02)  # idle start and end are not averaged in
    assert step.ok == pytest.approx(1000, rel=0.02)
    assert abs(step.growth) < 10 and step.sustained and not step.generator_short


def test_a_growing_backlog_or_shedding_is_not_sustained():
    behind = judge(_samples(1000, 800), 1000)
    assert behind.growth > 1000 and not behind.sustained
    shedding = judge(_samples(1000, 900, shed_rate=100), 1000)
    assert shedding.shed == pytest.approx(100, rel=0.05) and not shedding.sustained
    assert not Step(1000, 1000, 1000, 0, 0, 0, unanswered=5).sustained  # lost at the end


def test_the_search_finds_the_highest_rate_the_service_sustains():
    def service(capacity, generator_max=1e9):
        def try_rate(rate):
            offered = min(rate, generator_max)
            ok = min(offered, capacity)
            return Step(rate, offered, ok, 0, 0, growth=int((offered - ok) * 7))

        return try_rate

    good, steps = find_capacity(service(3000), 500, 64_000, 3)
    assert [s.asked for s in steps] == [500, 1000, 2000, 4000, 3000, 3500, 3250]
    assert good.offered == 3000
    good, steps = find_capacity(service(300), 500, 64_000, 1)  # even the first rate is too much
    assert [s.asked for s in steps] == [500, 250, 375]
    assert good.asked == 250
    good, steps = find_capacity(service(10_000, generator_max=1500), 500, 64_000, 3)
    assert [s.asked for s in steps] == [500, 1000, 2000]  # the generators, not the service, ran out
    assert good.offered == 1500 and good.generator_short


def test_alarm_figures_count_lost_opened_twice_and_busy():
    cids = ["1", "2", "3", "4"]
    out = {"first_sent": [1.0, 1.0, 1.0, 1.0], "answered": [1.05, 1.2, 0.0, 1.1], "sends": [1, 1, 2, 1]}
    lines, ok = alarm_lines("x", cids, {**out, "busy": [0, 0, 0, 0]}, {"1": 1, "2": 1, "4": 1})
    assert not ok and "alarms lost 1 " in lines[1] and "opened once 3 of 4" in lines[1]
    assert "n=3/4 p50=100.0 ms" in lines[0] and "max=200.0 ms" in lines[0]
    out["answered"][2] = 1.3
    lines, ok = alarm_lines("x", cids, {**out, "busy": [0, 0, 0, 0]}, dict.fromkeys(cids, 1))
    assert ok and "alarms lost 0 " in lines[1] and "retransmitted) 1" in lines[1]
    assert not alarm_lines("x", cids, {**out, "busy": [0, 1, 0, 0]}, dict.fromkeys(cids, 1))[1]
    assert not alarm_lines("x", cids, {**out, "busy": [0, 0, 0, 0]}, {**dict.fromkeys(cids, 1), "2": 2})[1]


@pytest.mark.skipif(
    not (shutil.which("mosquitto") or os.path.exists("/usr/sbin/mosquitto")), reason="no mosquitto"
)
def test_in_overload_heartbeats_are_shed_with_hbi_and_no_alarm_is_lost_or_shed(_pg_server_url):
    """The real bench, small: an ingest slowed to ~150 heartbeats/s (one batch of 10 at a time, a
    pause before each COMMIT), offered twice that. Heartbeats must be shed (hbi to the hbo units),
    every alarm answered HOLD, opened once, none answered busy."""
    env = {
        **os.environ,
        "LIFELINE_INGEST_SHED_HEARTBEATS_BACKLOG": "20",
        "LIFELINE_INGEST_BATCH_MAX": "10",
        "LIFELINE_INGEST_CONCURRENCY": "1",
        "LIFELINE_INGEST_FAULT_PAUSE_BEFORE_COMMIT_S": "0.05",
        "LIFELINE_LOG_LEVEL": "ERROR",
    }
    args = ["--capacity", "150", "--seconds", "3", "--units", "200", "--generators", "1"]
    args += ["--retransmit", "5", "--grace", "30", "--drain", "20", "--no-baseline", "--pg", _pg_server_url]
    run = subprocess.run(
        ["nice", "-n", "19", sys.executable, "-m", "simulators.bench_overload", *args],
        env=env, capture_output=True, text=True, timeout=240, check=False,
    )  # fmt: skip
    report = run.stdout
    assert run.returncode == 0, report + run.stderr[-2000:]
    assert (
        "alarms lost 0 " in report
        and "opened once 30 of 30" in report
        and "answered busy (snu 6) 0 " in report
    )
    shed = int(report.split("shed snu 6 ")[1].split()[0])
    assert shed > 100, report  # it really was overloaded
    assert "wrong or missing hbi 0)" in report
