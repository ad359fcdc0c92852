import random

import pytest

from proxyx.errors import BudgetExceeded
from proxyx.ledger import Ledger
from proxyx.models.base import Answer
from proxyx.results import Cost, Spend

A = Answer(probs=(1.0, 0.0), prompt_tokens=100, completion_tokens=1, usd=0.01, seconds=0.25)
KEY = ("oracle-model", "oracle", "explain")


def test_paid_and_nominal():
    led = Ledger()
    led.record_call(KEY, A)
    led.record_hit(KEY, A)
    t = led.total()
    assert (t.paid.calls, t.hits, t.paid.usd, t.paid.tokens) == (1, 1, 0.01, 101)
    assert (t.nominal.calls, t.nominal.usd, t.nominal.tokens, t.nominal.seconds) == (2, 0.02, 202, 0.5)
    assert t.paid.nano_usd == 10_000_000


def test_filters_and_since():
    led = Ledger()
    led.record_call(KEY, A)
    snap = led.snapshot()
    led.record_call(("proxy", "proxy", "explain"), A)
    assert led.total(role="proxy").paid.calls == 1
    assert led.total(since=snap).paid.calls == 1
    assert led.total(model="oracle-model", since=snap).paid.calls == 0
    assert snap[KEY].paid.calls == 1  # a snapshot does not move with later calls


def test_failures_are_counted_apart():
    led = Ledger()
    led.record_failure(KEY)
    assert led.total() == Cost(failures=1)
    (row,) = led.rows()
    assert (row.model, row.role, row.purpose, row.cost.failures) == (*KEY, 1)


def test_sums_are_exact_whatever_the_order():
    """Dollars are integer nano-dollars and seconds are rounded: a resumed run sums to the same figures."""
    answers = [Answer(probs=(0.5, 0.5), prompt_tokens=7, usd=u, seconds=s)
               for u, s in zip([3.1e-7, 0.0123456789, 2.5e-6, 1e-3] * 25, [0.1, 0.2, 0.3, 0.017] * 25)]
    totals = set()
    for seed in range(5):
        led = Ledger()
        order = answers[:]
        random.Random(seed).shuffle(order)
        for i, a in enumerate(order):
            (led.record_call if i % 2 else led.record_hit)(KEY, a)
        totals.add(led.total().nominal)
    assert len(totals) == 1
    (nominal,) = totals
    assert nominal.nano_usd == 25 * (310 + 12_345_679 + 2_500 + 1_000_000)
    assert nominal == Spend(calls=100, tokens=700, nano_usd=nominal.nano_usd, seconds=15.425)


def test_budget_reserves_before_sending():
    led = Ledger(max_usd=0.025)
    led.reserve(0.01)
    led.record_call(KEY, A)
    led.release(0.01)
    led.reserve(0.01)  # 0.01 spent + 0.01 reserved
    with pytest.raises(BudgetExceeded, match="max_usd=0.025"):
        led.reserve(0.01)  # could pass the cap
    led.release(0.01)
    led.reserve(0.01)
    assert led.spent_usd == 0.01
