"""Peg Stability Module (dss-psm ``DssPsm``): swap a stable collateral for Dai at 1:1 with fees.

The PSM owns the only vault of its own ilk (e.g. ``PSM-USDC-A``, ``spot = 1``, ``rate = 1``,
``dust = 0``). Selling gem locks it in that vault and draws the same amount of Dai; buying gem
repays Dai and frees it. The ilk's debt ceiling ``line`` bounds the Dai the PSM can mint.

- ``tin``: fee on selling gem for Dai [-] (0.001 = 0.1 %), paid to the Vow.
- ``tout``: fee on buying gem with Dai [-], paid to the Vow.
- gem amounts are in Dai-equivalent tokens (the gem's decimals are abstracted away).

Dai moves through the Vat: the vault is ``frob``-bed (the Vat's convention: collateral locked
comes from, and collateral freed goes to, the outside; Dai drawn leaves the internal accounts
and repaid Dai comes from outside), and the user's and the Vow's Dai are internal ``vat.dai``
balances (``join_dai``/``exit_dai`` between the two, as DaiJoin does).
"""

from __future__ import annotations

import numpy as np

from sim.protocol import numeric as num
from sim.protocol.vat import FROB_CEILING, FROB_OK, FROB_REASONS, ProtocolError, Vat

#: The PSM's account name in the Vat.
PSM_ACCOUNT = "psm"


class PSM:
    """Peg Stability Module for one stable collateral.

    Attributes:
        vat: the Vat.
        ilk: the PSM's ilk name.
        tin: sell fee [-].
        tout: buy fee [-].
        vow: account receiving the fees.
        account: the PSM's own Vat account.
        urn: index of the PSM's vault in the ilk's book (0).
    """

    def __init__(
        self,
        vat: Vat,
        ilk: str = "PSM-USDC-A",
        *,
        line: float = np.inf,
        tin: float = 0.0,
        tout: float = 0.0,
        vow: str = "vow",
        account: str = PSM_ACCOUNT,
    ) -> None:
        if tin < 0 or tout < 0 or tin >= 1:
            raise ValueError("PSM fees must satisfy 0 <= tin < 1 and tout >= 0")
        self.vat = vat
        self.ilk = ilk
        self.tin = float(tin)
        self.tout = float(tout)
        self.vow = vow
        self.account = account
        self.urn = 0
        book = vat.init_ilk(ilk, 1, line=line, dust=0.0)
        book.spot = 1.0
        book.rate = 1.0

    @property
    def gem(self) -> float:
        """Gem held by the PSM (its vault's ``ink``) [tokens]."""
        return float(self.vat.ilks[self.ilk].ink[self.urn])

    @property
    def debt(self) -> float:
        """Dai minted by the PSM (its vault's ``art·rate``) [Dai]."""
        book = self.vat.ilks[self.ilk]
        return float(book.art[self.urn] * book.rate)

    def room(self) -> float:
        """Dai the PSM can still mint before the ilk ``line`` or the system ``Line`` [Dai]."""
        book = self.vat.ilks[self.ilk]
        return max(min(book.line - book.Art * book.rate, self.vat.Line - self.vat.debt), 0.0)

    def sell_gem(self, who: str, gem_amt: float) -> float:
        """Swap ``gem_amt`` gem for ``gem_amt·(1 − tin)`` Dai to ``who`` (dss-psm ``sellGem``).

        The fee ``gem_amt·tin`` goes to the Vow.

        Returns:
            The Dai received by ``who`` [Dai].

        Raises:
            ProtocolError: when the ilk ``line`` (or ``Line``) would be exceeded; nothing changes.
        """
        if gem_amt < 0:
            raise ProtocolError("PSM/negative-amount")
        book = self.vat.ilks[self.ilk]
        code = self.vat.frob_many(
            self.ilk,
            np.array([self.urn]),
            np.array([gem_amt]),
            np.array([gem_amt / book.rate]),
            actor="psm",
            log=False,
        )
        if code[0] == FROB_CEILING:
            raise ProtocolError(
                f"PSM/line: selling {gem_amt} would exceed the debt ceiling "
                f"(room {self.room()} Dai under {self.ilk} line {book.line})"
            )
        if code[0] != FROB_OK:
            raise ProtocolError(f"PSM/sell: {FROB_REASONS[int(code[0])]}")
        fee = gem_amt * self.tin
        dai_amt = gem_amt - fee
        # The drawn Dai re-enters the internal accounts: to the user, the fee to the Vow.
        self.vat.join_dai(self.account, gem_amt)
        self.vat.move(self.account, who, dai_amt)
        self.vat.move(self.account, self.vow, fee)
        self.vat.log.add(
            "psm_sell",
            ilk=self.ilk,
            vault=self.urn,
            actor=who,
            collateral=gem_amt,
            dai=dai_amt,
            price=1.0,
        )
        return dai_amt

    def buy_gem(self, who: str, gem_amt: float) -> float:
        """Swap ``gem_amt·(1 + tout)`` of ``who``'s Dai for ``gem_amt`` gem (dss-psm ``buyGem``).

        The fee ``gem_amt·tout`` goes to the Vow.

        Returns:
            The Dai paid by ``who`` [Dai].

        Raises:
            ProtocolError: when the PSM holds less gem or ``who`` less Dai; nothing changes.
        """
        if gem_amt < 0:
            raise ProtocolError("PSM/negative-amount")
        if not num.covers(self.gem, gem_amt):
            raise ProtocolError(f"PSM/insufficient-gem: the PSM holds {self.gem}, asked {gem_amt}")
        fee = gem_amt * self.tout
        dai_amt = gem_amt + fee
        have = self.vat.dai.get(who, 0.0)
        if not num.covers(have, dai_amt):
            raise ProtocolError(f"PSM/insufficient-dai: {who} has {have} Dai, needs {dai_amt}")
        book = self.vat.ilks[self.ilk]
        gem_amt = min(gem_amt, self.gem)
        self.vat.move(who, self.account, dai_amt)
        # The repaid Dai leaves the internal accounts, as the Vat's frob expects.
        self.vat.exit_dai(self.account, gem_amt)
        code = self.vat.frob_many(
            self.ilk,
            np.array([self.urn]),
            np.array([-gem_amt]),
            np.array([-gem_amt / book.rate]),
            actor="psm",
            log=False,
        )
        if code[0] != FROB_OK:  # cannot happen with rate == 1; undo the Dai moves
            self.vat.join_dai(self.account, gem_amt)
            self.vat.move(self.account, who, dai_amt)
            raise ProtocolError(f"PSM/buy: {FROB_REASONS[int(code[0])]}")
        self.vat.move(self.account, self.vow, fee)
        self.vat.log.add(
            "psm_buy",
            ilk=self.ilk,
            vault=self.urn,
            actor=who,
            collateral=gem_amt,
            dai=dai_amt,
            price=1.0,
        )
        return dai_amt
