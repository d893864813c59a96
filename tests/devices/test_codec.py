"""Tests of the pure wire-protocol codec (devices.protocol)."""

from __future__ import annotations

import dataclasses
import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from devices.protocol import (
    KNOWN_TAGS,
    CodecError,
    DeviceCategory,
    GeoFix,
    Mrq,
    Mrs,
    Rejection,
    StatusCategory,
    cid_from_topic,
    decode_mrq,
    device_category,
    device_type_name,
    encode_mrs,
    mrq_subscription,
    mrq_topic,
    mrs_topic,
    normalise_code,
    reply_topic,
    restored_failure,
    status_category,
    status_name,
)

CID = "4401234"


def payload(**tags: Any) -> bytes:
    return json.dumps(tags).encode()


def accepted(data: bytes, topic_cid: str | None = CID) -> Mrq:
    result = decode_mrq(data, topic_cid)
    assert isinstance(result, Mrq), result
    return result


def rejected(data: bytes, topic_cid: str | None = CID) -> Rejection:
    result = decode_mrq(data, topic_cid)
    assert isinstance(result, Rejection), result
    return result


# --- codes --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "code"), [("2", "0002"), (102, "0102"), ("0010", "0010"), (" 9 ", "0009"), (0, "0000")]
)
def test_normalise_code_pads_to_four_digits(raw: str | int, code: str) -> None:
    assert normalise_code(raw) == code


@pytest.mark.parametrize("raw", ["12345", "ab", "", "1a", "١٢", -1, 10000, True, 1.5, None])
def test_normalise_code_rejects_non_codes(raw: Any) -> None:
    with pytest.raises(CodecError):
        normalise_code(raw)


def test_device_type_names_known_and_unknown() -> None:
    assert device_type_name("3") == "pendant / personal trigger"
    assert device_type_name(51) == "tracking unit (mobile GPS)"
    assert device_type_name("99") == "device type 0099"


def test_status_names_known_vendor_and_unknown() -> None:
    assert status_name("10") == "alarm (manual)"
    assert status_name(950) == "vendor-specific status 0950"
    assert status_name("0500") == "status 0500"


@pytest.mark.parametrize(
    ("stc", "category"),
    [
        (None, StatusCategory.ALARM),
        ("9", StatusCategory.ALARM),
        ("0010", StatusCategory.ALARM),
        ("0016", StatusCategory.TECHNICAL),
        (112, StatusCategory.TECHNICAL),
        ("0125", StatusCategory.TECHNICAL),
        ("0102", StatusCategory.TEST),
        ("0082", StatusCategory.PILL),
        ("0093", StatusCategory.RESET),
        ("0117", StatusCategory.ACTIVITY),
        ("0950", StatusCategory.OTHER),
    ],
)
def test_status_category_classifies_codes(stc: str | int | None, category: StatusCategory) -> None:
    assert status_category(stc) == category


@pytest.mark.parametrize(
    ("dty", "category"),
    [
        ("0023", DeviceCategory.ENVIRONMENTAL),
        ("33", DeviceCategory.ENVIRONMENTAL),
        ("0003", DeviceCategory.PERSONAL),
        (51, DeviceCategory.PERSONAL),
        ("0012", DeviceCategory.ACTIVITY),
        ("0001", DeviceCategory.OTHER),
    ],
)
def test_device_category_classifies_types(dty: str | int, category: DeviceCategory) -> None:
    assert device_category(dty) == category


def test_restore_codes_name_the_failure_they_clear() -> None:
    assert restored_failure("112") == "0023"
    assert restored_failure("0086") == "0085"
    assert restored_failure("0023") is None
    assert restored_failure(None) is None


# --- accepted messages ----------------------------------------------------------


def test_protocol_examples_are_accepted() -> None:
    alarm = accepted(
        b'{"ref":"A1B2C3","cid":"4401234","dty":"0003","stc":"0010","did":"P1","tim":"2026-11-22T18:40:00+00:00"}'
    )
    assert (alarm.ref, alarm.dty, alarm.stc, alarm.did, alarm.mty) == ("A1B2C3", "0003", "0010", "P1", "ME")
    assert alarm.tim == datetime(2026, 11, 22, 18, 40, tzinfo=UTC)
    assert accepted(b'{"ref":"HB00917","cid":"4401234","dty":"0001","mty":"PI"}').mty == "PI"
    assert accepted(b'{"ref":"A1B2C3","cid":"4401234","dty":"0003","mty":"RE"}').mty == "RE"
    mobile = accepted(
        b'{"ref":"M77","cid":"4409999","dty":"0051","stc":"0010",'
        b'"lge":{"geo":"52.2053,0.1218","tim":"2026-11-22T18:41:07+00:00"}}',
        "4409999",
    )
    assert mobile.lge == GeoFix(52.2053, 0.1218, datetime(2026, 11, 22, 18, 41, 7, tzinfo=UTC))


def test_integer_and_unpadded_codes_are_normalised() -> None:
    mrq = accepted(payload(ref="R1", cid=4401234, dty=3, stc="102", pri="2"))
    assert (mrq.cid, mrq.dty, mrq.stc, mrq.pri) == (CID, "0003", "0102", 2)


def test_defaults_when_optional_tags_absent() -> None:
    mrq = accepted(payload(ref="R1", cid=CID, dty="3"))
    assert mrq == Mrq(ref="R1", cid=CID, dty="0003")
    assert (mrq.mty, mrq.ver, mrq.crd, mrq.extra, mrq.fmt) == ("ME", "01.00", [], {}, "json")


def test_empty_stc_counts_as_absent_meaning_alarm() -> None:
    mrq = accepted(payload(ref="R1", cid=CID, dty="3", stc=""))
    assert mrq.stc is None
    assert status_category(mrq.stc) == StatusCategory.ALARM


def test_lower_case_mty_is_accepted() -> None:
    assert accepted(payload(ref="R1", cid=CID, dty="3", mty="in")).mty == "IN"


def test_unknown_tags_are_kept_as_is() -> None:
    mrq = accepted(payload(ref="R1", cid=CID, dty="3", zzz={"a": [1, 2]}, vnd="x"))
    assert mrq.extra == {"zzz": {"a": [1, 2]}, "vnd": "x"}


def test_unknown_xml_tags_are_kept_with_repeats_as_lists() -> None:
    mrq = accepted(b"<mrq><ref>R1</ref><cid>4401234</cid><dty>3</dty><v>a</v><v>b</v><n><k>1</k></n></mrq>")
    assert mrq.extra == {"v": ["a", "b"], "n": {"k": "1"}}


@pytest.mark.parametrize(
    ("crd", "expected"), [("gsm:+441", ["gsm:+441"]), (["gsm:+441", "sip:a@b"], ["gsm:+441", "sip:a@b"])]
)
def test_crd_is_always_a_list(crd: Any, expected: list[str]) -> None:
    assert accepted(payload(ref="R1", cid=CID, dty="3", crd=crd)).crd == expected


def test_repeated_xml_crd_becomes_a_list() -> None:
    mrq = accepted(
        b"<mrq><ref>R1</ref><cid>4401234</cid><dty>3</dty><crd>gsm:+441</crd><crd>no-voice:</crd></mrq>"
    )
    assert mrq.crd == ["gsm:+441", "no-voice:"]


def test_lge_fix_time_is_converted_to_utc_and_optional() -> None:
    lge = {"geo": " -33.5 , 151.25 ", "tim": "2026-11-22T19:41:07+01:00"}
    assert accepted(payload(ref="R1", cid=CID, dty="51", lge=lge)).lge == GeoFix(
        -33.5, 151.25, datetime(2026, 11, 22, 18, 41, 7, tzinfo=UTC)
    )
    assert accepted(payload(ref="R1", cid=CID, dty="51", lge={"geo": "1,2"})).lge == GeoFix(1.0, 2.0, None)


def test_json_and_xml_of_the_same_message_decode_equal() -> None:
    as_json = accepted(
        payload(
            ref="A1",
            cid=CID,
            dty=3,
            stc="10",
            mty="IN",
            did="P1",
            dco="2",
            dte="pendant",
            stt="help",
            pri=5,
            cha="1",
            crd=["gsm:+441", "sip:x@y"],
            lco="7",
            lva="3",
            lte="bathroom",
            lge={"geo": "52.2,0.12", "tim": "2026-11-22T18:41:07Z"},
            hbo="001",
            ver="01.00",
            tim="2026-11-22T18:40:00+00:00",
            vnd="x",
        )
    )
    as_xml = accepted(
        b"<?xml version='1.0' encoding='UTF-8'?>\n<mrq>\n <ref>A1</ref><cid>4401234</cid><dty>0003</dty>"
        b"<stc>0010</stc><mty>IN</mty><did>P1</did><dco>2</dco><dte>pendant</dte><stt>help</stt>"
        b"<pri>5</pri><cha>1</cha><crd>gsm:+441</crd><crd>sip:x@y</crd><lco>7</lco><lva>3</lva>"
        b"<lte>bathroom</lte><lge><geo>52.2,0.12</geo><tim>2026-11-22T18:41:07+00:00</tim></lge>"
        b"<hbo>001</hbo><ver>01.00</ver><tim>2026-11-22T18:40:00Z</tim><vnd>x</vnd>\n</mrq>"
    )
    assert as_xml.fmt == "xml"
    assert dataclasses.replace(as_xml, fmt="json") == as_json
    assert as_xml.content_digest() == as_json.content_digest()
    assert as_json.accepts_hbi and as_json.callback_requested


def test_namespaced_xml_tags_are_read_by_local_name() -> None:
    mrq = accepted(b'<mrq xmlns="urn:x"><ref>R1</ref><cid>4401234</cid><dty>3</dty></mrq>')
    assert (mrq.ref, mrq.dty) == ("R1", "0003")


def test_topic_check_is_skipped_without_topic_cid() -> None:
    assert accepted(payload(ref="R1", cid="999", dty="3"), topic_cid=None).cid == "999"


def test_str_and_bytearray_payloads_are_accepted() -> None:
    text = payload(ref="R1", cid=CID, dty="3").decode()
    assert accepted(text).ref == "R1"  # type: ignore[arg-type]
    assert accepted(bytearray(text.encode())).ref == "R1"  # type: ignore[arg-type]


def test_to_dict_is_json_safe_and_round_trips() -> None:
    mrq = accepted(
        payload(ref="R1", cid=CID, dty="51", crd="gsm:+1", lge={"geo": "1,2", "tim": "2026-01-01T00:00Z"})
    )
    stored = json.loads(json.dumps(mrq.to_dict()))
    assert Mrq.from_dict(stored) == mrq


def test_content_digest_ignores_ref_and_format_but_not_content_or_mty() -> None:
    base = accepted(payload(ref="R1", cid=CID, dty="3", mty="IN", stt="first"))
    assert base.content_digest() == dataclasses.replace(base, ref="R2", fmt="xml").content_digest()
    assert base.content_digest() != dataclasses.replace(base, stt="second").content_digest()
    assert base.content_digest() != dataclasses.replace(base, mty="RE").content_digest()
    assert len(base.content_digest()) == 64


# --- rejections ---------------------------------------------------------------


def test_payload_over_limit_gets_snu_1_with_sniffed_ref() -> None:
    big = payload(ref="R1", cid=CID, dty="3", pad="x" * 9000)
    rej = rejected(big)
    assert (rej.snu, rej.reason, rej.ref) == (1, "too_long", "R1")


def test_payload_at_exact_limit_is_accepted() -> None:
    data = payload(ref="R1", cid=CID, dty="3", pad="")
    data = payload(ref="R1", cid=CID, dty="3", pad="x" * (8192 - len(data)))
    assert len(data) == 8192
    assert accepted(data).ref == "R1"


@pytest.mark.parametrize(
    "data",
    [
        b"\xff\xfe{}",
        b"not json",
        b'{"ref": "R1",',
        b"[1, 2]",
        b'"R1"',
        b"",
        b"<mrq><ref>R1</ref>",
        b"<mrs><ref>R1</ref></mrs>",
        b"<mrq>&undefined;</mrq>",
    ],
)
def test_unparseable_payload_gets_snu_2(data: bytes) -> None:
    rej = rejected(data)
    assert (rej.snu, rej.reason) == (2, "invalid_format")


@pytest.mark.parametrize("escaped", [b"\\ud800", b"\\u0000"])
def test_unpaired_surrogate_or_nul_escape_gets_snu_2(escaped: bytes) -> None:
    rej = rejected(b'{"ref":"R1","cid":"4401234","dty":"3","stt":"a' + escaped + b'"}')
    assert (rej.snu, rej.reason, rej.ref) == (2, "invalid_format", "R1")


def test_invalid_format_reply_recovers_ref_and_format_when_possible() -> None:
    rej = rejected(b"<mrq><ref>R1</ref><cid>4401234</cid>")
    assert (rej.ref, rej.fmt) == ("R1", "xml")
    assert rejected(b'{"ref":"R2","cid":').ref == "R2"


@pytest.mark.parametrize(
    "data",
    [
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]>'
        b"<mrq><ref>&lol2;</ref></mrq>",
        b'<!doctype mrq SYSTEM "file:///etc/passwd"><mrq><ref>R1</ref></mrq>',
        b'<mrq><ref>R1</ref><!ENTITY x "y"></mrq>',
    ],
)
def test_doctype_and_entity_declarations_are_refused(data: bytes) -> None:
    rej = rejected(data)
    assert (rej.snu, rej.reason, rej.fmt) == (2, "invalid_format", "xml")
    assert "DOCTYPE" in rej.detail


@pytest.mark.parametrize(
    "tags",
    [
        {"cid": CID, "dty": "3"},
        {"ref": "", "cid": CID, "dty": "3"},
        {"ref": None, "cid": CID, "dty": "3"},
        {"ref": "A" * 17, "cid": CID, "dty": "3"},
        {"ref": "A-1", "cid": CID, "dty": "3"},
        {"ref": ["A1"], "cid": CID, "dty": "3"},
        {"ref": True, "cid": CID, "dty": "3"},
    ],
)
def test_missing_or_unusable_ref_gets_snu_10(tags: dict[str, Any]) -> None:
    rej = rejected(json.dumps(tags).encode())
    assert (rej.snu, rej.reason, rej.ref) == (10, "missing_ref", None)


def test_repeated_ref_gets_snu_10() -> None:
    assert rejected(b'{"ref":"A1","ref":"A2","cid":"4401234","dty":"3"}').snu == 10
    assert rejected(b"<mrq><ref>A1</ref><ref>A2</ref><cid>4401234</cid><dty>3</dty></mrq>").snu == 10


def test_integer_ref_is_accepted_as_text() -> None:
    assert accepted(payload(ref=12345, cid=CID, dty="3")).ref == "12345"


@pytest.mark.parametrize(
    ("data", "tag"),
    [
        (payload(ref="R1", dty="3"), "cid"),
        (payload(ref="R1", cid=CID), "dty"),
        (payload(ref="R1", cid=" ", dty="3"), "cid"),
        (b"<mrq><ref>R1</ref><cid>4401234</cid><dty/></mrq>", "dty"),
    ],
)
def test_missing_cid_or_dty_gets_snu_7_addressed_to_ref(data: bytes, tag: str) -> None:
    rej = rejected(data)
    assert (rej.snu, rej.reason, rej.ref) == (7, "missing_tag", "R1")
    assert f"'{tag}'" in rej.detail


def test_cid_differing_from_topic_gets_snu_3_cid_mismatch() -> None:
    rej = rejected(payload(ref="R1", cid="4409999", dty="3"))
    assert (rej.snu, rej.reason, rej.ref) == (3, "cid_mismatch", "R1")


@pytest.mark.parametrize(
    ("tags", "tag"),
    [
        ({"cid": "44x1"}, "cid"),
        ({"cid": -5}, "cid"),
        ({"cid": 44.0}, "cid"),
        ({"dty": "12345"}, "dty"),
        ({"dty": "smoke"}, "dty"),
        ({"dty": 3.0}, "dty"),
        ({"stc": "1o"}, "stc"),
        ({"pri": 10}, "pri"),
        ({"pri": "x"}, "pri"),
        ({"pri": True}, "pri"),
        ({"mty": "XX"}, "mty"),
        ({"did": {"a": 1}}, "did"),
        ({"crd": ["gsm:+1", 5]}, "crd"),
        ({"lge": "52.2,0.12"}, "lge"),
        ({"lge": {"tim": "2026-11-22T18:41:07+00:00"}}, "lge.geo"),
        ({"lge": {"geo": "52.2"}}, "lge.geo"),
        ({"lge": {"geo": "nan,0"}}, "lge.geo"),
        ({"lge": {"geo": "91,0"}}, "lge.geo"),
        ({"lge": {"geo": "1,2", "tim": "yesterday"}}, "lge.tim"),
        ({"tim": "2026-11-22T18:40:00"}, "tim"),
        ({"tim": "not a time"}, "tim"),
        ({"tim": 1700000000}, "tim"),
    ],
)
def test_bad_value_gets_snu_3_naming_the_tag(tags: dict[str, Any], tag: str) -> None:
    rej = rejected(json.dumps({"ref": "R1", "cid": CID, "dty": "3", **tags}).encode())
    assert (rej.snu, rej.reason, rej.ref) == (3, "bad_value", "R1")
    assert f"'{tag}'" in rej.detail


def test_duplicate_known_tag_gets_snu_3() -> None:
    assert rejected(b'{"ref":"R1","cid":"4401234","dty":"3","stc":"10","stc":"16"}').snu == 3
    assert rejected(b"<mrq><ref>R1</ref><cid>4401234</cid><dty>3</dty><dty>4</dty></mrq>").snu == 3


def test_known_xml_tag_with_child_elements_gets_snu_3() -> None:
    assert rejected(b"<mrq><ref>R1</ref><cid>4401234</cid><dty><x>3</x></dty></mrq>").snu == 3


def test_deep_nesting_gets_snu_3() -> None:
    assert rejected(b'{"ref":"R1","x":' + b"[" * 50 + b"]" * 50 + b"}").snu == 3


def test_nesting_is_judged_at_exactly_the_limit_and_brackets_in_text_do_not_count() -> None:
    def nested(levels: int, text: str = "") -> bytes:  # the message itself is the first level
        inner = b"[" * (levels - 1) + b"]" * (levels - 1)
        return (
            json.dumps({"ref": "R1", "cid": CID, "dty": "3", "stt": text}).encode()[:-1]
            + b',"x":'
            + inner
            + b"}"
        )

    assert isinstance(decode_mrq(nested(32), CID), Mrq)
    assert (rejected(nested(33)).snu, rejected(nested(33)).reason) == (3, "bad_value")
    assert isinstance(decode_mrq(nested(2, "{[" * 40), CID), Mrq)  # brackets in a string are text


@pytest.mark.parametrize("where", ["key", "nested value", "nested key"])
def test_a_nul_escape_anywhere_gets_snu_2(where: str) -> None:
    extra = {"key": b'"a\\u0000":1', "nested value": b'"x":["\\u0000"]', "nested key": b'"x":{"\\ud800":1}'}[
        where
    ]
    rej = rejected(b'{"ref":"R1","cid":"4401234","dty":"3",' + extra + b"}")
    assert (rej.snu, rej.reason) == (2, "invalid_format")


def test_a_known_tag_name_repeated_inside_a_nested_value_is_not_a_repeated_tag() -> None:
    mrq = decode_mrq(b'{"ref":"R1","cid":"4401234","dty":"3","x":{"stc":"1","stc":"2"}}', CID)
    assert isinstance(mrq, Mrq) and mrq.stc is None and mrq.extra == {"x": {"stc": "2"}}
    assert json.loads(json.dumps(mrq.to_dict()))["extra"] == {"x": {"stc": "2"}}


def test_an_unknown_tag_given_twice_is_kept_once_and_a_known_one_is_refused() -> None:
    mrq = decode_mrq(b'{"ref":"R1","cid":"4401234","dty":"3","x":1,"x":2}', CID)
    assert isinstance(mrq, Mrq) and mrq.extra == {"x": 2}  # the last value, as JSON readers do
    rej = rejected(b'{"ref":"R1","cid":"4401234","dty":"3","x":{"a":1,"a":2},"ref":"R1"}')
    assert (rej.snu, rej.reason) == (10, "missing_ref")
    assert rejected(b'{"ref":"R1","x":' + b"[" * 4000 + b"]" * 4000 + b"}", None).snu == 3
    assert rejected(b"<mrq><ref>R1</ref>" + b"<a>" * 40 + b"</a>" * 40 + b"</mrq>").snu == 3


def test_non_bytes_payload_is_rejected_not_raised() -> None:
    assert rejected(None).snu == 2  # type: ignore[arg-type]


def test_rejection_becomes_mrs_with_its_ref_and_snu() -> None:
    mrs = rejected(payload(ref="R1", cid="9", dty="3")).to_mrs()
    assert (mrs.ref, mrs.snu) == ("R1", 3)


# --- mrs encoding and topics ----------------------------------------------------


def test_mrs_encodes_as_compact_json() -> None:
    assert encode_mrs(Mrs("A1", 4, "hold"), "json") == b'{"ref":"A1","snu":4,"ste":"hold"}'
    assert encode_mrs(Mrs.reply("A1", 0, hbi=60), "json") == b'{"ref":"A1","snu":0,"ste":"OK","hbi":60}'
    assert encode_mrs(Mrs.reply(None, 10), "json") == b'{"ref":"","snu":10,"ste":"reference missing"}'


@given(st.one_of(st.none(), st.text()), st.text(), st.one_of(st.none(), st.integers(1, 1440)))
def test_mrs_json_is_what_a_json_writer_writes(ref: str | None, ste: str, hbi: int | None) -> None:
    fields = {"ref": ref or "", "snu": 3, "ste": ste} | ({} if hbi is None else {"hbi": hbi})
    expected = json.dumps(fields, separators=(",", ":"), ensure_ascii=False).encode("utf-8", "replace")
    assert encode_mrs(Mrs(ref, 3, ste, hbi), "json") == expected


def test_mrs_encodes_as_escaped_xml() -> None:
    assert encode_mrs(Mrs("A1", 0, "OK"), "xml") == b"<mrs><ref>A1</ref><snu>0</snu><ste>OK</ste></mrs>"
    data = encode_mrs(Mrs("A1", 3, "a<b & 'c'\x00", hbi=15), "xml")
    root = ET.fromstring(data)  # noqa: S314 - our own output
    assert [(child.tag, child.text) for child in root] == [
        ("ref", "A1"),
        ("snu", "3"),
        ("ste", "a<b & 'c'"),
        ("hbi", "15"),
    ]


def test_mrs_refuses_bad_hbi_snu_and_format() -> None:
    with pytest.raises(ValueError):
        Mrs("A1", 0, hbi=0)
    with pytest.raises(ValueError):
        Mrs("A1", 0, hbi=1441)
    with pytest.raises(ValueError):
        Mrs("A1", 8)
    with pytest.raises(ValueError):
        encode_mrs(Mrs("A1", 0), "yaml")


def test_topics_follow_the_contract() -> None:
    assert mrq_topic(CID) == "lifeline/4401234/mrq"
    assert mrs_topic(CID) == "lifeline/4401234/mrs"
    assert cid_from_topic("lifeline/4401234/mrq") == CID
    assert cid_from_topic("lifeline/44x/mrq") is None
    assert cid_from_topic("lifeline/4401234/mrs") is None


# --- properties -----------------------------------------------------------------

ALLOWED_SNU = {1, 2, 3, 7, 10}
any_text = st.text(st.characters(exclude_categories=()), max_size=20)  # includes surrogates and NUL

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**20), 10**20) | st.floats(allow_nan=False) | any_text,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(any_text, children, max_size=4),
    max_leaves=20,
)
tag_names = st.sampled_from(sorted(KNOWN_TAGS)) | any_text
mrq_like = st.dictionaries(tag_names, json_values | st.sampled_from(["R1", CID, "3", "0010", "52,1", "001"]))


def assert_well_formed(result: object) -> None:
    assert isinstance(result, Mrq | Rejection)
    if isinstance(result, Rejection):
        assert result.snu in ALLOWED_SNU
        assert result.fmt in ("json", "xml")
        encode_mrs(result.to_mrs(), result.fmt)
    else:
        json.dumps(result.to_dict())
        result.content_digest()


@given(st.binary(max_size=10_000))
def test_arbitrary_bytes_never_raise(data: bytes) -> None:
    assert_well_formed(decode_mrq(data, CID, max_bytes=4096))


@given(json_values)
def test_arbitrary_json_never_raises(value: Any) -> None:
    assert_well_formed(decode_mrq(json.dumps(value).encode(), CID))


@given(mrq_like, st.sampled_from([CID, None]))
def test_arbitrary_mrq_like_objects_never_raise(tags: dict[str, Any], topic_cid: str | None) -> None:
    assert_well_formed(decode_mrq(json.dumps(tags).encode(), topic_cid))


@given(st.dictionaries(st.sampled_from(sorted(KNOWN_TAGS)), st.text(max_size=12)))
def test_arbitrary_xml_mrq_never_raises(tags: dict[str, str]) -> None:
    body = "".join(f"<{name}>{text}</{name}>" for name, text in tags.items())
    assert_well_formed(decode_mrq(f"<mrq>{body}</mrq>".encode("utf-8", "surrogatepass"), CID))


def test_topics_take_the_configured_root_and_shared_group() -> None:
    assert mrq_topic(CID, "lt1") == "lt1/4401234/mrq"
    assert mrs_topic(CID, "a/b") == "a/b/4401234/mrs"
    assert cid_from_topic("lt1/4401234/mrq", "lt1") == CID
    assert cid_from_topic("lifeline/4401234/mrq", "lt1") is None
    assert cid_from_topic("a/b/4401234/mrq", "a/b") == CID
    assert mrq_subscription("lt1") == "lt1/+/mrq"
    assert mrq_subscription("lt1", "arc") == "$share/arc/lt1/+/mrq"
    assert reply_topic("lt1/4401234/mrq") == "lt1/4401234/mrs"


@pytest.mark.parametrize(
    "text, kept",
    [("1e999", "1e999"), ("-1E+400", "-1E+400"), ("NaN", "NaN"), ("-Infinity", "-Infinity"), ("2.5", 2.5)],
)
def test_a_number_no_double_holds_in_an_unknown_tag_is_kept_as_its_text(text: str, kept) -> None:
    mrq = accepted(b'{"ref":"R1","cid":"4401234","dty":"3","x":[' + text.encode() + b"]}")
    assert mrq.extra == {"x": [kept]}
    assert json.loads(json.dumps(mrq.extra, allow_nan=False)) == {"x": [kept]}  # storable in JSONB


def test_a_non_finite_number_in_a_known_tag_is_judged_as_text() -> None:
    assert (rejected(b'{"ref":NaN,"cid":"4401234","dty":"3"}').snu, rejected(b'{"ref":1e999}').ref) == (
        10,
        None,
    )
    rej = rejected(b'{"ref":"R1","cid":"4401234","dty":NaN}')
    assert (rej.snu, rej.reason, rej.ref) == (3, "bad_value", "R1")


def test_the_stored_form_is_the_message_without_its_absent_fields() -> None:
    full = decode_mrq(
        json.dumps(
            {
                "ref": "F1",
                "cid": "42",
                "dty": "3",
                "mty": "IN",
                "did": "D1",
                "dco": "x",
                "dte": "y",
                "stc": "10",
                "stt": "t",
                "pri": 0,
                "cha": "1",
                "crd": ["c"],
                "lco": "l",
                "lva": "v",
                "lte": "e",
                "lge": {"geo": "1,2"},
                "hbo": "001",
                "ver": "02.00",
                "tim": "2026-01-01T00:00:00Z",
                "vendor": 1,
            }
        ).encode(),
        "42",
    )
    assert isinstance(full, Mrq)
    assert set(full.stored_dict()) == set(full.to_dict())  # every field the unit gave is kept
    assert full.stored_dict() == full.to_dict()
    minimal = decode_mrq(b'{"ref":"M1","cid":"42","dty":"1","mty":"PI"}', "42")
    assert minimal.stored_dict() == {
        "ref": "M1",
        "cid": "42",
        "dty": "0001",
        "mty": "PI",
        "ver": "01.00",
        "fmt": "json",
    }
    assert minimal.stored_dict() == {k: v for k, v in minimal.to_dict().items() if v not in (None, [], {})}
