"""The live run's controls: the scenario fields the dashboard lets you turn, as overrides.

A :class:`Control` names one field by its data path (``ilks.ETH-A.mat``), shows it in a unit fit
for a knob (hours for the crash's length, minutes for ``tail``) and writes it back as a
``path=value`` override, the same text ``cdpsim run --set`` takes. :func:`apply` turns the
controls' values into a scenario with :func:`sim.scenario.with_overrides`, so every value is
validated as a ``--set`` is, and a bad one is a :class:`~sim.scenario.ScenarioError` with the
override to blame, for the page to show. No solara here.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from sim.scenario import (
    ClipLiquidation,
    FixedGasBid,
    GeometricGasBid,
    LognormalGasBid,
    MarketGasBid,
    Scenario,
    ScriptedPrice,
    with_overrides,
)
from sim.scenario.paths import field_at, value_at

#: Keeper groups that get their own capital and gas controls (the first ones of the scenario;
#: the shipped scenarios have at most three, and a page of dozens of groups is unreadable).
MAX_KEEPER_GROUPS = 8
#: Seconds per unit of the duration controls.
HOUR, MINUTE = 3600.0, 60.0
#: The unit letter a duration override is written in, by seconds per unit.
DURATION_SUFFIX = {HOUR: "h", MINUTE: "m"}

Value = float | int | None
Widget = Literal["slider", "number", "integer"]


@dataclass(frozen=True)
class Control:
    """One knob of the live run: a scenario field in a display unit.

    Attributes:
        key: unique within the page (``mat``, ``keeper_dai_0``).
        label: what the page shows, with the unit in brackets.
        path: the scenario data path the value is written to (``ilks.ETH-A.mat``).
        widget: ``slider`` (bounded, ``lo``–``hi`` by ``step``), ``number`` (a float typed in;
            the scenario's bounds check it) or ``integer``.
        value: the scenario's value in the display unit (``None``: the field is unset).
        lo: the slider's lower end, in the display unit.
        hi: the slider's upper end.
        step: the slider's step.
        seconds: for a duration, seconds per display unit (3600 for hours); 0 otherwise.
        optional: an empty value is allowed and means the field is unset (``null``).
        help: one sentence: what the field does.
        clear: the path set to ``null`` for an empty value (default ``path``; the section
            holding the field when the field alone cannot be unset).
    """

    key: str
    label: str
    path: str
    widget: Widget
    value: Value
    lo: float = 0.0
    hi: float = 1.0
    step: float = 0.01
    seconds: float = 0.0
    optional: bool = False
    help: str = ""
    clear: str = ""

    def override(self, value: Value) -> str:
        """The ``path=value`` override that sets ``value`` (in the display unit)."""
        if value is None:
            return f"{self.clear or self.path}=null"
        if self.seconds:
            return f"{self.path}={float(value):g}{DURATION_SUFFIX[self.seconds]}"
        if self.widget == "integer":
            return f"{self.path}={int(value)}"
        return f"{self.path}={float(value)!r}"

    def read(self, scenario: Scenario) -> Value:
        """This control's value in ``scenario`` (in the display unit)."""
        raw = value_at(scenario, self.path)
        if raw is None:
            return None
        if self.seconds:
            return float(raw) / self.seconds
        return int(raw) if self.widget == "integer" else float(raw)


def _title(
    scenario: Scenario, path: str, owner: str = "", *, symbol: bool = False, unit: str = ""
) -> str:
    """A control's label: its field's label and unit in the schema (``ETH-A liquidation ratio``).

    Args:
        scenario: the scenario (its sections' tags pick the field of a union).
        path: the scenario data path.
        owner: what the field belongs to (an ilk, a collateral), put first.
        symbol: also show the field's dss name (``mat``) after its label.
        unit: the unit the control shows the value in (default the field's own).
    """
    found = field_at(Scenario, path, scenario)
    assert found is not None, path  # the controls name fields of the schema
    words = [owner, found.title, found.name if symbol and found.label else ""]
    unit = unit or found.unit
    text = " ".join(w for w in words if w)
    return f"{text} [{unit}]" if unit else text


def _slider(
    key: str,
    label: str,
    path: str,
    value: float,
    lo: float,
    hi: float,
    step: float,
    *,
    seconds: float = 0.0,
    help: str = "",
) -> Control:
    """A slider whose range is widened to hold the scenario's value."""
    return Control(
        key,
        label,
        path,
        "slider",
        value,
        lo=min(lo, value),
        hi=max(hi, value),
        step=step,
        seconds=seconds,
        help=help,
    )


def controls_for(scenario: Scenario) -> list[Control]:
    """The controls of a scenario's live run, each holding the scenario's value.

    For every ilk, in the scenario's order: its collateral's crash (a ``scripted`` price with a
    ``crash``) the first time that collateral comes, ``mat``, ``chop`` and, under Liquidations
    2.0, ``buf``, ``tail`` and ``cusp``, then its collateral's market depth (once per
    collateral). Then each of the first :data:`MAX_KEEPER_GROUPS` keeper groups' capital and,
    when the scenario has a ``network`` section (without one gas bids are ignored), gas bid; the
    seed. Keys of the first ilk and collateral are plain (``mat``, ``crash_depth``); later ones
    end in their position (``mat_1`` for the second ilk, ``market_depth_1`` for the second
    collateral).
    """
    out: list[Control] = []
    assets: list[str] = []
    for j, (ilk_name, ilk) in enumerate(scenario.ilks.items()):
        asset = ilk.collateral
        first_time = asset not in assets
        if first_time:
            assets.append(asset)
            out += _crash_controls(scenario, asset, _suffix(len(assets) - 1))
        out += _ilk_controls(scenario, ilk_name, _suffix(j))
        if first_time:
            out.append(_market_control(scenario, asset, _suffix(len(assets) - 1)))
    for i, keeper in enumerate(scenario.keepers[:MAX_KEEPER_GROUPS]):
        out.append(
            Control(
                f"keeper_dai_{i}",
                f"keepers '{keeper.name}': " + _title(scenario, f"keepers.{i}.dai"),
                f"keepers.{i}.dai",
                "number",
                keeper.dai,
                help=f"Dai each of the {keeper.count} keeper(s) of the group holds",
            )
        )
        if scenario.network is not None:
            out.append(_gas_control(scenario, i, keeper.name, keeper.gas, keeper.gas_bid_gwei))
    out.append(
        Control(
            "seed",
            _title(scenario, "seed"),
            "seed",
            "integer",
            scenario.seed,
            help="the run's random seed",
        )
    )
    return out


def _suffix(position: int) -> str:
    """The end of a control's key for the ilk or collateral at ``position`` (none for the first)."""
    return "" if position == 0 else f"_{position}"


def _crash_controls(scenario: Scenario, asset: str, sfx: str) -> list[Control]:
    """A collateral's crash depth and length, when its price is ``scripted`` with a ``crash``."""
    price = scenario.collateral[asset].price
    if not isinstance(price, ScriptedPrice) or price.crash is None:
        return []
    base = f"collateral.{asset}.price.crash"
    return [
        _slider(
            f"crash_depth{sfx}",
            _title(scenario, f"{base}.depth", asset),
            f"{base}.depth",
            price.crash.depth,
            0.05,
            0.95,
            0.01,
            help="the fraction of the price lost: 0.5 = the price halves",
        ),
        _slider(
            f"crash_over{sfx}",
            _title(scenario, f"{base}.over", asset, unit="h") + " (shorter = faster)",
            f"{base}.over",
            price.crash.over / HOUR,
            0.5,
            72.0,
            0.5,
            seconds=HOUR,
            help="how long the fall lasts",
        ),
    ]


def _ilk_controls(scenario: Scenario, ilk_name: str, sfx: str) -> list[Control]:
    """An ilk's ``mat`` and ``chop``, and under Liquidations 2.0 ``buf``, ``tail``, ``cusp``."""
    prefix = f"ilks.{ilk_name}"
    ilk = scenario.ilks[ilk_name]
    liq = ilk.liquidation

    def title(path: str, unit: str = "") -> str:
        return _title(scenario, path, ilk_name, symbol=True, unit=unit)

    out = [
        _slider(
            f"mat{sfx}",
            title(f"{prefix}.mat"),
            f"{prefix}.mat",
            ilk.mat,
            1.05,
            3.0,
            0.01,
            help="a vault is unsafe below this collateral ratio (at the OSM price)",
        ),
        _slider(
            f"chop{sfx}",
            title(f"{prefix}.liquidation.chop"),
            f"{prefix}.liquidation.chop",
            liq.chop,
            0.0,
            0.5,
            0.01,
            help="a fraction of the debt, added to what an auction must raise",
        ),
    ]
    if isinstance(liq, ClipLiquidation):
        out += [
            _slider(
                f"buf{sfx}",
                title(f"{prefix}.liquidation.buf"),
                f"{prefix}.liquidation.buf",
                liq.buf,
                1.0,
                2.0,
                0.01,
                help="a Dutch auction starts at buf × the OSM price",
            ),
            _slider(
                f"tail{sfx}",
                title(f"{prefix}.liquidation.tail", unit="min"),
                f"{prefix}.liquidation.tail",
                liq.tail / MINUTE,
                5.0,
                600.0,
                5.0,
                seconds=MINUTE,
                help="an auction older than this needs a reset (redo)",
            ),
            _slider(
                f"cusp{sfx}",
                title(f"{prefix}.liquidation.cusp"),
                f"{prefix}.liquidation.cusp",
                liq.cusp,
                0.05,
                0.95,
                0.01,
                help="an auction whose price fell below cusp × its start needs a reset",
            ),
        ]
    return out


def _market_control(scenario: Scenario, asset: str, sfx: str) -> Control:
    """A collateral's market depth: a pool's reserve, or the USD that move the price 2 %."""
    market = scenario.collateral[asset].market
    if market is not None and market.pool_usd is not None:
        return Control(
            f"market_depth{sfx}",
            _title(scenario, f"collateral.{asset}.market.pool_usd", asset),
            f"collateral.{asset}.market.pool_usd",
            "number",
            market.pool_usd,
            help="a constant-product pool with this USD reserve",
        )
    return Control(
        f"market_depth{sfx}",
        _title(scenario, f"collateral.{asset}.market.depth_usd_2pct", asset),
        f"collateral.{asset}.market.depth_usd_2pct",
        "number",
        None if market is None else market.depth_usd_2pct,
        optional=True,
        help="USD sold that move the price 2 %; empty: an infinitely deep market",
        clear=f"collateral.{asset}.market",
    )


def _gas_control(scenario: Scenario, i: int, name: str, gas: Any, fixed: float | None) -> Control:
    """A keeper group's gas bid: the field its bidding strategy reads."""
    key = f"keeper_gas_{i}"

    def gas_control(path: str, value: float | None, **kwargs: Any) -> Control:
        label = f"keepers '{name}': " + _title(scenario, path)
        return Control(key, label, path, "number", value, **kwargs)

    if isinstance(gas, FixedGasBid):
        return gas_control(f"keepers.{i}.gas.gwei", gas.gwei)
    if isinstance(gas, LognormalGasBid):
        return gas_control(f"keepers.{i}.gas.median", gas.median)
    if isinstance(gas, MarketGasBid | GeometricGasBid):
        return gas_control(f"keepers.{i}.gas.cap", gas.cap)
    return gas_control(
        f"keepers.{i}.gas_bid_gwei",
        fixed,
        optional=True,
        help="empty: the keeper bids the tick's gas price",
    )


def overrides(controls: list[Control], values: Mapping[str, Value], base: Scenario) -> list[str]:
    """The overrides that turn ``base`` into the scenario the values describe.

    Only the controls whose value differs from ``base`` give an override, so the messages of a
    bad value name that control's field alone.
    """
    out = []
    for control in controls:
        if control.key not in values:
            continue
        value = values[control.key]
        if value != control.read(base):
            out.append(control.override(value))
    return out


def apply(controls: list[Control], values: Mapping[str, Value], base: Scenario) -> Scenario:
    """The scenario the controls' values describe, validated.

    Raises:
        ScenarioError: a value the scenario refuses (the message blames its override).
    """
    changes = overrides(controls, values, base)
    return with_overrides(base, changes) if changes else base


def values_of(controls: list[Control], scenario: Scenario) -> dict[str, Value]:
    """Every control's value in ``scenario`` (what a model built from it was given)."""
    return {c.key: c.read(scenario) for c in controls}


def shown(control: Control, value: Value) -> str:
    """A value as the page writes it (``1.45``, ``24 h``, ``5,000,000``, ``none``)."""
    if value is None:
        return "none"
    if control.seconds:
        return f"{value:g} {DURATION_SUFFIX[control.seconds]}"
    if control.widget == "integer":
        return str(int(value))
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:g}"
