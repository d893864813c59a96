"""The arithmetic of ``simulators.bench_overload``: how a reply counts, when a capacity step is
sustained, the capacity search, and the alarm probes' figures. Pure; tested in
tests/simulators/test_bench_overload.py."""

from __future__ import annotations

from dataclasses import dataclass

from simulators.benchkit import latency_summary

OK, HOLD, BUSY = 0, 4, 6
# counter slots (a shared array the reply counter fills): answered OK, shed with the right hbi,
# shed without hbi (unit sent no hbo), shed with a wrong or missing hbi, refused otherwise, all
REPLY_SLOTS = ("ok", "shed_hbi", "shed_plain", "shed_hbi_wrong", "refused", "answered")


def classify_reply(answer: dict, accepts_hbi: bool, shed_hbi: int) -> str:
    """Which REPLY_SLOTS entry one heartbeat's mrs counts in."""
    snu, hbi = answer.get("snu"), answer.get("hbi")
    if snu == OK:
        return "ok"
    if snu == BUSY:
        if accepts_hbi:
            return "shed_hbi" if hbi == shed_hbi else "shed_hbi_wrong"
        return "shed_plain" if hbi is None else "shed_hbi_wrong"
    return "refused"


@dataclass(frozen=True)
class Step:
    asked: float  # heartbeats per second asked of the generators
    offered: float  # what they published, per second, over the measured window
    ok: float  # answered snu 0, per second
    shed: float  # answered snu 6, per second
    refused: float  # any other answer, per second
    growth: int  # outstanding (published, not answered) at the end minus at the start of the window
    unanswered: int = 0  # still unanswered after the drain

    @property
    def sustained(self) -> bool:
        return (
            self.shed == 0
            and self.refused == 0
            and self.ok >= 0.97 * self.offered
            and self.growth <= max(200, 0.2 * self.offered)  # 200 ms of load: noise, not a queue
            and self.unanswered == 0
        )

    @property
    def generator_short(self) -> bool:
        """The generators fell more than 10 % short of the rate asked: above this, the search would
        measure them, not the service (more --generators, or a generator on another machine)."""
        return self.offered < 0.9 * self.asked

    def line(self) -> str:
        verdict = "sustained" if self.sustained else "NOT sustained"
        short = " (the generators fell short of the rate asked)" if self.generator_short else ""
        return (
            f"  asked {self.asked:7.0f}/s  offered {self.offered:7.0f}/s  answered OK {self.ok:7.0f}/s"
            f"  shed {self.shed:6.0f}/s  refused {self.refused:4.0f}/s  backlog growth {self.growth:+7d}"
            f"  unanswered after drain {self.unanswered:5d}  {verdict}{short}"
        )


def judge(samples: list[tuple[float, int, int, int, int, int]], asked: float, warm: float = 0.3) -> Step:
    """A step from its samples (t, published, ok, shed, refused, answered). Measured while the
    generators were publishing (not their start-up, not after the last message), after ``warm`` of
    that (the service settling in: the broker's queue, the first batches)."""
    begin = next((k for k, s in enumerate(samples) if s[1] > samples[0][1]), 0)
    end = next((k for k, s in enumerate(samples) if s[1] == samples[-1][1]), len(samples) - 1)
    active = samples[max(0, begin - 1) : end + 1]
    first, last = active[min(len(active) - 1, int(len(active) * warm))], active[-1]
    span = max(1e-9, last[0] - first[0])
    rates = [(last[k] - first[k]) / span for k in (1, 2, 3, 4)]
    growth = (last[1] - last[5]) - (first[1] - first[5])
    return Step(asked, *rates, growth=growth)


def find_capacity(try_rate, start: float, most: float, refine: int) -> tuple[Step | None, list[Step]]:
    """Double from ``start`` while sustained (halve while not, if even ``start`` is too much), then
    bisect ``refine`` times between the last sustained and the first failed rate. A sustained step
    whose generators fell short ends the search there: the capacity is then at least that."""
    steps: list[Step] = []
    good: Step | None = None
    bad: Step | None = None
    rate = start
    while rate <= most and rate >= 1:
        step = try_rate(rate)
        steps.append(step)
        if step.sustained:
            good = step
            if bad is not None or step.generator_short:
                break
            rate *= 2
        else:
            bad = step
            if good is not None:
                break
            rate /= 2
    for _ in range(refine if good and bad and not good.generator_short else 0):
        step = try_rate((good.asked + bad.asked) / 2)
        steps.append(step)
        if step.sustained:
            good = step
        else:
            bad = step
    return good, steps


def alarm_lines(label: str, cids: list[str], out: dict, opened: dict[str, int]) -> tuple[list[str], bool]:
    """The alarm probes' figures; ok is False if one was lost, opened twice or ever answered busy."""
    latencies = [
        (out["answered"][i] - out["first_sent"][i]) * 1000 for i in range(len(cids)) if out["answered"][i]
    ]
    lost = sum(1 for i, cid in enumerate(cids) if not out["answered"][i] or opened.get(cid, 0) == 0)
    once = sum(1 for cid in cids if opened.get(cid, 0) == 1)
    twice = sum(1 for cid in cids if opened.get(cid, 0) > 1)
    busy = sum(1 for b in out["busy"] if b)
    resent = sum(1 for s in out["sends"] if s > 1)
    lines = [
        f"{label}: alarms publish -> HOLD: "
        + (latency_summary(latencies, (50, 95, 99), of=len(cids)) if latencies else "no answers"),
        f"    alarms lost {lost} (must be 0), opened once {once} of {len(cids)}, opened twice or more {twice},"
        f" answered busy (snu 6) {busy} (must be 0), sent more than once (retransmitted) {resent}",
    ]
    return lines, lost == 0 and twice == 0 and busy == 0
