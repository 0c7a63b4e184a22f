"""Price-shock agent: drives the exogenous price processes of every collateral.

The paths are drawn once when the model is built (vectorised, from the ``prices`` stream so that
the path does not depend on the number of vaults or keepers); each tick the agent publishes the
tick's exogenous price to the market.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
import numpy as np

if TYPE_CHECKING:
    from sim.model import ProtocolModel


class PriceShockAgent(mesa.Agent):
    """Publishes pre-drawn exogenous prices, one row per tick.

    Attributes:
        assets: collateral names, in the column order of ``paths``.
        paths: exogenous prices, shape ``(n_ticks + 1, len(assets))`` [USD/token].
    """

    def __init__(self, model: ProtocolModel, assets: list[str], paths: np.ndarray):
        super().__init__(model)
        self.assets = assets
        self.paths = paths

    def publish(self, tick: int) -> None:
        """Set the market's exogenous prices to row ``tick``."""
        row = self.paths[min(tick, self.paths.shape[0] - 1)]
        for j, asset in enumerate(self.assets):
            self.model.market.set_exogenous(asset, float(row[j]))

    def step(self) -> None:
        """Publish the current tick's prices."""
        self.publish(self.model.tick)
