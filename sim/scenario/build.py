"""Exogenous processes from scenario specs: a price or gas section → its process object.

The builders read replayed data (CSV files, resolved against the scenario's folder) and check
its values against the schema's price and gas bounds, so a data file cannot bring in a value a
scenario file could not. Used by the model to generate the paths and by scenario validation to
report what a process rejects before anything runs.
"""

from __future__ import annotations

from sim.market import gas as gasm
from sim.market import prices as px
from sim.scenario.fields import GWEI_MAX, PRICE_MAX, PRICE_MIN
from sim.scenario.schema import (
    BridgePrice,
    ConstantGasSpec,
    GasSpec,
    GbmPrice,
    JumpDiffusionPrice,
    PriceSpec,
    ReplayGasSpec,
    ReplayPrice,
    Scenario,
    ScriptedPrice,
    SpikeGasSpec,
)


def build_price_process(spec: PriceSpec, scenario: Scenario) -> px.PriceProcess:
    """The exogenous process of a price spec (collateral or MKR) [USD/token].

    Raises:
        DataError: a replayed file or column is unusable (names file, line and column).
        ValueError: the parameters do not fit together (e.g. ``start`` contradicts ``points``).
        TypeError: ``spec`` is not a price spec.
    """
    if isinstance(spec, GbmPrice):
        return px.GBM(start=spec.start, vol=spec.vol, drift=spec.drift)
    if isinstance(spec, JumpDiffusionPrice):
        return px.JumpDiffusion(
            start=spec.start,
            vol=spec.vol,
            drift=spec.drift,
            jump_rate=spec.jump_rate,
            jump_mean=spec.jump_mean,
            jump_std=spec.jump_std,
        )
    if isinstance(spec, ScriptedPrice):
        crash = None
        if spec.crash is not None:
            crash = (spec.crash.depth, spec.crash.at, spec.crash.over)
        points = [tuple(p) for p in spec.points] if spec.points is not None else None
        if spec.start is None and points is None:
            raise ValueError("a scripted crash needs a start price")
        start = spec.start if spec.start is not None else points[0][1]
        return px.Scripted(start=start, points=points, crash=crash, vol=spec.vol)
    if isinstance(spec, ReplayPrice):
        return build_replay(spec, scenario, bounds=(PRICE_MIN, PRICE_MAX), vol=spec.vol)
    if isinstance(spec, BridgePrice):
        return px.Bridge(
            start=spec.start, target=spec.target, at=spec.at, vol=spec.vol, drift=spec.drift
        )
    raise TypeError(f"unknown price spec {type(spec).__name__}")


def build_gas_process(spec: GasSpec, scenario: Scenario) -> px.PriceProcess:
    """The gas process of a network section [gwei].

    Raises:
        DataError: a replayed file or column is unusable (names file, line and column).
        TypeError: ``spec`` is not a gas spec.
    """
    if isinstance(spec, ConstantGasSpec):
        return gasm.ConstantGas(spec.gwei)
    if isinstance(spec, SpikeGasSpec):
        return gasm.SpikeGas(
            base=spec.base, peak=spec.peak, at=spec.at, over=spec.over, decay=spec.decay
        )
    if isinstance(spec, ReplayGasSpec):
        return build_replay(spec, scenario, bounds=(0.0, GWEI_MAX))
    raise TypeError(f"unknown gas spec {type(spec).__name__}")


def build_replay(
    spec: ReplayPrice | ReplayGasSpec,
    scenario: Scenario,
    *,
    bounds: tuple[float, float],
    vol: float = 0.0,
) -> px.Replay:
    """A CSV column replayed on the scenario's clock (times relative to ``clock.start``).

    Args:
        spec: the replay section.
        scenario: the scenario (its folder and clock).
        bounds: lowest and highest value allowed in the column.
        vol: Brownian-bridge volatility [1/√yr] (prices only).

    Raises:
        DataError: the file or column is unusable, or a value is outside ``bounds``.
    """
    times, values = px.read_series_csv(
        scenario.resolve(spec.file),
        spec.column,
        time_column=spec.time_column,
        start=scenario.clock.start,
        bounds=bounds,
    )
    return px.Replay(
        times=times,
        values=values,
        interpolate=spec.interpolate,
        vol=vol,
        beyond=spec.beyond,
        after=spec.after,
    )
