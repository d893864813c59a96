"""A unit over TLS (sipp here is built without TLS): Digest, the mrs back over the unit's own connection."""

from __future__ import annotations

import asyncio
import hashlib
import ssl
import subprocess
import uuid

import pytest

from tests.sip.test_sip_units import mrq, mrs, stored


@pytest.fixture
def tls_cert(tmp_path):
    cert, key = tmp_path / "server.pem", tmp_path / "server.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


@pytest.fixture
async def tls_edge(start_edge, tls_cert):
    return await start_edge(tls_cert=tls_cert)


async def read_sip(reader: asyncio.StreamReader) -> tuple[str, dict[str, str], str]:
    """(start line, headers by lower-case name, body) of the next SIP message on the stream."""
    head = (await reader.readuntil(b"\r\n\r\n")).decode()
    start, *lines = head.strip().split("\r\n")
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return start, headers, body.decode()


def digest(cid: str, password: str, challenge: str, uri: str) -> str:
    params = dict(
        part.strip().split("=", 1) for part in challenge.removeprefix("Digest ").split(",") if "=" in part
    )
    realm, nonce = params["realm"].strip('"'), params["nonce"].strip('"')
    md5 = lambda text: hashlib.md5(text.encode()).hexdigest()  # noqa: E731, S324 - SIP Digest is MD5
    cnonce, nc = uuid.uuid4().hex[:8], "00000001"
    response = md5(f"{md5(f'{cid}:{realm}:{password}')}:{nonce}:{nc}:{cnonce}:auth:{md5(f'MESSAGE:{uri}')}")
    return (
        f'Digest username="{cid}", realm="{realm}", nonce="{nonce}", uri="{uri}", response="{response}", '
        f'algorithm=MD5, qop=auth, nc={nc}, cnonce="{cnonce}"'
    )


async def test_a_unit_over_tls_is_challenged_then_answered_over_its_own_connection(
    provisioned, tls_edge, tls_cert, session
):
    unit, password = await provisioned()
    context = ssl.create_default_context(cafile=str(tls_cert[0]))
    context.check_hostname = False
    reader, writer = await asyncio.open_connection("127.0.0.1", tls_edge.tls_port, ssl=context)
    local = writer.get_extra_info("sockname")
    uri = f"sip:arc@127.0.0.1:{tls_edge.tls_port};transport=tls"
    body = mrq("TL1", unit.cid, dty="0001", mty="PI")

    def message(cseq: int, authorization: str = "") -> bytes:
        auth = f"Authorization: {authorization}\r\n" if authorization else ""
        return (
            f"MESSAGE {uri} SIP/2.0\r\n"
            f"Via: SIP/2.0/TLS {local[0]}:{local[1]};rport;branch=z9hG4bK{uuid.uuid4().hex}\r\n"
            f"Max-Forwards: 70\r\nFrom: <sip:{unit.cid}@127.0.0.1>;tag=tl{cseq}\r\nTo: <sip:arc@127.0.0.1>\r\n"
            f"Call-ID: tls-{unit.cid}@127.0.0.1\r\nCSeq: {cseq} MESSAGE\r\n{auth}"
            f"Content-Type: application/scaip+xml\r\nContent-Length: {len(body)}\r\n\r\n{body}"
        ).encode()

    try:
        async with asyncio.timeout(15):
            writer.write(message(1))
            start, headers, _ = await read_sip(reader)
            assert start == "SIP/2.0 401 Unauthorized"
            writer.write(message(2, digest(unit.cid, password, headers["www-authenticate"], uri)))
            start, _, _ = await read_sip(reader)
            assert start == "SIP/2.0 200 OK"
            # the ARC's answer arrives as a MESSAGE over this same TLS connection
            start, headers, answer = await read_sip(reader)
            assert start.startswith("MESSAGE sip:") and headers["content-type"] == "application/scaip+xml"
            assert mrs(answer) == ("TL1", 0)
            ok = "".join(
                f"{name}: {headers[name.lower()]}\r\n" for name in ("Via", "From", "To", "Call-ID", "CSeq")
            )
            writer.write(f"SIP/2.0 200 OK\r\n{ok}Content-Length: 0\r\n\r\n".encode())
            await writer.drain()
    finally:
        writer.close()
    assert await stored(session, unit.cid) == 1
