"""The dashboard's views (sim/app/views.py) without a browser.

The page itself, driven by a user, is tested in a real browser in tests/test_app_browser.py.
"""

from __future__ import annotations

import pytest

pytest.importorskip("solara")

from sim.app.views import fan_page_labels


def test_fan_pages_are_labelled_by_their_scenarios():
    pages = [[f"s{k}" for k in range(8)], ["s8", "s9"]]
    assert fan_page_labels(pages) == ["1–8 of 10: s0, s1, s2, …", "9–10 of 10: s8, s9"]
    assert fan_page_labels([["only"]]) == ["1 of 1: only"]
    assert fan_page_labels([["a", "b"], ["c"]])[1] == "3 of 3: c"
