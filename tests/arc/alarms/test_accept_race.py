"""Two operators press accept on the same alarm at the same moment: exactly one gets it.

Once inside one app (two requests in flight together, each in its own
transaction) and once across two service processes sharing the database, as in
production behind a load balancer.
"""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from pathlib import Path

import httpx
from sqlalchemy import func, select

from arc.alarms.models import Alarm, AlarmEvent
from arc.auth.service import issue_session
from arc.kit.clock import Clock
from tests.factories import create_alarm, create_user

ROUNDS = 12
REPO = Path(__file__).resolve().parents[3]


async def _check_one_winner(session, alarm_id: int, first, second, names: dict[int, str]) -> int:
    assert sorted([first.status_code, second.status_code]) == [200, 409], (first.text, second.text)
    won, lost = (first, second) if first.status_code == 200 else (second, first)
    winner = won.json()["accepted_by"]
    assert lost.json() == {
        "error": "taken",
        "detail": f"accepted by {names[winner['id']]}",
        "accepted_by": {"id": winner["id"], "name": names[winner["id"]]},
    }
    stored = await session.get(Alarm, alarm_id, populate_existing=True)
    assert stored.accepted_by_id == winner["id"]
    accepted_events = await session.scalar(
        select(func.count())
        .select_from(AlarmEvent)
        .where(AlarmEvent.alarm_id == alarm_id, AlarmEvent.type == "accepted")
    )
    assert accepted_events == 1
    return winner["id"]


async def test_two_operators_accepting_together_exactly_one_wins_the_other_sees_who(
    client_as, session, clock
):
    alarms = [await create_alarm(session, raised_at=clock.now()) for _ in range(ROUNDS)]
    await session.commit()
    ann = await client_as("operator", full_name="Ann Able")
    bob = await client_as("operator", full_name="Bob Baker")
    names = {ann.user.id: "Ann Able", bob.user.id: "Bob Baker"}

    winners = []
    for alarm in alarms:
        first, second = await asyncio.gather(
            ann.post(f"/api/alarms/{alarm.id}/accept"), bob.post(f"/api/alarms/{alarm.id}/accept")
        )
        winners.append(await _check_one_winner(session, alarm.id, first, second, names))
    assert set(winners) <= set(names)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


_SERVE = (
    "import sys, uvicorn\n"
    "from arc.app import create_app\n"
    "from arc.kit.settings import Settings\n"
    "uvicorn.run(create_app(Settings()), host='127.0.0.1', port=int(sys.argv[1]), log_level='warning')\n"
)


async def _start_process(settings) -> tuple[asyncio.subprocess.Process, str]:
    port = _free_port()
    env = {
        **os.environ,
        "LIFELINE_ENV": "test",
        "LIFELINE_DATABASE_URL": settings.database_url,
        "LIFELINE_MQTT_URL": settings.mqtt_url,
        "LIFELINE_MQTT_TOPIC_ROOT": settings.mqtt_topic_root,
        "LIFELINE_SCHEDULER_ENABLED": "false",
    }
    proc = await asyncio.create_subprocess_exec(sys.executable, "-c", _SERVE, str(port), env=env, cwd=REPO)
    return proc, f"http://127.0.0.1:{port}"


async def _wait_ready(url: str, proc) -> None:
    async with httpx.AsyncClient() as probe, asyncio.timeout(30):
        while True:
            assert proc.returncode is None, "service process exited during start-up"
            try:
                if (await probe.get(f"{url}/healthz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)


async def test_two_service_processes_never_both_hand_out_the_same_alarm(db, session, settings):
    real_now = Clock().now()  # the processes run on the wall clock
    alarms = [await create_alarm(session, raised_at=real_now) for _ in range(ROUNDS)]
    ann = await create_user(session, role="operator", full_name="Ann Able")
    bob = await create_user(session, role="operator", full_name="Bob Baker")
    ann_token, _ = await issue_session(session, ann, "api", real_now)
    bob_token, _ = await issue_session(session, bob, "api", real_now)
    await session.commit()
    names = {ann.id: "Ann Able", bob.id: "Bob Baker"}

    procs = [await _start_process(settings), await _start_process(settings)]
    try:
        await asyncio.gather(*(_wait_ready(url, proc) for proc, url in procs))
        (_, url_a), (_, url_b) = procs
        async with (
            httpx.AsyncClient(base_url=url_a, headers={"Authorization": f"Bearer {ann_token}"}) as a,
            httpx.AsyncClient(base_url=url_b, headers={"Authorization": f"Bearer {bob_token}"}) as b,
        ):
            for alarm in alarms:
                first, second = await asyncio.gather(
                    a.post(f"/api/alarms/{alarm.id}/accept"), b.post(f"/api/alarms/{alarm.id}/accept")
                )
                await _check_one_winner(session, alarm.id, first, second, names)
    finally:
        for proc, _ in procs:
            proc.terminate()
        for proc, _ in procs:
            await proc.wait()
