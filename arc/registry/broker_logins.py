"""Where a unit's broker login is written: Mosquitto's password file, or its dynamic security plugin.

``LIFELINE_BROKER_CREDENTIALS`` chooses (docs/security.md):

- ``file`` (the default): the password file and ACL the shipped ``mosquitto.conf`` reads
  (``LIFELINE_MOSQUITTO_PASSWD_FILE`` / ``..._ACL_FILE``). Only a process on the broker's host can
  write them, and the broker needs ``kill -HUP`` to read them (``reload_needed``).
- ``dynsec``: the service logs in as the broker's admin client (``LIFELINE_DYNSEC_USERNAME`` /
  ``..._PASSWORD``, host and port from ``LIFELINE_MQTT_URL``) and sends the commands of
  ``devices.dynsec``; the broker applies them at once and drops a revoked unit's connection.

Neither is available (file mode with no files set, e.g. the demo's embedded amqtt broker, whose
logins are made for each run): ``logins_for`` returns ``None`` and the admin page says so.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from pathlib import Path
from typing import Protocol

import aiomqtt

from arc.kit.settings import Settings
from devices import credentials, dynsec
from devices.broker import broker_address

log = logging.getLogger(__name__)


class BrokerUnavailable(Exception):
    """The broker (or its files) could not be changed; nothing was changed there."""


class BrokerLogins(Protocol):
    kind: str  # "file" | "dynsec"
    reload_needed: bool  # the broker must be told to re-read (kill -HUP) before it applies

    async def give(self, cid: str, password: str) -> None: ...

    async def take(self, cid: str) -> bool: ...


class FileLogins:
    """The shipped Mosquitto password file and ACL (``lifeline units provision`` on the host)."""

    kind, reload_needed = "file", True

    def __init__(self, settings: Settings, passwd: Path, acl: Path) -> None:
        self.settings, self.passwd, self.acl = settings, passwd, acl

    async def give(self, cid: str, password: str) -> None:
        s = self.settings
        try:
            credentials.write_acl(
                self.acl,
                s.mqtt_topic_root,
                s.mqtt_service_username,
                s.mqtt_shared_group,
                s.sip_gateway_username,
            )
            credentials.provision_unit(self.passwd, cid, password)
        except OSError as exc:
            raise BrokerUnavailable(f"cannot write the broker's files ({exc.strerror})") from exc

    async def take(self, cid: str) -> bool:
        try:
            return credentials.revoke_unit(self.passwd, cid)
        except OSError as exc:
            raise BrokerUnavailable(f"cannot write the broker's password file ({exc.strerror})") from exc


class DynsecLogins:
    """Mosquitto's dynamic security plugin, spoken to as its admin client over MQTT."""

    kind, reload_needed = "dynsec", False

    def __init__(self, settings: Settings, *, timeout: float = 5.0) -> None:
        address = broker_address(settings.mqtt_url)
        address.update(
            username=settings.dynsec_username, password=settings.dynsec_password.get_secret_value()
        )
        self.address, self.root, self.timeout = address, settings.mqtt_topic_root, timeout
        # the broker ties client ids to usernames: two exchanges at once would drop each other
        self._one_at_a_time = asyncio.Lock()

    async def give(self, cid: str, password: str) -> None:
        await self.run(dynsec.give_unit(self.root, cid, password))

    async def take(self, cid: str) -> bool:
        answers = await self.run(dynsec.take_unit(cid))
        return not answers.get(0, {}).get("error")  # "Client not found": there was none

    async def run(self, commands: list[dict]) -> dict[int, dict]:
        """Send one batch and wait for its answers; refuse (``BrokerUnavailable``) on any error."""
        tag = uuid.uuid4().hex
        batch = dynsec.correlate(commands, tag)
        try:
            async with self._one_at_a_time, asyncio.timeout(self.timeout):
                answers = await self._exchange(batch, tag)
        except TimeoutError as exc:
            log.warning("dynamic security: no answer from the broker within %g s", self.timeout)
            raise BrokerUnavailable(
                f"the MQTT broker did not answer within {self.timeout:g} s (is its dynamic security "
                "plugin loaded, and LIFELINE_DYNSEC_USERNAME its admin login?)"
            ) from exc
        except (aiomqtt.MqttError, OSError) as exc:
            log.warning("dynamic security: broker not reached: %s", type(exc).__name__)
            raise BrokerUnavailable(
                "the MQTT broker could not be reached or refused the admin login"
            ) from exc
        if len(answers) < len(commands):
            raise BrokerUnavailable("the MQTT broker did not answer every command")
        problems = dynsec.failures(commands, answers)
        if problems:  # the command names and the broker's words; never a password
            log.warning("dynamic security refused: %s", "; ".join(problems))
            raise BrokerUnavailable("the MQTT broker refused the change: " + "; ".join(problems))
        return answers

    async def _exchange(self, batch: list[dict], tag: str) -> dict[int, dict]:
        identifier = f"{self.address['username']}-{tag[:8]}"
        async with aiomqtt.Client(**self.address, identifier=identifier) as client:
            await client.subscribe(dynsec.RESPONSE_TOPIC, qos=1)
            await client.publish(dynsec.CONTROL_TOPIC, json.dumps({"commands": batch}), qos=1)
            answers: dict[int, dict] = {}
            async for message in client.messages:
                answers |= dynsec.answers_for(json.loads(message.payload), tag)
                if len(answers) >= len(batch):
                    return answers
        return answers


def logins_for(
    settings: Settings, *, passwd: Path | None = None, acl: Path | None = None
) -> BrokerLogins | None:
    """The configured place, or ``None`` when this service cannot change the broker's logins."""
    if settings.broker_credentials == "dynsec":
        return DynsecLogins(settings)
    passwd, acl = passwd or settings.mosquitto_passwd_file, acl or settings.mosquitto_acl_file
    if passwd is None or acl is None:
        return None
    return FileLogins(settings, passwd, acl)


def app_logins(app) -> BrokerLogins | None:
    """``app.state.broker_logins`` if set (a test), else from the app's settings."""
    if not hasattr(app.state, "broker_logins"):
        app.state.broker_logins = logins_for(app.state.settings)
    return app.state.broker_logins
