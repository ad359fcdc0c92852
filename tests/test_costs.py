"""Cost arithmetic: CRR, cost share, instances to the target share, fidelity summary (hand-computed cases)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from proxyx.costs import TARGET_COST_SHARE, cost_share, crr, fidelity_summary, instances_to_target, per_hour
from proxyx.results import Agreement, Comparison, Cost, InstanceCost, InstanceResult, QualityScores, Spend


def nominal(calls=0, tokens=0, nano_usd=0, seconds=0.0) -> Cost:
    return Cost(nominal=Spend(calls=calls, tokens=tokens, nano_usd=nano_usd, seconds=seconds))


def entry(i, *, all_oracle, with_proxy, with_proxy_oracle, estimated=False, fidelity=None, status="ok"):
    cost = InstanceCost(gate=Cost(), explanation=Cost(), evaluation=Cost(), all_oracle=all_oracle, estimated=estimated,
                        with_proxy=with_proxy, with_proxy_oracle=with_proxy_oracle)
    return InstanceResult(id=f"r{i}", text="t", cost=cost, fidelity=fidelity, status=status,
                          error="boom" if status == "failed" else None)


# Two instances explained by a proxy: each would cost the oracle 100 calls / 1,000 tokens / 1,000 n$;
# with the proxy, the oracle answers 1 call (the gate) and every model costs 60 n$.
PROXIED = [entry(i, all_oracle=nominal(100, 1000, 1000), with_proxy=nominal(41, 410, 60, 0.5),
                 with_proxy_oracle=nominal(1, 10, 50)) for i in range(2)]


def test_crr_without_a_screen():
    c = crr(PROXIED)
    assert (c.calls, c.tokens, c.usd) == (100.0, 100.0, pytest.approx(2000 / 120))
    assert c.with_proxies == Spend(calls=2, tokens=20, nano_usd=120, seconds=1.0)  # oracle calls, every model's $
    assert c.all_oracle == Spend(calls=200, tokens=2000, nano_usd=2000)
    assert c.cost_share_usd == pytest.approx(0.06) and c.screen is None and not c.estimated


def test_crr_counts_the_screen_in_the_denominator():
    screen = Spend(calls=300, tokens=3000, nano_usd=1880)
    c = crr(PROXIED, screen=screen, screen_oracle=Spend(calls=198, tokens=1980, nano_usd=1800))
    assert (c.calls, c.tokens, c.usd) == (1.0, 1.0, 1.0)
    assert c.screen == screen and c.cost_share_usd == 1.0


def test_crr_skips_failed_instances_and_says_when_estimated():
    failed = entry(9, all_oracle=nominal(), with_proxy=nominal(), with_proxy_oracle=nominal(), status="failed")
    estimated = entry(3, all_oracle=nominal(100, 1000, 1000), with_proxy=nominal(41, 410, 60),
                      with_proxy_oracle=nominal(1, 10, 50), estimated=True)
    c = crr([*PROXIED, failed, estimated])
    assert c.all_oracle.calls == 300 and c.estimated
    assert crr([failed]) is None and crr([]) is None


def test_crr_with_nothing_spent_is_undefined_not_infinite():
    free = entry(0, all_oracle=nominal(), with_proxy=nominal(), with_proxy_oracle=nominal())
    c = crr([free])
    assert (c.calls, c.tokens, c.usd, c.cost_share_usd) == (None, None, None, None)


def test_cost_share_and_per_hour():
    assert cost_share(Spend(nano_usd=11), Spend(nano_usd=100)) == 0.11
    assert cost_share(Spend(nano_usd=1), Spend()) is None
    assert per_hour(3, 1.5) == 7200.0 and per_hour(3, 0.0) is None


@pytest.mark.parametrize("share, screen_usd, per_instance, expected", [
    pytest.param(0.05, 6.0, 1.0, 100, id="screen-of-6-explanations-at-5pct"),
    pytest.param(0.10, 0.5, 1.0, 50, id="just-under-the-target"),
    pytest.param(0.05, 0.0, 1.0, 1, id="no-screen"),
    pytest.param(0.11, 1.0, 1.0, None, id="at-the-target-never"),
    pytest.param(0.40, 1.0, 1.0, None, id="above-the-target-never"),
    pytest.param(None, 1.0, 1.0, None, id="undefined-share"),
    pytest.param(0.05, 1.0, 0.0, None, id="free-oracle"),
])
def test_instances_to_target(share, screen_usd, per_instance, expected):
    n = instances_to_target(share, screen_usd, per_instance)
    assert n == expected
    if n is not None:  # n instances reach the target, n - 1 do not
        assert share + screen_usd / (n * per_instance) <= TARGET_COST_SHARE + 1e-12
        assert n == 1 or share + screen_usd / ((n - 1) * per_instance) > TARGET_COST_SHARE


def comparison(qp: float, qo: float, spearman: float | None) -> Comparison:
    q = lambda a: QualityScores(aopc=a, comprehensiveness=a, sufficiency=0.0, k=1)  # noqa: E731
    return Comparison(q_proxy=q(qp), q_oracle=q(qo), fidelity=qp / qo if qo > 0 else None,
                      agreement=Agreement(spearman=spearman, kendall=None, topk_jaccard=1.0, sign_agreement=0.5, k=1))


def test_fidelity_summary_by_hand():
    rows = [(0.2, 0.4, 1.0), (0.3, 0.3, None), (0.1, -0.1, 0.5)]  # fidelity 0.5, 1.0, undefined
    entries = [entry(i, all_oracle=nominal(), with_proxy=nominal(), with_proxy_oracle=nominal(),
                     fidelity=comparison(*r)) for i, r in enumerate(rows)]
    entries.append(entry(9, all_oracle=nominal(), with_proxy=nominal(), with_proxy_oracle=nominal()))  # no reference
    f = fidelity_summary(entries)
    assert (f.n, f.undefined, f.mean_fidelity) == (3, 1, 0.75)
    half = stats.t.ppf(0.975, 1) * np.std([0.5, 1.0], ddof=1) / np.sqrt(2)  # Student t with n - 1 = 1 df, not 1.96
    assert f.ci95 == pytest.approx((0.75 - half, 0.75 + half))
    assert (f.mean_q_proxy, f.mean_q_oracle) == (pytest.approx(0.2), pytest.approx(0.2))
    assert f.ratio_of_means == pytest.approx(1.0)
    assert (f.mean_spearman, f.mean_topk_jaccard, f.mean_sign_agreement) == (0.75, 1.0, 0.5)


def test_fidelity_summary_edge_cases():
    one = [entry(0, all_oracle=nominal(), with_proxy=nominal(), with_proxy_oracle=nominal(),
                 fidelity=comparison(0.1, 0.0, None))]
    f = fidelity_summary(one)
    assert (f.mean_fidelity, f.ci95, f.ratio_of_means, f.mean_spearman) == (None, None, None, None)
    assert fidelity_summary([]) is None
