"""The lanes are told from the raw payload by pattern: the canonical spelling a unit sends is
found by a quick substring test, and every other spelling JSON and SCAIP XML allow (spaces, case)
still is — a unit that writes ``"MTY" : "pi"`` is still a heartbeat, one that offers ``hbo`` with
spaces is still given its raised interval when shed."""

from __future__ import annotations

import pytest

from arc.ingest.sniff import accepts_hbi, is_heartbeat, is_technical_status


@pytest.mark.parametrize(
    "payload, heartbeat",
    [
        (b'{"ref":"1","cid":"7","dty":"0001","mty":"PI"}', True),
        (b'{"ref":"1", "mty" : "pi"}', True),
        (b'{"ref":"1","MTY":"Pi"}', True),
        (b"<mrq><ref>1</ref><mty> PI </mty></mrq>", True),
        (b'{"ref":"1","cid":"7","dty":"3"}', False),  # an alarm
        (b'{"ref":"1","mty":"ME"}', False),
        (b'{"ref":"1","mty":"PIN"}', False),
    ],
)
def test_a_heartbeat_is_told_in_any_spelling(payload, heartbeat):
    assert is_heartbeat(payload) is heartbeat


@pytest.mark.parametrize(
    "payload, accepts",
    [
        (b'{"mty":"PI","hbo":"001"}', True),
        (b'{"mty":"PI", "hbo" : " 1 "}', True),
        (b'{"mty":"PI","HBO":"01"}', True),
        (b"<mrq><mty>PI</mty><hbo>001</hbo></mrq>", True),
        (b'{"mty":"PI"}', False),
        (b'{"mty":"PI","hbo":"000"}', False),
        (b'{"mty":"PI","dte":"hbo"}', False),
    ],
)
def test_a_unit_that_offers_hbo_is_told_in_any_spelling(payload, accepts):
    assert accepts_hbi(payload) is accepts


def test_a_technical_status_is_not_taken_for_an_alarm_session():
    assert is_technical_status(b'{"ref":"1","stc":"0085"}')  # a technical status
    assert not is_technical_status(b'{"ref":"1","mty":"RE","stc":"0085"}')  # about an alarm's session
    assert not is_technical_status(b'{"ref":"1","dty":"3","stc":"10"}')  # an alarm
