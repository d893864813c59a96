"""The flag rules: a person's signals and the thresholds in, findings out (pure; no database).

A *signal* is one alarm of the person's: a call (an activation: personal, environmental or
activity; repeats of one open alarm are one call), or a technical one (no-comms, battery,
link, mains). Technical signals and test calls never count as a person's activations.
A call is *genuine* unless it was closed as a false alarm, an accidental press (cancelled at
the unit), a test call or a technical fault.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from arc.history.stats import cusum, poisson_tail, rate_test, usual_rate
from arc.history.thresholds import Thresholds

SEVERITY_RANK = {"high": 0, "medium": 1, "low": 2, "info": 3}
KIND_LABELS = {
    "cluster": "cluster",
    "falls": "falls",
    "frequent_caller": "frequent caller",
    "trend_rising": "rising trend",
    "trend_falling": "falling trend",
    "false_alarms": "false alarms",
    "equipment": "equipment",
}
TECHNICAL_LABELS = {
    "no_comms": "no-comms",
    "battery_low": "low battery",
    "link_failure": "link failure",
    "mains_failure": "mains failure",
}
WEEK = timedelta(days=7)


@dataclass(frozen=True)
class Signal:
    alarm_id: int
    at: datetime
    call: bool  # a person's activation
    genuine: bool = False
    false_alarm: bool = False
    fall: bool = False
    technical: str | None = None  # a TECHNICAL_LABELS key


@dataclass
class Finding:
    kind: str
    severity: str
    reason: str
    window_start: datetime
    window_end: datetime
    alarm_ids: list[int]
    numbers: dict = field(default_factory=dict)


def usual_text(per_week: float) -> str:
    """A rate in words: "1 a week", "3 a month", "fewer than 1 a month"."""
    if per_week >= 0.95:
        return f"{round(per_week)} a week"
    per_month = per_week * 30.44 / 7
    if per_month >= 0.95:
        return f"{round(per_month)} a month"
    return "fewer than 1 a month"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _within(signals: list[Signal], start: datetime, end: datetime) -> list[Signal]:
    return [s for s in signals if start < s.at <= end]


def _baseline(genuine: list[Signal], before: datetime, since: datetime, days: int) -> tuple[int, float]:
    """Genuine calls in the baseline before ``before`` and its length in weeks (from ``since``)."""
    start = max(before - timedelta(days=days), since)
    weeks = max((before - start) / WEEK, 0.0)
    return len(_within(genuine, start, before)), weeks


def frequent_caller(genuine: list[Signal], now: datetime, t: Thresholds) -> Finding | None:
    start = now - timedelta(days=t.frequent_days)
    hits = _within(genuine, start, now)
    if len(hits) < t.frequent_count:
        return None
    return Finding(
        "frequent_caller",
        "medium",
        f"{_plural(len(hits), 'activation')} in the last {t.frequent_days} days (flags at {t.frequent_count})",
        start,
        now,
        [s.alarm_id for s in hits],
        {"count": len(hits), "days": t.frequent_days, "threshold": t.frequent_count},
    )


def cluster(genuine: list[Signal], now: datetime, since: datetime, t: Thresholds) -> Finding | None:
    """The most surprising burst over the windows tested, against the person's own rate before it."""
    best = None
    for hours in t.cluster_hours:
        start = now - timedelta(hours=hours)
        hits = _within(genuine, start, now)
        if len(hits) < t.cluster_min_count:
            continue
        n_base, weeks = _baseline(genuine, start, since, t.baseline_days)
        if weeks < 1:
            continue  # not a week of history yet: no usual rate to compare with
        per_week = usual_rate(n_base, weeks)
        mu = per_week * hours / (7 * 24)
        p = poisson_tail(len(hits), mu)
        if p < t.cluster_p and (best is None or p < best[0]):
            best = (p, hours, start, hits, per_week, mu)
    if best is None:
        return None
    p, hours, start, hits, per_week, mu = best
    return Finding(
        "cluster",
        "high",
        f"{_plural(len(hits), 'activation')} in the last {hours} hours; usual is {usual_text(per_week)} "
        f"(expected {mu:.2f}, P(≥{len(hits)}) = {p:.1e} < {t.cluster_p:g})",
        start,
        now,
        [s.alarm_id for s in hits],
        {
            "count": len(hits),
            "hours": hours,
            "usual_per_week": round(per_week, 3),
            "expected": round(mu, 4),
            "p_value": p,
            "p_threshold": t.cluster_p,
        },
    )


def weekly_counts(signals: list[Signal], now: datetime, weeks: int) -> list[int]:
    """Counts in ``weeks`` 7-day bins ending at ``now``, oldest first."""
    counts = [0] * weeks
    start = now - weeks * WEEK
    for s in signals:
        if start < s.at <= now:
            counts[min(int((s.at - start) / WEEK), weeks - 1)] += 1
    return counts


def trend(genuine: list[Signal], now: datetime, since: datetime, t: Thresholds) -> Finding | None:
    """Two-sided Poisson CUSUM on weekly counts against the baseline before the watched weeks; a
    signal needs the arm at its limit, the exact rate test below alpha and the minimum count."""
    watch_start = now - t.trend_weeks * WEEK
    n_base, base_weeks = _baseline(genuine, watch_start, since, t.baseline_days)
    if base_weeks < 4:
        return None  # fewer than four weeks of baseline: no trend can be told yet
    lambda0 = usual_rate(n_base, base_weeks)
    counts = weekly_counts(genuine, now, t.trend_weeks)
    result = cusum(counts, lambda0, ratio=t.trend_ratio, h=t.trend_h)
    for rising in (True, False):
        if not (result.rising if rising else result.falling):
            continue
        start_index = result.up_start if rising else result.down_start
        weeks = t.trend_weeks - start_index
        recent = sum(counts[start_index:])
        test = rate_test(recent, weeks, n_base, base_weeks)
        enough = recent >= t.trend_min_count if rising else n_base >= t.trend_min_count
        if test.p_value >= t.trend_alpha or not enough:
            continue
        window_start = watch_start + start_index * WEEK
        arm = result.up if rising else result.down
        word = "Rising" if rising else "Falling (improving)"
        return Finding(
            "trend_rising" if rising else "trend_falling",
            "medium" if rising else "info",
            f"{word}: {_plural(recent, 'activation')} in the last {_plural(weeks, 'week')} "
            f"({recent / weeks:.1f} a week) against a usual {lambda0:.1f} a week; "
            f"CUSUM {arm:.1f} ≥ {t.trend_h:g}, exact rate test p = {test.p_value:.2g}",
            window_start,
            now,
            [s.alarm_id for s in _within(genuine, window_start, now)],
            {
                "weekly_counts": counts,
                "baseline_count": n_base,
                "baseline_weeks": round(base_weeks, 1),
                "lambda0_per_week": round(lambda0, 3),
                "cusum_up": round(result.up, 3),
                "cusum_down": round(result.down, 3),
                "h": t.trend_h,
                "ratio": t.trend_ratio,
                "recent_count": recent,
                "recent_weeks": weeks,
                "rate_ratio": round(test.ratio, 2),
                "p_value": test.p_value,
                "alpha": t.trend_alpha,
            },
        )
    return None


def _count_rule(hits: list[Signal], kind: str, severity: str, reason: str, start, now, numbers) -> Finding:
    return Finding(kind, severity, reason, start, now, [s.alarm_id for s in hits], numbers)


def false_alarms(signals: list[Signal], now: datetime, t: Thresholds) -> Finding | None:
    start = now - timedelta(days=t.false_alarm_days)
    hits = [s for s in _within(signals, start, now) if s.false_alarm]
    if len(hits) < t.false_alarm_count:
        return None
    return _count_rule(
        hits,
        "false_alarms",
        "low",
        f"{len(hits)} false alarms or accidental presses in {t.false_alarm_days} days — "
        "check the equipment and how to use it",
        start,
        now,
        {"count": len(hits), "days": t.false_alarm_days, "threshold": t.false_alarm_count},
    )


def equipment(signals: list[Signal], now: datetime, t: Thresholds) -> Finding | None:
    start = now - timedelta(days=t.equipment_days)
    hits = [s for s in _within(signals, start, now) if s.technical]
    if len(hits) < t.equipment_count:
        return None
    kinds = Counter(s.technical for s in hits)
    parts = ", ".join(f"{n} {TECHNICAL_LABELS[k]}" for k, n in kinds.most_common())
    return _count_rule(
        hits,
        "equipment",
        "low",
        f"{len(hits)} equipment faults in {t.equipment_days} days ({parts}) — check the unit "
        "(digital switchover risk)",
        start,
        now,
        {"count": len(hits), "days": t.equipment_days, "by_kind": dict(kinds)},
    )


def falls(signals: list[Signal], now: datetime, t: Thresholds) -> Finding | None:
    start = now - timedelta(days=t.falls_days)
    hits = [s for s in _within(signals, start, now) if s.fall]
    if len(hits) < t.falls_count:
        return None
    return _count_rule(
        hits,
        "falls",
        "high" if len(hits) >= 2 else "medium",
        f"{_plural(len(hits), 'fall')} in the last {t.falls_days} days",
        start,
        now,
        {"count": len(hits), "days": t.falls_days, "threshold": t.falls_count},
    )


def evaluate(signals: list[Signal], now: datetime, since: datetime, t: Thresholds) -> list[Finding]:
    """Every rule over one person's signals (any order) as of ``now``; ``since`` is when their
    history starts (the connection), so a new customer's short baseline is not read as quiet."""
    signals = sorted((s for s in signals if s.at <= now), key=lambda s: (s.at, s.alarm_id))
    genuine = [s for s in signals if s.call and s.genuine]
    found = [
        cluster(genuine, now, since, t),
        falls(signals, now, t),
        frequent_caller(genuine, now, t),
        trend(genuine, now, since, t),
        false_alarms(signals, now, t),
        equipment(signals, now, t),
    ]
    return [f for f in found if f is not None]
