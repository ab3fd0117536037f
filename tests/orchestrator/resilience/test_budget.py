"""The retry budget: extra attempts may add only a share of recent calls, plus a floor per second."""

from __future__ import annotations

from orchestrator.resilience.budget import RetryBudget, RetryBudgetConfig


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def spendable(budget: RetryBudget) -> int:
    spent = 0
    while budget.try_spend():
        spent += 1
    return spent


def test_with_no_traffic_only_the_floor_is_allowed():
    budget = RetryBudget(RetryBudgetConfig(ratio=0.2, min_per_s=1, window_s=10), Clock())
    assert spendable(budget) == 10  # 1 per second over 10 seconds


def test_calls_add_their_share():
    clock = Clock()
    budget = RetryBudget(RetryBudgetConfig(ratio=0.2, min_per_s=0, window_s=10), clock)
    for _ in range(100):
        budget.record_call()
    assert spendable(budget) == 20


def test_an_exhausted_budget_refuses_until_the_window_moves_on():
    clock = Clock()
    budget = RetryBudget(RetryBudgetConfig(ratio=0.5, min_per_s=0, window_s=10), clock)
    for _ in range(10):
        budget.record_call()
    assert spendable(budget) == 5
    assert budget.try_spend() is False
    clock.now = 5.0  # half a window on: the calls and the extra attempts still count
    assert budget.try_spend() is False
    clock.now = 10.5  # past the window: both are forgotten
    for _ in range(4):
        budget.record_call()
    assert spendable(budget) == 2


def test_a_sick_service_gets_at_most_its_share_however_often_it_fails():
    """Every call fails and wants two retries: the extra load stays near ratio x calls + floor."""
    clock = Clock()
    config = RetryBudgetConfig(ratio=0.2, min_per_s=3, window_s=10)
    budget = RetryBudget(config, clock)
    retries = 0
    for step in range(1000):  # 100 calls a second for 10 seconds
        clock.now = step / 100
        budget.record_call()
        retries += sum(budget.try_spend() for _ in range(2))
    assert retries <= 0.2 * 1000 + 3 * 10
    assert retries >= 0.2 * 1000  # and the share is really given
