"""Scenario files: every shipped one parses, a bad one is refused naming its step, and a run over
the real broker against the real ingest gets the answers a person would expect."""

from __future__ import annotations

import asyncio
import io
import os
import subprocess
import sys

import pytest
from sqlalchemy import select

from arc.alarms.models import Alarm
from simulators.cli import list_scenarios
from simulators.scenario import ScenarioError, load, parse, shipped_names
from simulators.scenario_run import Runner
from tests.factories import create_connection, create_customer, create_unit


@pytest.mark.parametrize("name", shipped_names())
def test_every_shipped_scenario_parses_and_is_listed(name):
    scenario = load(name)
    assert scenario.schedule() and scenario.description
    assert name in list_scenarios() and scenario.description in list_scenarios()


def test_enough_scenarios_are_shipped():
    assert {"normal-evening", "mains-failure", "hostile-messages"} <= set(shipped_names())


@pytest.mark.parametrize(
    ("step", "says"),
    [
        ('send = "alarn"', "step 2: 'send' must be one of"),
        ('send = "status"', "step 2: a status step needs an 'stc'"),
        ('send = "alarm"\nunits = 9', "step 2: unit 9 is not one of 1..3"),
        ('send = "alarm"\nstcc = "0010"', "step 2: unknown key 'stcc'"),
        ('send = "alarm"\ntimes = 3', "step 2: 'times' > 1 needs 'every'"),
        ('send = "raw"', "step 2: 'payload' (a string) goes with send = \"raw\""),
    ],
)
def test_a_bad_step_is_refused_with_its_number(step, says):
    text = f'description = "x"\nunits = 3\n[[steps]]\nsend = "heartbeat"\n[[steps]]\n{step}\n'
    with pytest.raises(ScenarioError, match="scenario 'bad' " + says.replace("(", r"\(").replace(")", r"\)")):
        parse(text, "bad")


def test_an_unknown_scenario_names_the_shipped_ones():
    with pytest.raises(ScenarioError, match=r"no scenario 'nope'.*normal-evening"):
        load("nope")


async def _register(session, count: int, base: int) -> None:
    for i in range(count):
        await create_connection(session, await create_customer(session), await create_unit(session, cid=str(base + i)))
    await session.commit()


async def test_normal_evening_over_the_broker_answers_heartbeats_and_holds_alarms(app, session, settings):
    base = 8_100_000 + (id(session) % 10_000) * 10
    await _register(session, 6, base)
    runner = Runner(load("normal-evening"), settings.mqtt_url, settings.mqtt_topic_root, base, speed=10)
    report = await runner.run(out=None)
    assert report.outcomes() == {"answered OK": 19, "held for an operator": 2}
    words = report.in_words()
    assert "19 answered OK, 2 held for an operator" in words and "18 heartbeats, 2 alarms, 1 status" in words
    alarms = list(await session.scalars(select(Alarm)))
    assert len(alarms) == 2 and all(a.status == "queued" for a in alarms)


async def test_hostile_messages_are_refused_by_meaning_and_the_units_still_work(app, session, settings):
    base = 8_300_000 + (id(session) % 10_000) * 10
    await _register(session, 2, base)
    progress = io.StringIO()
    runner = Runner(load("hostile-messages"), settings.mqtt_url, settings.mqtt_topic_root, base, speed=10)
    report = await runner.run(out=progress)
    assert report.outcomes() == {
        "answered OK": 2,  # the heartbeats afterwards
        "refused as unreadable": 2,  # cut-off JSON, the XML entity bomb
        "refused for a missing tag": 1,
        "refused as too long": 1,
        "not answered by the end": 1,  # past the broker's packet cap: never reaches the service
        "sent without a ref (their answers are below)": 2,
    }
    assert report.stray == {"refused as unreadable": 1, "refused for a missing ref": 1}
    assert "hostile-messages:" in progress.getvalue() and "sent 9" in progress.getvalue()
    assert await session.scalar(select(Alarm.id)) is None


async def test_a_unit_naming_another_units_cid_is_refused_and_raises_no_alarm(app, session, settings):
    base = 8_400_000 + (id(session) % 10_000) * 10
    await _register(session, 2, base)
    runner = Runner(load("spoofed-cid"), settings.mqtt_url, settings.mqtt_topic_root, base, speed=10)
    report = await runner.run(out=None)
    assert report.outcomes() == {"answered OK": 3, "refused as wrong data": 2}
    assert "2 spoofed messages" in report.in_words()
    assert await session.scalar(select(Alarm.id)) is None


def _lifeline(settings, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "LIFELINE_MQTT_URL": settings.mqtt_url, "LIFELINE_MQTT_TOPIC_ROOT": settings.mqtt_topic_root}
    return subprocess.run(
        [sys.executable, "-m", "arc.cli", "simulate", *args], env=env, capture_output=True, text=True, timeout=60
    )


def test_lifeline_simulate_list_names_each_scenario_with_its_description(settings):
    done = _lifeline(settings, "--list")
    assert done.returncode == 0
    assert all(f"{name} " in done.stdout for name in shipped_names())
    assert load("storm").description in done.stdout


async def test_lifeline_simulate_scenario_says_what_happened_in_words(app, session, settings):
    base = 8_500_000 + (id(session) % 10_000) * 10
    await _register(session, 2, base)
    done = await asyncio.to_thread(
        _lifeline, settings, "--scenario", "spoofed-cid", "--speed", "10", "--cid-base", str(base)
    )
    assert done.returncode == 0, done.stderr
    assert "3 answered OK, 2 refused as wrong data" in done.stdout
    assert "spoofed-cid: " in done.stderr and "sent 5" in done.stderr  # the description and the progress line


def test_lifeline_simulate_an_unknown_scenario_fails_naming_the_shipped_ones(settings):
    done = _lifeline(settings, "--scenario", "nope")
    assert done.returncode != 0 and "no scenario 'nope'" in done.stderr and "storm" in done.stderr
