"""Simulator scenarios: small TOML files of timed steps for a set of virtual units, run over MQTT.

A scenario file (``simulators/scenarios/NAME.toml``)::

    description = "one line, shown by `lifeline simulate --list`"
    units = 6                  # virtual units 1..6 (cids from --cid-base)
    settle = 5                 # seconds to wait for answers after the last step (default 5)

    [[steps]]
    at = 0                     # seconds after the start
    units = "all"              # "all", a unit number, or a list of them
    send = "heartbeat"         # heartbeat | alarm | status | reset | raw
    every = 10                 # repeat every N seconds ...
    times = 3                  # ... this many times (default 1)
    stc = "0085"               # any mrq tag (dty, stc, did, stt, lte, ...) is sent as given
    clock_skew = -3600         # add `tim`: the unit's clock this many seconds off
    as_unit = 2                # spoof: the payload names unit 2's cid (published on its own topic)
    payload = '{"ref":"{ref}", "cid":"{cid}"'  # raw: sent as-is once, {cid} {ref} {pad} filled in
    pad = 70000                # raw: {pad} becomes this many "x"

heartbeat, alarm, status and reset behave like a real unit (re-send the same ref until a final
answer, re-poll while HOLD); raw is sent once, like a hostile or broken sender.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

SENDS = {
    "heartbeat": {"dty": "0001", "mty": "PI", "hbo": "001"},
    "alarm": {"dty": "0003", "stc": "0010"},
    "status": {"dty": "0001"},
    "reset": {"dty": "0003", "mty": "RE"},
    "raw": {},
}
TAGS = {"dty", "stc", "did", "dco", "dte", "stt", "pri", "cha", "crd", "lco", "lva", "lte", "lge", "ver", "mty", "hbo"}
STEP_KEYS = {"at", "units", "send", "every", "times", "payload", "pad", "as_unit", "clock_skew"}


class ScenarioError(ValueError):
    """A scenario file that cannot be run; the message names the file and the step."""


@dataclass(frozen=True)
class Step:
    number: int  # 1-based, as a person counts the [[steps]] in the file
    at: float
    units: tuple[int, ...]  # 1-based unit numbers
    send: str
    every: float = 0.0
    times: int = 1
    tags: dict[str, Any] = field(default_factory=dict)
    payload: str | None = None
    pad: int = 0
    as_unit: int | None = None
    clock_skew: float | None = None

    def moments(self) -> list[float]:
        return [self.at + k * self.every for k in range(self.times)]


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    units: int
    steps: tuple[Step, ...]
    settle: float = 5.0

    def schedule(self) -> list[tuple[float, Step, int]]:
        """Every send in time order: (seconds after start, step, unit number)."""
        events = [(t, step, unit) for step in self.steps for t in step.moments() for unit in step.units]
        return sorted(events, key=lambda e: (e[0], e[1].number, e[2]))

    @property
    def length(self) -> float:
        return max((t for t, _, _ in self.schedule()), default=0.0)


def _number(where: str, key: str, value: Any, *, minimum: float = 0.0) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < minimum:
        raise ScenarioError(f"{where}: '{key}' must be a number ≥ {minimum:g}, not {value!r}")
    return float(value)


def _units(where: str, value: Any, count: int) -> tuple[int, ...]:
    if value == "all":
        return tuple(range(1, count + 1))
    numbers = value if isinstance(value, list) else [value]
    for n in numbers:
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= count:
            raise ScenarioError(f"{where}: unit {n!r} is not one of 1..{count} (or \"all\")")
    return tuple(numbers)


def _step(name: str, number: int, raw: Any, count: int) -> Step:
    where = f"scenario '{name}' step {number}"
    if not isinstance(raw, dict):
        raise ScenarioError(f"{where}: a step is a [[steps]] table")
    unknown = sorted(set(raw) - STEP_KEYS - TAGS)
    if unknown:
        raise ScenarioError(f"{where}: unknown key {', '.join(map(repr, unknown))}")
    send = raw.get("send")
    if send not in SENDS:
        raise ScenarioError(f"{where}: 'send' must be one of {', '.join(SENDS)}, not {send!r}")
    tags = {k: (str(v) if isinstance(v, int | float) else v) for k, v in raw.items() if k in TAGS}
    if send == "status" and "stc" not in tags:
        raise ScenarioError(f"{where}: a status step needs an 'stc' (e.g. \"0085\" mains failure)")
    payload = raw.get("payload")
    if (send == "raw") != isinstance(payload, str):
        raise ScenarioError(f"{where}: 'payload' (a string) goes with send = \"raw\", and only with it")
    times = raw.get("times", 1)
    if isinstance(times, bool) or not isinstance(times, int) or times < 1:
        raise ScenarioError(f"{where}: 'times' must be a whole number ≥ 1, not {times!r}")
    every = _number(where, "every", raw.get("every", 0))
    if times > 1 and every <= 0:
        raise ScenarioError(f"{where}: 'times' > 1 needs 'every' (seconds between them)")
    as_unit = raw.get("as_unit")
    if as_unit is not None:
        as_unit = _units(where, as_unit, count)[0]
    skew = raw.get("clock_skew")
    return Step(
        number=number,
        at=_number(where, "at", raw.get("at", 0)),
        units=_units(where, raw.get("units", "all"), count),
        send=send,
        every=every,
        times=times,
        tags={**SENDS[send], **tags},
        payload=payload,
        pad=int(_number(where, "pad", raw.get("pad", 0))),
        as_unit=as_unit,
        clock_skew=None if skew is None else _number(where, "clock_skew", skew, minimum=-1e9),
    )


def parse(text: str, name: str) -> Scenario:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"scenario '{name}' is not valid TOML: {exc}") from exc
    unknown = sorted(set(data) - {"description", "units", "settle", "steps"})
    if unknown:
        raise ScenarioError(f"scenario '{name}': unknown key {', '.join(map(repr, unknown))}")
    description = data.get("description")
    if not isinstance(description, str) or not description.strip():
        raise ScenarioError(f"scenario '{name}': needs a one-line 'description'")
    count = data.get("units")
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 100_000:
        raise ScenarioError(f"scenario '{name}': 'units' must be a whole number 1..100000, not {count!r}")
    steps = data.get("steps")
    if not isinstance(steps, list) or not steps:
        raise ScenarioError(f"scenario '{name}': needs at least one [[steps]] table")
    return Scenario(
        name=name,
        description=description.strip(),
        units=count,
        steps=tuple(_step(name, i, raw, count) for i, raw in enumerate(steps, 1)),
        settle=_number(f"scenario '{name}'", "settle", data.get("settle", 5.0)),
    )


def _shipped() -> Any:
    return resources.files("simulators") / "scenarios"


def shipped_names() -> list[str]:
    return sorted(p.name.removesuffix(".toml") for p in _shipped().iterdir() if p.name.endswith(".toml"))


def load(name_or_path: str) -> Scenario:
    """A shipped scenario by name, or a .toml file by path."""
    path = Path(name_or_path)
    if path.suffix == ".toml" and path.is_file():
        return parse(path.read_text(encoding="utf-8"), path.stem)
    source = _shipped() / f"{name_or_path}.toml"
    if not source.is_file():
        raise ScenarioError(
            f"no scenario '{name_or_path}' (shipped: {', '.join(shipped_names())}; or give a .toml path)"
        )
    return parse(source.read_text(encoding="utf-8"), name_or_path)
