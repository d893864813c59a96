"""Operator and responder bots for soak runs, end to end: the real broker, the real ingest and the
service served over HTTP; the bots sign in and work alarms as people do (`lifeline simulate
--operators N --responders M`)."""

from __future__ import annotations

import argparse
import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from arc.alarms import service as alarm_service
from arc.alarms.models import Alarm, AlarmEvent
from arc.auth.models import AuthSession
from arc.dispatch.models import ResponseTask
from arc.ingest.worker import ingest_component
from arc.kit.clock import Clock
from arc.live.stream import live_stream
from simulators import cli
from simulators.bots import BotSession, OperatorBot, Tally, Timings
from simulators.scenario import parse
from simulators.scenario_run import Runner
from tests.factories import create_connection, create_customer, create_unit, create_user

PASSWORD = "staple horse battery 42"
ADMIN_PASSWORD = "admin horse battery 42"
EVENING = """
description = "bots test: a resident falls, another presses the pendant, a third pulls the cord"
units = 3
settle = 30

[[steps]]
at = 0
units = "all"
send = "heartbeat"

[[steps]]
at = 1
units = 1
send = "alarm"
dty = "0005"
did = "F1"

[[steps]]
at = 1
units = [2, 3]
send = "alarm"
dty = "0003"
"""


@pytest.fixture
def clock():
    return Clock()  # real time: "opened -> accepted" is measured on the service's clock


@pytest.fixture
def components() -> list:
    return [live_stream, ingest_component]


async def _register(session, count: int, base: int) -> None:
    for i in range(count):
        customer = await create_customer(session)
        await create_connection(session, customer, await create_unit(session, cid=str(base + i)))
    await session.commit()


def _args(*extra: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    cli.add_arguments(parser)
    return parser.parse_args(list(extra))


async def _accepts_per_alarm(session) -> Counter:
    rows = await session.execute(
        select(AlarmEvent.alarm_id, func.count()).where(AlarmEvent.type == "accepted").group_by(AlarmEvent.alarm_id)
    )
    return Counter(dict(rows.all()))


async def test_bots_close_every_alarm_and_send_a_responder_to_the_fall(
    live_server, session, settings, tmp_path, monkeypatch, capsys
):
    base = 8_600_000 + (id(session) % 10_000) * 10
    await _register(session, 3, base)
    await create_user(session, role="admin", username="soakadmin", password=ADMIN_PASSWORD)
    await session.commit()
    (tmp_path / "evening.toml").write_text(EVENING)
    monkeypatch.setenv("LIFELINE_BOT_PASSWORD", PASSWORD)
    monkeypatch.setenv("LIFELINE_BOT_ADMIN_PASSWORD", ADMIN_PASSWORD)
    args = _args(
        *("--scenario", str(tmp_path / "evening.toml"), "--speed", "10", "--cid-base", str(base)),
        *("--operators", "2", "--responders", "1", "--api", live_server.url, "--bot-admin", "soakadmin"),
        *("--talk-seconds", "1", "--ers-seconds", "1", "1", "1", "--visit-share", "0", "--drain", "20"),
    )
    await cli.run(settings.mqtt_url, settings.mqtt_topic_root, args)  # no SystemExit: nothing unexpected

    out = capsys.readouterr()
    assert "3 alarms accepted, 1 dispatched to a responder, 1 job done, 3 closed (2 by phone, 1 after" in out.out
    assert "Alarms left open at the end: none." in out.out and "No unexpected answers" in out.out
    assert "Alarm opened -> accepted: p50 " in out.out and "Dispatch -> responder done: p50 " in out.out
    assert "bots: accepted" in out.err  # the progress line
    session.expire_all()
    every = list(await session.scalars(select(Alarm).order_by(Alarm.id)))
    assert len(every) == 3 and all(a.status == "closed" for a in every)
    fall = next(a for a in every if a.dty == "0005")
    assert fall.outcome_code == "ers_attended"
    task = await session.scalar(select(ResponseTask).where(ResponseTask.alarm_id == fall.id))
    assert task.kind == "ers" and task.status == "done" and task.done_at is not None
    assert sorted(a.outcome_code for a in every if a is not fall) == ["assistance_by_phone"] * 2
    assert set((await _accepts_per_alarm(session)).values()) == {1}


async def _two_alarms_held(settings, base: int) -> None:
    """Two alarms stored and held (snu 4) before any operator looks."""
    two = parse('description = "two alarms"\nunits = 2\nsettle = 30\n[[steps]]\nsend = "alarm"\n', "two")
    report = await Runner(two, settings.mqtt_url, settings.mqtt_topic_root, base, speed=10).run(out=None)
    assert report.outcomes() == {"held for an operator": 2}


async def test_two_operator_bots_reaching_for_one_alarm_one_wins_the_other_moves_on(live_server, session, settings):
    base = 8_700_000 + (id(session) % 10_000) * 10
    await _register(session, 2, base)
    operators = [await create_user(session, role="operator", password=PASSWORD) for _ in range(2)]
    await session.commit()
    await _two_alarms_held(settings, base)
    assert await session.scalar(select(func.count()).select_from(Alarm).where(Alarm.status == "queued")) == 2

    tally = Tally()
    sessions = [BotSession(live_server.url, u.username, PASSWORD, tally) for u in operators]
    try:
        bots = []
        for s in sessions:
            await s.login()
            bots.append(OperatorBot(s, Timings(talk_s=0.3), []))
        for bot in bots:
            await bot.resync()
        first = bots[0].next_alarm()
        assert first is not None and bots[1].next_alarm()["id"] == first["id"]  # both see the same first alarm
        await asyncio.gather(*(bot._work(first, ["assistance_by_phone"]) for bot in bots))
    finally:
        for s in sessions:
            await s.aclose()

    assert tally.accepted == 1 and tally.closed == 1
    assert tally.refusals == {"accept: taken": 1} and not tally.failed
    loser = next(bot for bot in bots if first["id"] in bot.refused)
    assert loser.next_alarm()["id"] != first["id"]  # it moves on to the next waiting alarm
    assert (await _accepts_per_alarm(session))[first["id"]] == 1


async def test_a_bot_that_gets_a_500_fails_the_run(live_server, session, settings, tmp_path, monkeypatch, capsys):
    base = 8_800_000 + (id(session) % 10_000) * 10
    await _register(session, 3, base)
    await create_user(session, role="operator", username="bot-operator-1", password=PASSWORD)
    await session.commit()

    async def broken_close(*_args, **_kw):
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(alarm_service, "close", broken_close)
    monkeypatch.setenv("LIFELINE_BOT_PASSWORD", PASSWORD)
    (tmp_path / "evening.toml").write_text(EVENING)
    args = _args(
        *("--scenario", str(tmp_path / "evening.toml"), "--speed", "10", "--cid-base", str(base)),
        *("--operators", "1", "--api", live_server.url, "--talk-seconds", "0.5", "--drain", "3"),
    )
    with pytest.raises(SystemExit) as failed:
        await cli.run(settings.mqtt_url, settings.mqtt_topic_root, args)
    assert failed.value.code == 1
    out = capsys.readouterr().out
    assert "3 alarms accepted" in out and "0 closed" in out
    assert "FAILED: 3 unexpected answers: POST /api/alarms/{id}/close -> 500 internal (x3)" in out
    assert "Alarms left open at the end: 3: #" in out and "held by" in out


def test_bots_need_a_password_and_an_end(monkeypatch):
    monkeypatch.delenv("LIFELINE_BOT_PASSWORD", raising=False)
    with pytest.raises(SystemExit, match="LIFELINE_BOT_PASSWORD"):
        asyncio.run(cli.run("mqtt://127.0.0.1:1", "x", _args("--scenario", "storm", "--operators", "1")))
    with pytest.raises(SystemExit, match="bots need an end"):
        asyncio.run(cli.run("mqtt://127.0.0.1:1", "x", _args("--operators", "1")))


async def test_an_alarm_a_stopped_bot_held_is_finished_by_the_next_run(live_server, session, settings):
    base = 8_900_000 + (id(session) % 10_000) * 10
    await _register(session, 2, base)
    user = await create_user(session, role="operator", password=PASSWORD)
    await session.commit()
    await _two_alarms_held(settings, base)
    held = await session.scalar(select(Alarm.id).order_by(Alarm.id.desc()))

    tally = Tally()
    earlier = BotSession(live_server.url, user.username, PASSWORD, tally)
    await earlier.login()
    await earlier.call("POST", f"/api/alarms/{held}/accept")  # ... and that run was stopped (Ctrl-C)
    await earlier.aclose()
    now = BotSession(live_server.url, user.username, PASSWORD, tally)
    await now.login()
    bot = asyncio.create_task(OperatorBot(now, Timings(talk_s=0.1), []).run())
    try:
        async with asyncio.timeout(20):
            while await session.scalar(select(func.count()).select_from(Alarm).where(Alarm.status != "closed")):
                await asyncio.sleep(0.2)
                session.expire_all()
    finally:
        bot.cancel()
        await asyncio.gather(bot, return_exceptions=True)
        await now.aclose()
    assert tally.accepted == 1 and tally.closed == 2 and not tally.failed  # the held one closed without a 409


async def test_a_bot_whose_session_ran_out_signs_in_again_and_carries_on(live_server, session):
    user = await create_user(session, role="operator", password=PASSWORD)
    await session.commit()
    tally = Tally()
    bot = BotSession(live_server.url, user.username, PASSWORD, tally)
    try:
        await bot.login()
        await session.execute(  # its session reaches the end of its lifetime
            update(AuthSession).where(AuthSession.user_id == user.id).values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
        await session.commit()
        assert (await bot.call("GET", "/api/alarms/queue"))["items"] == []
    finally:
        await bot.aclose()
    assert tally.relogins == 1 and not tally.failed
