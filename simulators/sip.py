"""SIP units for tests and benchmarks: sipp plays the unit, a real Kamailio is the ARC's edge.

``SippUnit.run`` writes a sipp scenario for a list of ``mrq`` exchanges (each: a
``MESSAGE`` with the SCAIP body, the ``401`` Digest challenge, the ``MESSAGE`` again
with credentials, the final answer), runs Debian's ``sipp`` against the edge and
returns what the unit saw: the status of each answer and every ``mrs`` the ARC sent
it in a ``MESSAGE`` of its own. Those arrive with a Call-ID of their own (a new
request, RFC 3261 8.1.1.4), so sipp takes them in its out-of-call scenario, which
answers ``200 OK``; the message trace shows them all.

``KamailioEdge`` starts ``kamailio`` on ``deploy/kamailio/kamailio.cfg`` on free ports
against a given PostgreSQL database and MQTT topic root, and waits until it answers
``OPTIONS`` and is subscribed to the answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import socket
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

from devices.broker import broker_address

CONFIG = Path(__file__).resolve().parent.parent / "deploy" / "kamailio" / "kamailio.cfg"


def tools_missing() -> list[str]:
    return [tool for tool in ("kamailio", "sipp") if shutil.which(tool) is None]


def free_port() -> int:
    """A port free for both UDP and TCP on 127.0.0.1."""
    for _ in range(50):
        with socket.socket() as tcp:
            tcp.bind(("127.0.0.1", 0))
            port = tcp.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
                try:
                    udp.bind(("127.0.0.1", port))
                except OSError:
                    continue
                return port
    raise RuntimeError("no free port")


# --- the unit (sipp) ----------------------------------------------------------------------


@dataclass
class Exchange:
    """One mrq: its body, whether the unit answers the challenge, the final status it expects."""

    body: str
    authenticate: bool = True
    expect: int = 200
    method: str = "MESSAGE"  # or REGISTER (then the body is ignored)

    def headers(self, cseq: int, auth: str) -> str:
        if self.method == "REGISTER":
            extra = "Contact: <sip:[service]@[local_ip]:[local_port]>\nExpires: 3600\n"
            return _HEADERS.format(
                method="REGISTER", to="[service]", cseq=cseq, extra=extra, auth=auth, body=""
            )
        extra = "Content-Type: application/scaip+xml\n"
        return _HEADERS.format(method="MESSAGE", to="arc", cseq=cseq, extra=extra, auth=auth, body=self.body)


@dataclass
class SippResult:
    returncode: int
    answers: list[int]  # SIP status of every response the unit received, in order
    mrs: list[str]  # bodies of the MESSAGEs the ARC sent the unit, in order
    received_at: list[float] = field(default_factory=list)  # epoch seconds, per mrs
    sent: list[tuple[float, str]] = field(default_factory=list)  # (epoch, whole request) per MESSAGE sent
    log: str = ""


_HEADERS = """{method} sip:{to}@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];rport;branch=[branch]
Max-Forwards: 70
From: <sip:[service]@[remote_ip]>;tag=[pid]Lt[call_number]
To: <sip:{to}@[remote_ip]>
Call-ID: [call_id]
CSeq: {cseq} {method}
User-Agent: lifeline sipp unit
{extra}{auth}Content-Length: [len]

{body}
"""

_OOC = """<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="lifeline unit: answer the ARC's mrs MESSAGE">
  <recv request="MESSAGE"/>
  <send><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:];tag=[pid]Lu[call_number]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0

]]></send>
</scenario>
"""


def scenario(exchanges: list[Exchange], linger_ms: int) -> str:
    """The unit's side (bodies may use [fieldN] of an -inf file: sipp 3.6 takes no injected credentials)."""
    parts = ['<?xml version="1.0" encoding="ISO-8859-1" ?>', '<scenario name="lifeline SCAIP unit">']
    cseq = 1
    for ex in exchanges:
        if "]]>" in ex.body:
            raise ValueError("body may not contain ]]>")
        first = ex.headers(cseq, "")
        parts.append(f'  <send retrans="500"><![CDATA[\n{first}]]></send>')
        cseq += 1
        if not ex.authenticate:
            parts.append(f'  <recv response="{ex.expect}"/>')
            continue
        parts.append('  <recv response="401" auth="true"/>')
        again = ex.headers(cseq, "[authentication]\n")
        parts.append(f'  <send retrans="500"><![CDATA[\n{again}]]></send>')
        cseq += 1
        parts.append(f'  <recv response="{ex.expect}"/>')
    parts.append(f'  <pause milliseconds="{linger_ms}"/>')
    parts.append("</scenario>")
    return "\n".join(parts) + "\n"


_BLOCK = re.compile(r"^-{10,} (?P<stamp>.*)$", re.M)


def body_of(message: str) -> str:
    return message.replace("\r\n", "\n").partition("\n\n")[2].strip()


def parse_trace(text: str) -> tuple[list[int], list[tuple[float, str]], list[tuple[float, str]]]:
    """(response codes received, (epoch, body) per MESSAGE received, (epoch, text) per MESSAGE sent)."""
    answers: list[int] = []
    received: list[tuple[float, str]] = []
    sent: list[tuple[float, str]] = []
    marks = list(_BLOCK.finditer(text))
    for i, mark in enumerate(marks):
        chunk = text[mark.end() : marks[i + 1].start() if i + 1 < len(marks) else len(text)]
        try:  # sipp stamps "YYYY-MM-DD HH:MM:SS.ffffff" (local time; only differences matter)
            epoch = datetime.fromisoformat(mark.group("stamp").strip()).timestamp()
        except ValueError:
            epoch = 0.0
        head, _, rest = chunk.strip("\n").partition("\n")
        message = rest.lstrip("\n")
        inbound = "received" in head
        if inbound and message.startswith("SIP/2.0 "):
            answers.append(int(message.split()[1]))
        elif message.startswith("MESSAGE "):
            if inbound:
                received.append((epoch, body_of(message)))
            else:
                sent.append((epoch, message))
    return answers, received, sent


@dataclass
class SippUnit:
    """A unit with SIP credentials, talking to the edge at ``host:port`` over ``transport`` (u1/t1)."""

    cid: str
    password: str
    host: str
    port: int
    transport: str = "u1"
    username: str | None = None  # the Digest username, if not the cid (a misconfigured unit)

    async def run(
        self,
        exchanges: list[Exchange],
        *,
        expect_mrs: int = 0,
        linger: float = 10.0,
        within: float = 30.0,
        rate: float | None = None,
        calls: int = 1,
        inject: Path | None = None,
        seen: list[str] | None = None,
    ) -> SippResult:
        """Play the exchanges; stay up until ``expect_mrs`` answers arrived (or ``linger`` passed).

        ``seen``, if given, is kept up to date with the mrs bodies received so far."""
        work = Path(tempfile.mkdtemp(prefix="lifeline-sipp-"))
        (work / "unit.xml").write_text(scenario(exchanges, int(linger * 1000)))
        (work / "ooc.xml").write_text(_OOC)
        trace = work / "messages.log"
        args = [
            "sipp",
            f"{self.host}:{self.port}",
            "-sf", str(work / "unit.xml"),
            "-oocsf", str(work / "ooc.xml"),
            "-t", self.transport,
            "-i", "127.0.0.1",
            "-p", str(free_port()),
            "-s", self.cid,
            "-au", self.username or self.cid,
            "-ap", self.password,
            "-m", str(calls),
            "-l", str(max(1, calls)),
            "-recv_timeout", "5000",
            "-timeout", f"{int(within)}s",
            "-timeout_error",
            "-nostdin",
            "-trace_msg", "-message_file", str(trace),
            "-trace_err", "-error_file", str(work / "errors.log"),
        ]  # fmt: skip
        if rate is not None:
            args += ["-r", str(rate)]
        if inject is not None:
            args += ["-inf", str(inject)]
        proc = await asyncio.create_subprocess_exec(
            *args, cwd=work, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
        )
        deadline = time.monotonic() + within
        while proc.returncode is None and time.monotonic() < deadline:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(proc.wait(), 0.1)
            received_so_far = _mrs_received(trace) if expect_mrs or seen is not None else []
            if seen is not None:
                seen[:] = received_so_far
            if expect_mrs and len(received_so_far) >= expect_mrs:
                await asyncio.sleep(0.2)  # let the last 200 OK go out
                break
        stopped_early = proc.returncode is None  # got every answer it waited for, or timed out
        if stopped_early:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()
        stderr = (await proc.stderr.read()).decode(errors="replace") if proc.stderr else ""
        text = trace.read_text(errors="replace") if trace.exists() else ""
        answers, received, sent = parse_trace(text)
        errors = (work / "errors.log").read_text(errors="replace") if (work / "errors.log").exists() else ""
        if not os.environ.get("LIFELINE_KEEP_SIPP"):  # set it to keep sipp's scenario and traces
            shutil.rmtree(work, ignore_errors=True)
        done = stopped_early and bool(expect_mrs) and len(received) >= expect_mrs
        return SippResult(
            returncode=0 if done else proc.returncode if proc.returncode is not None else -1,
            answers=answers,
            mrs=[body for _, body in received],
            received_at=[at for at, _ in received],
            sent=sent,
            log=(stderr + errors)[-4000:],
        )


def _mrs_received(trace: Path) -> list[str]:
    if not trace.exists():
        return []
    _, received, _ = parse_trace(trace.read_text(errors="replace"))
    return [body for _, body in received]


# --- the edge (kamailio) --------------------------------------------------------------------


def kamailio_db_url(database_url: str) -> str:
    """The edge's db_postgres URL for a ``postgresql[+driver]://`` URL (TCP host only)."""
    parts = urlsplit(database_url)
    if not parts.hostname or parts.hostname.startswith("/"):
        raise ValueError("the SIP edge needs PostgreSQL over TCP (host:port)")
    auth = parts.username or "postgres"
    if parts.password:
        auth += f":{parts.password}"
    return f"postgres://{auth}@{parts.hostname}:{parts.port or 5432}{parts.path}"


@dataclass
class KamailioEdge:
    database_url: str
    mqtt_url: str
    topic_root: str
    realm: str = "lifeline"
    pike_density: int = 1000
    workers: int = 2
    port: int = 0
    tls_cert: tuple[Path, Path] | None = None  # (certificate, key): also listen for TLS
    tls_port: int = 0
    extra: list[str] = field(default_factory=list)
    proc: asyncio.subprocess.Process | None = None
    log_path: Path | None = None

    def command(self) -> list[str]:
        mqtt = broker_address(self.mqtt_url)
        run = Path(tempfile.mkdtemp(prefix="lifeline-kamailio-"))
        self.log_path = run / "kamailio.log"
        defines = {
            "LISTEN_IP": "127.0.0.1",
            "SIP_PORT": str(self.port),
            "WORKERS": str(self.workers),
            "PIKE_DENSITY": str(self.pike_density),
            "REALM": f'"{self.realm}"',
            "DB_URL": f'"{kamailio_db_url(self.database_url)}"',
            "MQTT_HOST": f'"{mqtt["hostname"]}"',
            "MQTT_PORT": str(mqtt["port"]),
            "MQTT_ROOT": f'"{self.topic_root}"',
            "MQTT_CLIENT_ID": f'"sip-edge-{uuid.uuid4().hex[:10]}"',
        }
        if mqtt["username"]:
            defines["MQTT_USER"] = f'"{mqtt["username"]}"'
            defines["MQTT_PASSWORD"] = f'"{mqtt["password"] or ""}"'
        if self.tls_cert:
            certificate, key = self.tls_cert
            shipped = (CONFIG.parent / "tls.cfg").read_text()
            tls_cfg = run / "tls.cfg"
            tls_cfg.write_text(
                shipped.replace("/etc/kamailio/certs/server.pem", str(certificate)).replace(
                    "/etc/kamailio/certs/server.key", str(key)
                )
            )
            defines.update({"SIPS_PORT": str(self.tls_port), "TLS_CONFIG": f'"{tls_cfg}"', "WITH_TLS": ""})
        args = ["kamailio", "-DD", "-E", "-f", str(CONFIG), "-m", "64", "-M", "8"]
        args += ["-Y", str(run), "-P", str(run / "kamailio.pid"), "-w", str(run)]
        for name, value in defines.items():
            args += ["-A", f"{name}={value}" if value else name]
        return args + self.extra

    async def start(self, within: float = 20.0) -> KamailioEdge:
        self.port = self.port or free_port()
        if self.tls_cert:
            self.tls_port = self.tls_port or free_port()
        args = self.command()
        assert self.log_path is not None
        log = self.log_path.open("wb")
        self.proc = await asyncio.create_subprocess_exec(*args, stdout=log, stderr=log, env=dict(os.environ))
        log.close()  # the child has its own descriptor
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            if self.proc.returncode is not None:
                raise RuntimeError(f"kamailio exited {self.proc.returncode}:\n{self.log()[-3000:]}")
            if "mqtt connected" in self.log() and await asyncio.to_thread(self.options_ok):
                return self
            await asyncio.sleep(0.1)
        await self.stop()
        raise RuntimeError(f"kamailio not ready in {within}s:\n{self.log()[-3000:]}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path and self.log_path.exists() else ""

    def options_ok(self, source: str = "127.0.0.1") -> bool:
        return options(("127.0.0.1", self.port), source=source) == 200

    async def stop(self) -> None:
        if self.proc is None or self.proc.returncode is not None:
            return
        self.proc.terminate()
        try:
            await asyncio.wait_for(self.proc.wait(), 10)
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()


def options(target: tuple[str, int], *, source: str = "127.0.0.1", wait: float = 0.5) -> int | None:
    """Send one OPTIONS over UDP from ``source``; the status of the answer, None if none came."""
    tag = uuid.uuid4().hex[:12]
    request = (
        f"OPTIONS sip:arc@{target[0]}:{target[1]} SIP/2.0\r\n"
        f"Via: SIP/2.0/UDP {source}:0;rport;branch=z9hG4bK{tag}\r\n"
        "Max-Forwards: 70\r\n"
        f"From: <sip:probe@{source}>;tag={tag}\r\n"
        f"To: <sip:arc@{target[0]}>\r\n"
        f"Call-ID: {tag}@{source}\r\n"
        "CSeq: 1 OPTIONS\r\n"
        "Content-Length: 0\r\n\r\n"
    )
    return send_udp(target, request, source=source, wait=wait)


def send_udp(
    target: tuple[str, int], request: str, *, source: str = "127.0.0.1", wait: float = 0.5
) -> int | None:
    """Send one raw SIP request over UDP (its Via should carry ``rport``); the answer's status."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((source, 0))
        sock.settimeout(wait)
        sock.sendto(request.encode(), target)
        try:
            data, _ = sock.recvfrom(65535)
        except TimeoutError:
            return None
        first = data.split(b"\r\n", 1)[0].split()
        return int(first[1]) if len(first) > 1 and first[1].isdigit() else None
