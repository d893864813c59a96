"""The statistics behind the flags: Poisson tails and a two-sided Poisson CUSUM.

Everything here is pure (numbers in, numbers out) so it can be tested on constructed series.

- ``usual_rate``: a person's own rate from their baseline, with the Jeffreys half-count
  ((n + 0.5) / exposure) so a quiet person's rate is small but never zero.
- ``poisson_tail``: P(X >= k) for X ~ Poisson(mu) (``scipy.stats.poisson.sf``).
- ``cusum``: the two-sided Poisson CUSUM of Lucas (1985) on weekly counts against the baseline
  rate lambda0: the upper arm tests lambda1 = ratio * lambda0, the lower arm lambda0 / ratio;
  each step adds the log-likelihood ratio of one week's count, floored at zero. An arm signals
  when it reaches ``h``. The week after the arm was last at zero estimates when the change began.
- ``rate_test``: the exact conditional test of two Poisson rates (given the total, the recent
  count is binomial with p = recent exposure / total exposure), two-sided, for the p-value shown.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from scipy import stats


def usual_rate(count: int, exposure: float) -> float:
    """Events per unit of ``exposure`` (days, weeks...) with the Jeffreys half-count."""
    if exposure <= 0:
        raise ValueError("exposure must be positive")
    return (count + 0.5) / exposure


def poisson_tail(k: int, mu: float) -> float:
    """P(X >= k) for X ~ Poisson(mu)."""
    if k <= 0:
        return 1.0
    return float(stats.poisson.sf(k - 1, mu))


@dataclass(frozen=True)
class CusumResult:
    up: float  # the upper arm after the last week
    down: float  # the lower arm after the last week
    up_start: int | None  # index of the first week of the upper arm's current run (None: at zero)
    down_start: int | None
    h: float
    lambda0: float
    ratio: float

    @property
    def rising(self) -> bool:
        return self.up >= self.h

    @property
    def falling(self) -> bool:
        return self.down >= self.h


def cusum(counts: list[int], lambda0: float, *, ratio: float = 2.0, h: float = 4.0) -> CusumResult:
    """Two-sided Poisson CUSUM over ``counts`` (one per week, oldest first) against ``lambda0``."""
    if lambda0 <= 0 or ratio <= 1 or h <= 0:
        raise ValueError("lambda0 > 0, ratio > 1 and h > 0 are needed")
    lam_up, lam_down = lambda0 * ratio, lambda0 / ratio
    log_up, log_down = math.log(ratio), -math.log(ratio)
    up = down = 0.0
    up_run = down_run = 0
    for i, x in enumerate(counts):
        up = max(0.0, up + x * log_up - (lam_up - lambda0))
        down = max(0.0, down + x * log_down - (lam_down - lambda0))
        if up == 0:
            up_run = i + 1
        if down == 0:
            down_run = i + 1
    return CusumResult(
        up, down, up_run if up > 0 else None, down_run if down > 0 else None, h, lambda0, ratio
    )


@dataclass(frozen=True)
class RateTest:
    recent: int
    recent_exposure: float
    baseline: int
    baseline_exposure: float
    p_value: float

    @property
    def ratio(self) -> float:
        """Recent rate / baseline rate (with the half-count, so never a division by zero)."""
        return usual_rate(self.recent, self.recent_exposure) / usual_rate(
            self.baseline, self.baseline_exposure
        )


def rate_test(recent: int, recent_exposure: float, baseline: int, baseline_exposure: float) -> RateTest:
    """Exact two-sided conditional test that two Poisson counts share one rate."""
    total = recent + baseline
    if total == 0:
        p = 1.0
    else:
        share = recent_exposure / (recent_exposure + baseline_exposure)
        p = float(stats.binomtest(recent, total, share, alternative="two-sided").pvalue)
    return RateTest(recent, recent_exposure, baseline, baseline_exposure, p)
