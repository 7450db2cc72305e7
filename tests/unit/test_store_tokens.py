"""Store.token_urlsafe: the strings a seed gave through ``Random.choice``, drawn more cheaply."""

from __future__ import annotations

from random import Random

import pytest

from mock_server.store import URLSAFE, Store


@pytest.mark.parametrize("seed", [0, 1, 20230815, 2**40 + 7])
def test_token_urlsafe__gives_what_random_choice_gave_for_the_same_seed(seed: int) -> None:
    store = Store.__new__(Store)  # the method reads only the generator it is given
    ours, theirs = Random(seed), Random(seed)
    for length in (0, 1, 6, 27, 40, 200):
        expected = "".join(theirs.choice(URLSAFE) for _ in range(length))
        assert store.token_urlsafe(length, ours) == expected
    assert ours.getstate() == theirs.getstate(), "the generator is left where choice left it"
