"""The feed-to-article path fuzzed at a small budget in CI (SINORUS_FUZZ_BUDGET raises it;
scripts/fuzz.py runs it for a given time)."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, given, settings

from tests.conftest import SHARED
from tests.reliability.support import (
    FUZZ_SEED_FEED,
    feed_to_article,
    fuzz_inputs,
    fuzz_seeds,
    record,
)

BUDGET = int(os.environ.get("SINORUS_FUZZ_BUDGET") or 150)
SEEDS = fuzz_seeds(SHARED / "corpora")


def test_the_seed_feed_reaches_the_detector() -> None:
    # The fuzzer starts from inputs that go all the way through, not only from parse errors.
    assert feed_to_article(FUZZ_SEED_FEED) > 0


@settings(
    max_examples=BUDGET,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(fuzz_inputs(SEEDS))
def test_feed_to_article_never_raises(data: bytes) -> None:
    feed_to_article(data)


def test_fuzz_budget_is_reported() -> None:
    assert BUDGET > 0
    record(bad_inputs=BUDGET)
