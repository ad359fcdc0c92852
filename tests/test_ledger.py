import pytest

from proxyx.errors import BudgetExceeded
from proxyx.ledger import Ledger
from proxyx.models.base import Answer

A = Answer(probs=(1.0, 0.0), prompt_tokens=100, completion_tokens=1, usd=0.01)
KEY = ("oracle-model", "oracle", "explain")


def test_paid_and_nominal():
    led = Ledger()
    led.record_call(KEY, A)
    led.record_hit(KEY, A)
    t = led.total()
    assert (t.calls, t.hits, t.usd) == (1, 1, 0.01)
    assert (t.nominal_calls, t.nominal_usd, t.nominal_tokens) == (2, 0.02, 202)


def test_filters_and_since():
    led = Ledger()
    led.record_call(KEY, A)
    snap = led.snapshot()
    led.record_call(("proxy", "proxy", "explain"), A)
    assert led.total(role="proxy").calls == 1
    assert led.total(since=snap).calls == 1
    assert led.total(model="oracle-model", since=snap).calls == 0


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
