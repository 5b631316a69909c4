"""Simulation parameters: member types, base propensities, hour curve, effects.

Every effect lives here and nowhere else: the decision engine only ever sees the events the
simulator writes, never these numbers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from functools import cached_property
from types import MappingProxyType

import numpy as np

from simulator.errors import SimulationParamsInvalid

MEMBER_TYPES = ("loyal", "bargain_hunter", "need_driven", "low_need")
PUSH_KINDS = ("column", "flash_sale", "campaign", "calendar", "cold_start")
# Behaviours an effect (per SOP version or per action kind) can scale, as relative multipliers.
BEHAVIOURS = (
    "open",
    "click",
    "participate",
    "order",
    "order_amount",
    "coupon_use",
    "message",
    "leave",
    "referral",
    "ugc",
    "profile_complete",
)
_PROBABILITIES = (
    "open",
    "click",
    "participate",
    "order",
    "coupon_use",
    "reply",
    "churn",
    "referral",
    "ugc",
    "profile_complete",
)


@dataclass(frozen=True)
class TypeRates:
    """Base propensities of one member type.

    Push responses are conditional: click, participate and reply given an open, order given a
    click, coupon use given an order paid with a coupon. The rest are daily rates.
    """

    open: float
    click: float
    participate: float
    order: float
    order_amount: float  # mean order amount (yuan)
    coupon_use: float
    reply: float  # writes a message after opening a push
    messages: float  # spontaneous messages per day (Poisson mean)
    churn: float  # daily leave hazard
    referral: float  # daily probability of bringing in a new member
    ugc: float  # daily probability of posting user content
    profile_complete: float  # daily probability of completing the group profile (new members)


# Columns follow MEMBER_TYPES:  loyal, bargain hunter, need-driven, low need.
_DEFAULT_TABLE: dict[str, tuple[float, float, float, float]] = {
    "open": (0.50, 0.40, 0.28, 0.12),
    "click": (0.35, 0.45, 0.30, 0.15),
    "participate": (0.40, 0.30, 0.20, 0.08),
    "order": (0.20, 0.12, 0.15, 0.03),
    "order_amount": (180.0, 80.0, 150.0, 60.0),
    "coupon_use": (0.50, 0.90, 0.40, 0.60),
    "reply": (0.15, 0.08, 0.06, 0.02),
    "messages": (0.60, 0.30, 0.20, 0.05),
    "churn": (0.001, 0.004, 0.005, 0.012),
    "referral": (0.004, 0.002, 0.001, 0.0002),
    "ugc": (0.03, 0.01, 0.01, 0.002),
    "profile_complete": (0.5, 0.3, 0.3, 0.1),
}
DEFAULT_RATES: Mapping[str, TypeRates] = MappingProxyType(
    {
        member_type: TypeRates(**{name: row[i] for name, row in _DEFAULT_TABLE.items()})
        for i, member_type in enumerate(MEMBER_TYPES)
    }
)
DEFAULT_SHARES: Mapping[str, float] = MappingProxyType(
    {"loyal": 0.15, "bargain_hunter": 0.25, "need_driven": 0.30, "low_need": 0.30}
)
# Attention by local hour: multiplies open propensity (and so everything that follows an open).
# 20:00 is 30% better than 10:00. Also the shape of spontaneous activity over the day.
DEFAULT_HOUR_EFFECT: tuple[float, ...] = (
    0.3, 0.2, 0.2, 0.2, 0.2, 0.3, 0.6, 0.9, 0.95, 1.0, 1.0, 1.05,
    1.1, 1.0, 0.9, 0.9, 0.95, 1.0, 1.1, 1.2, 1.3, 1.25, 1.0, 0.6,
)  # fmt: skip
DEFAULT_KIND_EFFECTS: Mapping[str, Mapping[str, float]] = MappingProxyType(
    {
        "column": {"participate": 0.25, "order": 0.3},
        "flash_sale": {"participate": 0.5, "order": 1.0, "order_amount": 0.8},
        "campaign": {"participate": 1.0, "order": 1.0},
        "calendar": {"participate": 0.8, "order": 0.6},
        "cold_start": {"participate": 1.0, "order": 0.3},
        # A welcome is read more than a column and invites the self-introduction.
        "welcome": {"open": 1.8, "click": 0.0, "participate": 0.0, "order": 0.0, "message": 2.0},
    }
)
DEFAULT_FLASH_SALE_ORDER_LIFT: Mapping[str, float] = MappingProxyType(
    {"loyal": 1.5, "bargain_hunter": 3.0, "need_driven": 1.2, "low_need": 1.5}
)


def _freeze(mapping: Mapping[str, Mapping[str, float]]) -> Mapping[str, Mapping[str, float]]:
    return MappingProxyType({k: MappingProxyType(dict(v)) for k, v in mapping.items()})


@dataclass(frozen=True)
class SimulationParams:
    """Everything that shapes a simulated community. Defaults give a plausible WeCom group mix.

    `version_effects` maps an SOP version to relative multipliers on behaviours of members of
    groups on that version, e.g. `{"2.0": {"open": 1.18}}`; versions not listed have no effect.
    A key `version/kind` scales only the answers to messages of that kind, e.g.
    `{"2.0/welcome": {"open": 1.18}}`: a new welcome text that changes nothing else.
    """

    seed: int = 0
    shares: Mapping[str, float] = field(default_factory=lambda: DEFAULT_SHARES)
    rates: Mapping[str, TypeRates] = field(default_factory=lambda: DEFAULT_RATES)
    hour_effect: tuple[float, ...] = DEFAULT_HOUR_EFFECT
    group_effect_sd: float = 0.2  # sd of the log engagement multiplier of a group
    day_effect_sd: float = 0.1  # sd of the log multiplier of one group on one day
    joins_per_day: float = 2.0  # mean organic joins per group and day
    join_rate: float = 0.05  # joins per channel exposure (exposures = joins_per_day / join_rate)
    kind_effects: Mapping[str, Mapping[str, float]] = field(
        default_factory=lambda: DEFAULT_KIND_EFFECTS
    )
    flash_sale_order_lift: Mapping[str, float] = field(
        default_factory=lambda: DEFAULT_FLASH_SALE_ORDER_LIFT
    )
    coupon_kinds: tuple[str, ...] = ("flash_sale", "campaign")
    order_amount_sigma: float = 0.5  # log-normal sigma of order amounts
    open_delay_minutes: float = 30.0  # mean delay between a push and an open
    welcome_open_boost: float = 1.25  # open multiplier in the week after a welcome
    welcome_profile_boost: float = 2.0  # profile completion multiplier after a welcome
    first_week_churn: float = 2.5  # hazard multiplier in the first week without a welcome
    welcomed_first_week_churn: float = 1.0  # the same with a welcome
    cold_start_churn: float = 0.6  # hazard multiplier while a cold-start hook runs
    cold_start_window_days: int = 3  # days a cold-start push keeps members
    ugc_after_order: float = 0.15  # extra chance of user content on a day with an order
    version_effects: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    cost_per_push: float = 5.0
    cost_per_welcome: float = 0.0
    coupon_value: float = 10.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "shares", MappingProxyType(dict(self.shares)))
        object.__setattr__(self, "rates", MappingProxyType(dict(self.rates)))
        object.__setattr__(self, "hour_effect", tuple(float(h) for h in self.hour_effect))
        object.__setattr__(self, "kind_effects", _freeze(self.kind_effects))
        object.__setattr__(self, "version_effects", _freeze(self.version_effects))
        lift = MappingProxyType(dict(self.flash_sale_order_lift))
        object.__setattr__(self, "flash_sale_order_lift", lift)
        object.__setattr__(self, "coupon_kinds", tuple(self.coupon_kinds))
        _validate(self)

    @cached_property
    def type_shares(self) -> np.ndarray:
        """Shares of the member types in MEMBER_TYPES order, normalised to sum 1."""
        raw = np.array([self.shares.get(t, 0.0) for t in MEMBER_TYPES], dtype=np.float64)
        return raw / raw.sum()

    @cached_property
    def rate_arrays(self) -> Mapping[str, np.ndarray]:
        """Each TypeRates field as an array indexed by member type code."""
        return MappingProxyType(
            {
                f.name: np.array([getattr(self.rates[t], f.name) for t in MEMBER_TYPES])
                for f in fields(TypeRates)
            }
        )

    @cached_property
    def flash_lift_array(self) -> np.ndarray:
        """Flash-sale order lift by member type code (1.0 where not given)."""
        return np.array([self.flash_sale_order_lift.get(t, 1.0) for t in MEMBER_TYPES])

    def kind_effect(self, kind: str, behaviour: str) -> float:
        """Relative multiplier of `behaviour` for a message of `kind` (1.0 if not set)."""
        return self.kind_effects.get(kind, {}).get(behaviour, 1.0)

    def version_effect(self, version: str | None, behaviour: str, *, kind: str = "") -> float:
        """Relative multiplier of `behaviour` in groups on `version` (1.0 if not set), times
        the one for answers to messages of `kind` on that version."""
        if version is None:
            return 1.0
        both = self.version_effects.get(version, {}).get(behaviour, 1.0)
        return both * self.version_effects.get(f"{version}/{kind}", {}).get(behaviour, 1.0)


def _fail(name: str, message: str) -> None:
    raise SimulationParamsInvalid(f"SimulationParams.{name}: {message}")


def _check_effects(name: str, effects: Mapping[str, Mapping[str, float]]) -> None:
    for key, effect in effects.items():
        for behaviour, value in effect.items():
            if behaviour not in BEHAVIOURS:
                known = ", ".join(BEHAVIOURS)
                _fail(f"{name}[{key!r}]", f"unknown behaviour {behaviour!r} (known: {known})")
            if not value >= 0:
                _fail(f"{name}[{key!r}][{behaviour!r}]", f"must be >= 0, got {value}")


def _validate(p: SimulationParams) -> None:
    if not (isinstance(p.seed, int) and p.seed >= 0):
        _fail("seed", f"must be a non-negative integer, got {p.seed!r}")
    for key, share in p.shares.items():
        if key not in MEMBER_TYPES:
            _fail("shares", f"unknown member type {key!r} (known: {', '.join(MEMBER_TYPES)})")
        if not share >= 0:
            _fail(f"shares[{key!r}]", f"must be >= 0, got {share}")
    if sum(p.shares.values()) <= 0:
        _fail("shares", "at least one member type needs a positive share")
    missing = [t for t in MEMBER_TYPES if t not in p.rates]
    if missing or len(p.rates) != len(MEMBER_TYPES):
        _fail("rates", f"needs exactly the member types {', '.join(MEMBER_TYPES)}")
    for member_type, rates in p.rates.items():
        for name in _PROBABILITIES:
            value = getattr(rates, name)
            if not 0.0 <= value <= 1.0:
                _fail(f"rates[{member_type!r}].{name}", f"must be in [0, 1], got {value}")
        if not (rates.messages >= 0 and rates.order_amount > 0):
            _fail(f"rates[{member_type!r}]", "messages must be >= 0 and order_amount > 0")
    if len(p.hour_effect) != 24 or not all(h > 0 for h in p.hour_effect):
        _fail("hour_effect", "needs 24 positive multipliers, one per local hour")
    for name in ("group_effect_sd", "day_effect_sd", "joins_per_day", "order_amount_sigma"):
        if not getattr(p, name) >= 0:
            _fail(name, f"must be >= 0, got {getattr(p, name)}")
    if not 0 < p.join_rate <= 1:
        _fail("join_rate", f"must be in (0, 1], got {p.join_rate}")
    if not p.open_delay_minutes > 0 or p.cold_start_window_days < 0:
        _fail("open_delay_minutes", "must be > 0 (and cold_start_window_days >= 0)")
    unknown_kinds = [k for k in p.kind_effects if k not in (*PUSH_KINDS, "welcome")]
    if unknown_kinds:
        _fail("kind_effects", f"unknown action kind {unknown_kinds[0]!r}")
    _check_effects("kind_effects", p.kind_effects)
    _check_effects("version_effects", p.version_effects)
    for key in p.version_effects:
        kind = key.partition("/")[2]
        if "/" in key and kind not in (*PUSH_KINDS, "welcome"):
            _fail("version_effects", f"unknown action kind {kind!r} in {key!r}")
    for key, lift in p.flash_sale_order_lift.items():
        if key not in MEMBER_TYPES or not lift >= 0:
            _fail("flash_sale_order_lift", f"bad entry {key!r}: {lift}")
    for name in ("cost_per_push", "cost_per_welcome", "coupon_value"):
        if not getattr(p, name) >= 0:
            _fail(name, f"must be >= 0, got {getattr(p, name)}")
