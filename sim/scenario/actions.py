"""Governance actions: what a spell's (or a governor's) ``do`` list calls on the live protocol.

A spell's ``set`` files parameters; its ``do`` list calls the levers governance holds beside
them, in list order after the ``set``, at the same tick. Each action is one entry of the
registry :data:`ACTIONS`, keyed by its ``action`` tag, and an entry holds the three things the
rest of the code needs:

- ``schema``: the pydantic section of the action in a scenario file (a :class:`Strict` model
  whose ``action`` field is ``Literal["<tag>"]``); the scenario schema's ``do`` lists accept
  the union of every entry's section (:data:`Action`), so the registry is the one place to add
  an action;
- ``check(scenario, action)``: what cannot be seen in the action alone (an unknown asset or
  ilk, a breaker on a flip ilk), as a list of ``(field, message)`` pairs; the loader reports
  each as ``file:line: governance.spells.<i>.do.<j>.<field>: message`` before the run;
- ``apply(model, action)``: the call on the live model (a
  :class:`~sim.model.ProtocolModel`; this package never imports it, the entry reads the
  attributes it needs) at the model's ``now``, returning ``(ilk, text)`` for the ``spell``
  event the model logs (``ilk`` ``""`` for a system action).

Adding an action is one section, one call and one entry of :data:`ACTIONS`, in this module
(``cage`` below is the smallest example)::

    class Cage(Strict):
        action: Literal["cage"]

    def _cage(model, action):
        model.cage()  # the model's single entry point of shutdown
        return "", "cage"

    ACTIONS = {..., "cage": ActionKind(Cage, _nothing, _cage)}

:data:`Action` (the schema's union) is built from the registry when this module is imported, so
the new tag is then accepted in every ``do`` list, checked, listed in the "unknown action"
message and called; its tag must be new.

The actions (each cites the contract it follows):

- ``stop_osm`` / ``start_osm`` (``asset``): the OsmMom stops the asset's OSM (pokes refused,
  its prices frozen; makerdao/osm-mom ``OsmMom.stop``) or governance starts it again (osm
  ``start``, :meth:`~sim.protocol.oracle.OSM.resume`).
- ``void_osm`` (``asset``): osm ``void``: both prices cleared and invalid, the OSM stopped; the
  Spotter then files ``spot = 0`` (dss spot.sol ``poke`` lines 98-103: ``has`` false → 0), so
  no vault can be barked (dss dog.sol ``bark`` line 181 requires ``spot > 0``) and no auction
  kicked or reset (dss clip.sol ``getFeedPrice`` line 216, ``Clipper/invalid-price``; ``take``
  does not read the price and goes on). A voided OSM started again needs two hops to give a
  valid current price (its next price is invalid too).
- ``breaker`` (``ilk``, ``level`` 0-3, ``delay``): ClipperMom ``setBreaker`` on the ilk's
  Clipper (clipper-mom ``setBreaker`` lines 125-132): level 1 refuses kicks, 2 resets too, 3
  takes too; tripping is locked for ``delay``. A flip ilk has no Clipper: refused.
- ``flap`` / ``flop`` (``on``): surplus / debt auctions off (or on again). Governance turns them
  off in practice by filing the Vow's ``bump`` / ``sump`` to the largest value (no auction can
  then be kicked: dss vow.sol ``flap`` requires ``bump`` of surplus, ``flop`` ``sump`` of free
  debt); here the Vow keeps its parameters and skips the kick while off. Running auctions go on.
- ``cage``: Emergency Shutdown by governance (dss end.sol ``cage``, which governance can call
  with the End's authority): :meth:`~sim.model.ProtocolModel.cage` cages the End and every ilk
  at its OSM price, and the shutdown process runs to the end of the run
  (:mod:`sim.shutdown`).
- ``esm`` (``mkr``): MKR holders join ``mkr`` MKR into the Emergency Shutdown Module
  (makerdao/esm ``join``); once the module holds its ``min`` (``system.esm.min``) it is fired
  (``fire``, which anyone may call), which cages the End as ``cage`` does.

After a shutdown, a spell's or governor's ``cage`` or ``esm`` is refused and logged (dss
``End/not-live``, ``ESM/system-already-shutdown``), as is a ``set`` (the caged Vat, Jug and
Spotter refuse ``file``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Literal, Union

from pydantic import Field

from sim.scenario.fields import Amount, Duration, Name, Strict, field

if TYPE_CHECKING:
    from sim.scenario.schema import Scenario


class StopOsm(Strict):
    """Stop an asset's OSM (OsmMom ``stop``): pokes refused, its prices frozen."""

    action: Literal["stop_osm"]
    asset: Name = Field(description="the collateral whose OSM is stopped")


class StartOsm(Strict):
    """Start a stopped OSM again (osm ``start``)."""

    action: Literal["start_osm"]
    asset: Name = Field(description="the collateral whose OSM is started")


class VoidOsm(Strict):
    """Void an asset's OSM (osm ``void``): prices cleared and invalid, ``spot`` 0, OSM stopped."""

    action: Literal["void_osm"]
    asset: Name = Field(description="the collateral whose OSM is voided")


class Breaker(Strict):
    """Set a Clipper's circuit breaker (ClipperMom ``setBreaker``)."""

    action: Literal["breaker"]
    ilk: Name = Field(description="the Liquidations 2.0 ilk whose Clipper is set")
    level: Literal[0, 1, 2, 3] = Field(
        description="0 none, 1 no new auctions, 2 also no resets, 3 also no takes"
    )
    delay: Duration = field(
        0.0,
        label="breaker lock",
        description="how long anyone's tripBreaker is refused after it",
    )


class Flap(Strict):
    """Turn the Vow's surplus auctions off or on again."""

    action: Literal["flap"]
    enabled: bool = Field(description="whether the Vow kicks surplus auctions")


class Flop(Strict):
    """Turn the Vow's debt auctions off or on again."""

    action: Literal["flop"]
    enabled: bool = Field(description="whether the Vow kicks debt auctions")


class Cage(Strict):
    """Emergency Shutdown by governance: the End is caged (dss end.sol ``cage``)."""

    action: Literal["cage"]


class Esm(Strict):
    """MKR joined into the Emergency Shutdown Module; fired once it holds its ``min``."""

    action: Literal["esm"]
    mkr: Amount = field(
        unit="MKR", label="MKR joined", description="MKR committed to the ESM (burnt, not returned)"
    )


#: ``check(scenario, action)`` → ``(field, message)`` problems (field ``""``: the entry itself).
Check = Callable[["Scenario", Any], list[tuple[str, str]]]
#: ``apply(model, action)`` → ``(ilk, text)`` of the event logged (ilk ``""``: system).
Apply = Callable[[Any, Any], tuple[str, str]]


@dataclass(frozen=True)
class ActionKind:
    """One registered action: its section in a scenario file, its checks and its call.

    Attributes:
        schema: the pydantic section (its ``action`` field a one-tag ``Literal``).
        check: the problems of an action in a scenario, before the run.
        apply: the call on the live model at its ``now``; returns the event's ilk and text.
    """

    schema: type[Strict]
    check: Check
    apply: Apply


def _asset_known(scenario: Scenario, action: Any) -> list[tuple[str, str]]:
    if action.asset in scenario.collateral:
        return []
    have = ", ".join(scenario.collateral)
    return [("asset", f"unknown asset {action.asset!r} (collateral: {have})")]


def _clip_ilk(scenario: Scenario, action: Any) -> list[tuple[str, str]]:
    spec = scenario.ilks.get(action.ilk)
    if spec is None:
        return [("ilk", f"unknown ilk {action.ilk!r} (defined: {', '.join(scenario.ilks)})")]
    if spec.liquidation.engine != "clip":
        return [
            (
                "ilk",
                f"{action.ilk} liquidates with a Flipper (engine: flip): the breaker is the "
                "Clipper's (ClipperMom setBreaker)",
            )
        ]
    return []


def _nothing(scenario: Scenario, action: Any) -> list[tuple[str, str]]:
    return []


def _stop_osm(model: Any, action: StopOsm) -> tuple[str, str]:
    model.osms[action.asset].stop()
    return "", f"stop_osm {action.asset}"


def _start_osm(model: Any, action: StartOsm) -> tuple[str, str]:
    model.osms[action.asset].resume()
    return "", f"start_osm {action.asset}"


def _void_osm(model: Any, action: VoidOsm) -> tuple[str, str]:
    model.osms[action.asset].void()
    return "", f"void_osm {action.asset}"


def _breaker(model: Any, action: Breaker) -> tuple[str, str]:
    model.clipper_mom.set_breaker(model.clippers[action.ilk], action.level, action.delay, model.now)
    return action.ilk, f"breaker {action.ilk} level {action.level}"


def _flap(model: Any, action: Flap) -> tuple[str, str]:
    model.vow.flapping = action.enabled
    return "", f"flap {'on' if action.enabled else 'off'}"


def _flop(model: Any, action: Flop) -> tuple[str, str]:
    model.vow.flopping = action.enabled
    return "", f"flop {'on' if action.enabled else 'off'}"


def _cage(model: Any, action: Cage) -> tuple[str, str]:
    if model.shutdown is not None:
        return "", "cage refused: the system is already shut down (End/not-live)"
    model.cage()
    return "", "cage"


#: The ESM joiners' name in the MKR ledger (the MKR is credited to it from outside the model).
ESM_JOINERS = "esm-joiners"


def _esm(model: Any, action: Esm) -> tuple[str, str]:
    esm = model.esm
    if model.shutdown is not None:
        return "", "esm refused: the system is already shut down (ESM/system-already-shutdown)"
    model.vow.give_mkr(ESM_JOINERS, action.mkr)
    esm.join(ESM_JOINERS, action.mkr)
    text = f"esm: {action.mkr:.10g} MKR joined, {esm.Sum:.10g} of {esm.min:.10g}"
    if esm.Sum >= esm.min:
        esm.fire(model.now)
        return "", text + ": fired"
    return "", text


#: The registry: action tag → its section, checks and call (see the module docstring).
ACTIONS: dict[str, ActionKind] = {
    "stop_osm": ActionKind(StopOsm, _asset_known, _stop_osm),
    "start_osm": ActionKind(StartOsm, _asset_known, _start_osm),
    "void_osm": ActionKind(VoidOsm, _asset_known, _void_osm),
    "breaker": ActionKind(Breaker, _clip_ilk, _breaker),
    "flap": ActionKind(Flap, _nothing, _flap),
    "flop": ActionKind(Flop, _nothing, _flop),
    "cage": ActionKind(Cage, _nothing, _cage),
    "esm": ActionKind(Esm, _nothing, _esm),
}


def action_union() -> Any:
    """The schema type of one ``do`` entry: the registry's sections, told apart by ``action``."""
    members = tuple(kind.schema for kind in ACTIONS.values())
    return Annotated[Union[members], Field(discriminator="action")]  # noqa: UP007


#: One ``do`` entry (any registered action).
Action = action_union()


def action_problems(scenario: Scenario, actions: list[Any]) -> list[tuple[tuple, str]]:
    """The problems of a ``do`` list in a scenario: ``((j, field…), message)`` per problem."""
    out: list[tuple[tuple, str]] = []
    for j, action in enumerate(actions):
        for where, message in ACTIONS[action.action].check(scenario, action):
            out.append(((j, where) if where else (j,), message))
    return out


def apply_action(model: Any, action: Any) -> tuple[str, str]:
    """Call ``action`` on the live model; returns the event's ilk and text."""
    return ACTIONS[action.action].apply(model, action)
