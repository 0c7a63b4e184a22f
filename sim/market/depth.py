"""The collateral market seen by agents: the price at which keepers and borrowers trade.

At this stage the market price is the exogenous price (infinitely deep market).
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Market:
    """Market prices per collateral asset.

    Attributes:
        exogenous: the exogenous price of each asset this tick [USD/token].
    """

    exogenous: dict[str, float] = field(default_factory=dict)

    def set_exogenous(self, asset: str, price: float) -> None:
        """Publish the exogenous price of ``asset`` for this tick [USD/token]."""
        self.exogenous[asset] = price

    def price(self, asset: str) -> float:
        """The market price of ``asset`` [USD/token]."""
        return self.exogenous[asset]
