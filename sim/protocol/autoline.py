"""Debt Ceiling Instant Access Module, DC-IAM (dss-auto-line ``DssAutoLine``).

Each configured ilk's debt ceiling follows its debt: ``exec`` sets ``line`` to
``min(debt + gap, maxline)``, where ``debt = Art·rate``. An increase is allowed only once ``ttl``
has passed since the last increase (``lastInc``); a decrease is allowed at any time; at most one
change per block (``last``). The system ceiling ``Line`` moves by the same difference. Comparisons
are exact, as dss's integer ones (a ceiling is a parameter, not a balance: no tolerance applies).

Source: makerdao/dss-auto-line@bff7e6cc:src/DssAutoLine.sol (``setIlk`` lines 81-86, ``exec``
lines 115-161).
"""

from __future__ import annotations

from dataclasses import dataclass

from sim.protocol.vat import ProtocolError, Vat


@dataclass
class AutoLineIlk:
    """One ilk's DC-IAM settings and state (dss ``DssAutoLine.Ilk``).

    Attributes:
        line: the most the ceiling may be set to [Dai] (dss ``line``, "max ceiling").
        gap: the room kept above the debt [Dai].
        ttl: least time between two increases [s].
        last: the block of the last change (-1: never) [block].
        lastInc: time of the last increase (-inf: never) [s since start].
    """

    line: float
    gap: float
    ttl: float
    last: int = -1
    lastInc: float = float("-inf")


class AutoLine:
    """``DssAutoLine``: sets the ceilings of the Vat's ilks from their debt.

    Attributes:
        vat: the Vat whose ``line`` and ``Line`` it files.
        ilks: the configured ilks by name.
    """

    def __init__(self, vat: Vat) -> None:
        """An AutoLine with no ilk configured."""
        self.vat = vat
        self.ilks: dict[str, AutoLineIlk] = {}

    def set_ilk(self, ilk_name: str, line: float, gap: float, ttl: float) -> None:
        """Configure an ilk (dss ``setIlk``): its state starts afresh (``last``, ``lastInc``).

        dss stores ``last = lastInc = 0`` (the Unix epoch), so the first increase never waits;
        here "never" is ``-1`` / ``-inf`` for the same effect on a clock starting at 0.

        Args:
            ilk_name: the ilk.
            line: the maximum ceiling [Dai], > 0.
            gap: the room above the debt [Dai], ≥ 0.
            ttl: least time between increases [s], ≥ 0.

        Raises:
            ProtocolError: ``line`` not positive (dss ``DssAutoLine/invalid-line``).
        """
        if not line > 0:
            raise ProtocolError("DssAutoLine/invalid-line: line must be positive")
        self.ilks[ilk_name] = AutoLineIlk(line=float(line), gap=float(gap), ttl=float(ttl))

    def rem_ilk(self, ilk_name: str) -> None:
        """Stop adjusting an ilk (dss ``remIlk``); its ceiling stays as it is."""
        self.ilks.pop(ilk_name, None)

    def exec(self, ilk_name: str, now: float, block: int) -> float:
        """Adjust the ilk's ceiling and ``Line`` (dss ``exec``); anyone may call it.

        ``lineNew = min(Art·rate + gap, maxline)``. Nothing changes when the ilk is not
        configured, when the ceiling already changed in ``block``, when ``lineNew == line``, or
        when ``lineNew > line`` and ``now < lastInc + ttl``. Otherwise ``line ← lineNew``,
        ``Line ← Line − line + lineNew``, ``last ← block`` and, on an increase, ``lastInc ←
        now``; an ``exec`` event is logged (``dai`` = the new ceiling).

        Args:
            ilk_name: the ilk.
            now: the call's time [s since start].
            block: the call's block number (the model passes its tick).

        Returns:
            The ilk's ceiling after the call [Dai].

        Raises:
            ProtocolError: ``Line`` below the ilk's ``line`` (dss ``sub`` underflow); nothing
                changes.
        """
        book = self.vat.ilks[ilk_name]
        line = book.line
        cfg = self.ilks.get(ilk_name)
        if cfg is None or cfg.last == block:
            return line
        line_new = min(book.Art * book.rate + cfg.gap, cfg.line)
        if line_new == line or (line_new > line and now < cfg.lastInc + cfg.ttl):
            return line
        if self.vat.Line < line:
            raise ProtocolError(
                f"DssAutoLine/sub-underflow: Line {self.vat.Line} below the {ilk_name} line {line}"
            )
        book.line = line_new
        self.vat.Line = self.vat.Line - line + line_new
        if line_new > line:
            cfg.lastInc = now
        cfg.last = block
        self.vat.log.add("exec", ilk=ilk_name, actor="system", dai=line_new)
        return line_new
