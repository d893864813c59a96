"""Flag thresholds: one validated set, stored in ``flag_thresholds`` and editable by the TEC team.

Defaults follow the council's brief (>= 8 genuine activations in 30 days is a frequent caller).
A bad value (a threshold of -1, a p of 2) is a 422 naming the field; nothing is saved.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator


class Thresholds(BaseModel):
    model_config = ConfigDict(extra="forbid")

    frequent_count: int = Field(
        8, ge=1, le=1000, description="genuine activations that make a frequent caller"
    )
    frequent_days: int = Field(30, ge=1, le=365, description="... within this many days")
    cluster_hours: list[int] = Field(
        default_factory=lambda: [24, 48, 72], min_length=1, max_length=6, description="burst windows tested"
    )
    cluster_min_count: int = Field(3, ge=2, le=1000, description="fewest activations a burst needs")
    cluster_p: float = Field(
        0.001, gt=0, lt=0.5, description="Poisson tail P(X >= k) below which a burst flags"
    )
    baseline_days: int = Field(182, ge=28, le=730, description="the person's own baseline period")
    trend_weeks: int = Field(12, ge=4, le=52, description="weeks the trend test watches")
    trend_ratio: float = Field(2.0, gt=1, le=10, description="rate change the CUSUM is tuned to (x and 1/x)")
    trend_h: float = Field(5.0, gt=0, le=50, description="CUSUM decision limit")
    trend_alpha: float = Field(0.005, gt=0, lt=0.5, description="exact rate test p below which a trend flags")
    trend_min_count: int = Field(6, ge=1, le=1000, description="fewest activations behind a trend")
    false_alarm_count: int = Field(
        3, ge=1, le=1000, description="false alarms / accidental presses that flag"
    )
    false_alarm_days: int = Field(30, ge=1, le=365)
    equipment_count: int = Field(3, ge=1, le=1000, description="no-comms, battery, link and mains faults")
    equipment_days: int = Field(30, ge=1, le=365)
    falls_count: int = Field(
        1, ge=1, le=1000, description="falls (fall detector or a fall outcome) that flag"
    )
    falls_days: int = Field(30, ge=1, le=365)

    @field_validator("cluster_hours")
    @classmethod
    def _hours(cls, value: list[int]) -> list[int]:
        if any(not 1 <= h <= 168 for h in value):
            raise ValueError("each window must be 1-168 hours")
        return sorted(set(value))
