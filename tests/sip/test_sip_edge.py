"""The SIP edge's own answers: OPTIONS, oversize and unreadable bodies, floods from one address."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket

import pytest
from sqlalchemy import func, select

from arc.ingest.models import InboxMessage, RejectedMessage
from simulators.sip import Exchange, options
from tests.sip.test_sip_units import mrq


@pytest.fixture
def pike_density() -> int:
    return 20  # requests per 2 s from one address (the shipped default is 30)


async def test_options_is_answered_with_what_the_edge_takes(edge):
    assert await asyncio.to_thread(options, ("127.0.0.1", edge.port)) == 200


async def test_oversize_bodies_are_refused_at_the_edge_and_never_stored(provisioned, sip_unit, session, edge):
    unit, password = await provisioned()
    tcp_unit = sip_unit(unit.cid, password, transport="t1")
    large = mrq("BIG1", unit.cid, dty="0003", dte="x" * 12_000)
    result = await tcp_unit.run([Exchange(large, authenticate=False, expect=413)], linger=0.2)
    assert result.answers == [413], result.log
    huge = mrq("BIG2", unit.cid, dty="0003", dte="x" * 100_000)
    result = await tcp_unit.run([Exchange(huge, authenticate=False, expect=413)], linger=0.2, within=4)
    assert result.answers == [] and result.mrs == []  # past the SIP buffer: the connection is dropped
    assert await session.scalar(select(func.count()).select_from(InboxMessage)) == 0
    assert await asyncio.to_thread(options, ("127.0.0.1", edge.port), source="127.0.0.3") == 200


async def test_a_body_that_is_not_scaip_is_answered_snu_2_and_set_aside(provisioned, sip_unit, session):
    unit, password = await provisioned()
    result = await sip_unit(unit.cid, password).run([Exchange("hello, is this the ARC?")], expect_mrs=1)
    assert result.answers == [401, 200], result.log
    assert json.loads(result.mrs[0])["snu"] == 2
    rejected = (await session.scalars(select(RejectedMessage))).all()
    assert [(r.cid, r.snu) for r in rejected] == [(unit.cid, 2)]


def burst(target: tuple[str, int], count: int) -> int:
    """Send ``count`` OPTIONS back to back from one socket; how many were answered."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        for n in range(count):
            sock.sendto(
                (
                    f"OPTIONS sip:arc@{target[0]}:{target[1]} SIP/2.0\r\n"
                    f"Via: SIP/2.0/UDP 127.0.0.1:{port};rport;branch=z9hG4bKflood{n}\r\n"
                    f"From: <sip:flood@127.0.0.1>;tag=f{n}\r\nTo: <sip:arc@{target[0]}>\r\n"
                    f"Call-ID: flood{n}@127.0.0.1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
                ).encode(),
                target,
            )
        sock.settimeout(0.5)
        answered = 0
        with contextlib.suppress(TimeoutError):
            while True:
                sock.recvfrom(65535)
                answered += 1
        return answered


async def test_a_flood_from_one_address_is_cut_off_while_other_units_are_served(edge):
    target = ("127.0.0.1", edge.port)
    answered = await asyncio.to_thread(burst, target, 200)
    assert 0 < answered < 100  # over its budget the flooding address is ignored
    assert await asyncio.to_thread(options, target) is None  # and stays ignored while it floods
    assert await asyncio.to_thread(options, target, source="127.0.0.2") == 200
