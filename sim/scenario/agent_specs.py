"""The scenario schema's agents: borrower cohorts and their strategies, keepers, gas bids.

Part of the scenario schema (:mod:`sim.scenario.schema` holds the other sections and
:class:`~sim.scenario.schema.Scenario`); the value types and bounds are in
:mod:`sim.scenario.fields`.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BeforeValidator,
    Field,
    ValidationInfo,
    field_validator,
    model_serializer,
    model_validator,
)

from sim.scenario.fields import (
    AGENTS_MAX,
    BUMP_MAX,
    CR_MAX,
    DATA_FILE,
    NAME_MAX_CHARS,
    VAULTS_MAX,
    Amount,
    AmountOrZero,
    Cr,
    Duration,
    Fraction,
    Gwei,
    Name,
    PosDuration,
    Premium,
    Sigma,
    Strict,
    Wallet,
    _data_file,
    _float,
    _whole,
    field,
)

# ---------------------------------------------------------------------------------------- agents


class CrDist(Strict):
    """Initial collateral ratio distribution of a cohort's vaults (at the start price)."""

    dist: Literal["fixed", "uniform", "lognormal"] = "lognormal"
    median: Cr | None = field(
        None, label="median CR", description="lognormal median, or the fixed value"
    )
    sigma: Sigma = field(0.0, label="CR sigma", description="lognormal sigma")
    min: Cr | None = field(None, label="lowest CR")
    max: Cr | None = field(None, label="highest CR")


class SizeDist(Strict):
    """How a cohort's debt is split between its vaults."""

    dist: Literal["equal", "lognormal"] = "equal"
    sigma: Sigma = field(1.0, label="vault size sigma")


class PassiveStrategy(Strict):
    """Never acts."""

    kind: Literal["passive"]


class TargetCrStrategy(Strict):
    """When CR (at the market price) falls below ``trigger``, restore ``target``."""

    kind: Literal["target_cr"]
    trigger: Cr = field(label="trigger CR")
    target: Cr = field(label="target CR")
    react_prob: Fraction = field(
        1.0,
        label="reaction probability",
        description="chance per tick that a triggered vault acts",
    )
    delay: Duration = field(
        0.0, label="reaction delay", description="reaction delay after the trigger"
    )
    action: Literal["lock", "repay"] = "lock"
    wallet: Wallet = field(
        1.0,
        label="reserve per vault",
        description="reserve per vault as a fraction of its initial collateral (lock) or debt",
    )


class LeverageStrategy(Strict):
    """When CR rises above ``up``, draw Dai, buy collateral with it and lock it, back to ``target``."""

    kind: Literal["leverage"]
    target: Cr = field(label="target CR", description="CR to lever back to")
    up: Cr = field(label="lever-up CR", description="CR above which the vault levers up")
    react_prob: Fraction = field(1.0, label="reaction probability")
    delay: Duration = field(0.0, label="reaction delay")


class CloseStrategy(Strict):
    """When CR falls below ``panic``, buy Dai in the market, repay everything and exit."""

    kind: Literal["close"]
    panic: Cr = field(label="panic CR", description="CR below which the owner closes the vault")
    react_prob: Fraction = field(1.0, label="reaction probability")
    delay: Duration = field(0.0, label="reaction delay")
    sell_collateral: bool = Field(
        True, description="sell freed collateral to pay for the Dai bought (deleveraging)"
    )


Strategy = Annotated[
    PassiveStrategy | TargetCrStrategy | LeverageStrategy | CloseStrategy,
    Field(discriminator="kind"),
]


class FixedGasBid(Strict):
    """Every keeper of the group bids the same gas price every tick."""

    kind: Literal["fixed"]
    gwei: Gwei = field(label="gas bid", description="the bid [gwei]")


class LognormalGasBid(Strict):
    """Each keeper of the group draws its own fixed bid once (a spread of bot settings)."""

    kind: Literal["lognormal"]
    median: Gwei = field(label="median gas bid", description="median bid over the group [gwei]")
    sigma: Sigma = field(
        label="gas bid sigma", description="standard deviation of the log of the bid"
    )


class MarketGasBid(Strict):
    """Each tick the keeper bids the tick's gas price plus a premium, up to a cap."""

    kind: Literal["market"]
    premium: Premium = field(
        0.1, label="gas bid premium", description="bid over the tick's gas price, 0.1 = +10 %"
    )
    cap: Gwei = field(label="gas bid cap", description="the most the keeper ever bids [gwei]")


class GeometricGasBid(Strict):
    """A pending transaction re-sent at a higher price every ``every`` seconds.

    pymaker's ``GeometricGasPrice``, the makerdao keepers' strategy: ``initial · coefficient^k``
    after ``k`` steps, at most ``cap``; back to ``initial`` once it lands.
    """

    kind: Literal["geometric"]
    initial: Gwei = field(label="initial gas bid", description="the first bid [gwei]")
    every: PosDuration = field(label="gas bump interval", description="time between bumps")
    coefficient: Annotated[float, Field(gt=1, le=BUMP_MAX)] = field(
        1.125,
        unit="-",
        label="gas bump factor",
        description="bid multiplier per bump (1.125: pymaker's default; a replacement must bid "
        "at least 10 % more)",
    )
    cap: Gwei = field(label="gas bid cap", description="the most the keeper ever bids [gwei]")


GasBid = Annotated[
    FixedGasBid | LognormalGasBid | MarketGasBid | GeometricGasBid, Field(discriminator="kind")
]


#: Largest accumulated rate of a book's ``art`` [-]: a thousandfold (mainnet's are near 1.1).
RATE_ACCUMULATED_MAX = 1e3
#: Largest KDE bandwidth [standard deviations]: wider smooths the book into one blob.
BANDWIDTH_MAX = 10.0


class BookResample(Strict):
    """Draw the cohort's vaults from a kernel density fitted to the book's vaults.

    See :func:`sim.agents.resample.resample_book`: a Gaussian kernel density over (log debt,
    log CR) of the book's vaults with debt, bandwidth by Scott's rule on whitened data (or
    Silverman's, or a number of standard deviations), sampled within the book's ranges.
    """

    vaults: Annotated[int, BeforeValidator(_whole), Field(ge=1, le=VAULTS_MAX)] = field(
        unit="count", label="resampled vaults", description="vaults to draw"
    )
    debt: Amount | None = field(
        None,
        unit="Dai",
        label="resampled cohort debt",
        description="total debt of the drawn vaults [Dai]; default: the book's mean debt per "
        "vault times vaults",
    )
    cr_shift: _float("-", ge=-CR_MAX, le=CR_MAX) = field(
        0.0,
        label="CR shift",
        description="added to every drawn CR (-0.1: 10 points of collateral ratio less)",
    )
    bandwidth: Literal["scott", "silverman"] | _float("-", gt=0, le=BANDWIDTH_MAX) = field(
        "scott",
        label="KDE bandwidth",
        description="kernel width in standard deviations of the whitened (log debt, log CR), "
        "or scott / silverman (n^(-1/6), (n·3/4)^(-1/6) for two dimensions)",
    )


class BookSpec(Strict):
    """A cohort's vaults read from a CSV or Parquet file (schema: :mod:`sim.scenario.books`)."""

    file: str = Field(
        description="CSV or Parquet path, relative to the scenario file",
        json_schema_extra=DATA_FILE,
    )
    classes: list[Annotated[str, Field(min_length=1, max_length=NAME_MAX_CHARS)]] | None = Field(
        None,
        min_length=1,
        description="values of the file's class column this cohort takes (none: every row "
        "of its ilk)",
    )
    rate: _float("-", gt=0, le=RATE_ACCUMULATED_MAX) | None = field(
        None,
        label="accumulated rate",
        description="the ilk's rate for an art column (debt = art·rate) without a rate column",
    )
    resample: BookResample | None = Field(
        None, description="draw vaults from a density fitted to the book instead"
    )

    _exists = field_validator("file")(classmethod(lambda cls, v, info: _data_file(v, info)))

    @model_validator(mode="after")
    def _readable(self, info: ValidationInfo) -> BookSpec:
        from sim.scenario.books import book_path, read_book

        read_book(book_path(self, info.context), self.rate)  # BookError is a ValueError
        return self


#: Cohort fields that describe drawn vaults, which a book replaces.
DRAWN_FIELDS = ("vaults", "debt", "cr", "size")


class Cohort(Strict):
    """A group of vaults sharing an ilk and a strategy.

    Its vaults are drawn (``vaults``, ``debt``, ``cr``, ``size``) or read from a file
    (``book``); for a book, ``vaults`` and ``debt`` are filled in from the file when the
    scenario is validated (and left out of its written form).
    """

    name: Name
    ilk: str
    vaults: Annotated[int, BeforeValidator(_whole), Field(ge=1, le=VAULTS_MAX)] | None = field(
        None, unit="count"
    )
    debt: Amount | None = field(
        None,
        unit="Dai",
        label="cohort debt",
        description="total debt of the cohort at the start [Dai]",
    )
    cr: CrDist | None = None
    size: SizeDist = Field(default_factory=SizeDist)
    book: BookSpec | None = Field(
        None, description="read the vaults from a CSV or Parquet file instead of drawing them"
    )
    strategy: Strategy = Field(default_factory=lambda: PassiveStrategy(kind="passive"))
    gas: GasBid | None = Field(
        None,
        description="gas bidding of the cohort's vault transactions (top-ups, repayments, "
        "closes), with a network section; none = the tick's gas price",
    )

    @model_validator(mode="after")
    def _vaults_source(self, info: ValidationInfo) -> Cohort:
        if self.book is None:
            missing = [k for k in ("vaults", "debt", "cr") if getattr(self, k) is None]
            if missing:
                raise ValueError(
                    f"{', '.join(missing)} required (or a book: {{file: ...}} to read the vaults "
                    "from a file)"
                )
            return self
        given = [k for k in DRAWN_FIELDS if k in self.model_fields_set]
        if given:
            raise ValueError(
                f"a cohort with a book reads its vaults from the file: remove {', '.join(given)} "
                "(book.resample draws a number of vaults and a total debt)"
            )
        from sim.scenario.books import cohort_size

        vaults, debt = cohort_size(self, info.context)  # BookError is a ValueError
        return self.model_copy(update={"vaults": vaults, "debt": debt})

    @model_serializer(mode="wrap")
    def _written(self, handler: Any) -> Any:
        data = handler(self)
        if isinstance(data, dict):
            if self.book is None:
                data.pop("book", None)
            else:
                for key in DRAWN_FIELDS:
                    data.pop(key, None)
        return data


class MarketKeeperStrategy(Strict):
    """Bid near the market: Dutch takes and English bids at ``discount`` below its value."""

    kind: Literal["default"] = "default"
    discount: Fraction = field(
        0.05, label="keeper discount", description="required discount below the market price"
    )
    kick: bool = Field(
        True,
        description="also start auctions (bark/bite); false: bid only (auction-keeper's "
        "--bid-only, leaving kicks to kickers)",
    )


class LowballStrategy(Strict):
    """English auctions only: bid a tiny amount on every auction nobody has bid on."""

    kind: Literal["lowball"]
    bid: Amount = field(1.0e-18, unit="Dai", label="lowball bid", description="the bid [Dai]")


class KickerStrategy(Strict):
    """Start auctions only (``bark``/``bite``, auction-keeper's ``--kick-only``), never bid.

    A kicker barks a vault when the Clipper's incentive ``tip + chip·tab`` beats the bark's gas:
    with ``tip`` 0 and a high gas price, small vaults stay unkicked. Under Liquidations 1.x
    (no incentive) it bites every unsafe vault, as the keepers of 2020 did.
    """

    kind: Literal["kicker"]


def _default_kind(value: Any) -> Any:
    if isinstance(value, dict) and "kind" not in value:
        return {"kind": "default", **value}
    return value


KeeperStrategy = Annotated[
    MarketKeeperStrategy | LowballStrategy | KickerStrategy,
    Field(discriminator="kind"),
    BeforeValidator(_default_kind),
]


class KeeperSpec(Strict):
    """A group of identical keepers."""

    name: Name
    count: Annotated[int, BeforeValidator(_whole), Field(ge=1, le=AGENTS_MAX)] = field(
        1, unit="count", label="keepers"
    )
    dai: AmountOrZero = field(
        unit="Dai", label="capital per keeper", description="Dai capital per keeper [Dai]"
    )
    strategy: KeeperStrategy = Field(default_factory=lambda: MarketKeeperStrategy())
    gas_bid_gwei: Gwei | None = field(
        None,
        label="gas bid",
        description="a fixed gas bid [gwei] (short for gas: {kind: fixed}); with neither, the "
        "keeper bids the tick's gas price",
    )
    gas: GasBid | None = Field(None, description="gas bidding strategy")
    latency: Duration = Field(0.0, description="delay before the keeper sees an auction or price")
    settlement: Duration = field(
        0.0,
        label="settlement delay",
        description="time from winning collateral to its sale on an exchange, when its Dai comes "
        "back (0: sold in the same tick); the sale is at that later market price",
    )
    flash: bool = Field(False, description="Dutch takes with flash liquidity (no Dai needed)")
