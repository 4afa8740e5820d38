"""The training schedule and stop rule (schedule.RunPlan) and the best-checkpoint rule, driven by a hand-set
clock: known answers for the warm-up + cosine factor, a time budget met on simulated runs with start-up cost,
validation pauses and a mid-run slowdown, and the rule that picks best.pt on small and large validation sets."""
from __future__ import annotations

import math

import pytest
from ssd_ros_training.best_checkpoint import BestCheckpointRule
from ssd_ros_training.schedule import RunPlan, lr_factor


class ManualClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def run(plan: RunPlan, clock: ManualClock, step_seconds, validation_s: float, val_every: int = 1,
        max_epochs: int = 1000) -> list[float]:
    """Drive ``plan`` as the training engine does; step_seconds(k) is the duration of step k (0-based).
    Returns the learning-rate factor of every step taken."""
    factors = []
    plan.start()
    for epoch in range(max_epochs):
        stop = False
        for _ in range(plan.steps_per_epoch):
            factors.append(plan.lr_factor(plan.steps_done))
            clock.now += step_seconds(plan.steps_done)
            plan.step_done()
            stop = plan.stop_now()
            if stop:
                break
        validated = (epoch + 1) % val_every == 0 or stop
        clock.now += validation_s if validated else 0.5  # validation + checkpoint, or checkpoint only
        plan.epoch_done(validated)
        if stop:
            break
    return factors


def test_warmup_then_cosine_known_values():
    assert [lr_factor(step, 4, 104) for step in range(4)] == [0.25, 0.5, 0.75, 1.0]
    assert lr_factor(4, 4, 104) == 1.0
    assert lr_factor(54, 4, 104) == pytest.approx(0.5)  # half-way through the decay
    assert lr_factor(104, 4, 104) == pytest.approx(0.0) and lr_factor(500, 4, 104) == pytest.approx(0.0)


def test_without_a_budget_the_plan_is_the_epochs():
    clock = ManualClock()
    plan = RunPlan(steps_per_epoch=10, max_epochs=3, warmup=2, clock=clock)
    factors = run(plan, clock, lambda step: 1.0, validation_s=5.0)
    assert plan.total_steps == 30 and plan.steps_done == 30 and plan.epochs == 3 and len(factors) == 30
    assert factors[-1] == pytest.approx(lr_factor(29, 2, 30)) and factors[-1] < 0.01


@pytest.mark.parametrize("val_every", [1, 3])
def test_a_budget_sets_the_step_count_and_the_run_ends_within_it_annealed(val_every):
    clock = ManualClock()
    budget = 600.0
    plan = RunPlan(steps_per_epoch=10, max_epochs=1000, warmup=5, budget_s=budget, val_every=val_every,
                   validation_steps=2, clock=clock)
    assert plan.total_steps == 10_000  # before any step is timed: the epoch cap
    factors = run(plan, clock, lambda step: 12.0 if step == 0 else 2.0, validation_s=9.0, val_every=val_every)
    spent = clock.now - 1000.0
    assert budget - 2 * (10 * 2.0 + 9.0) <= spent <= budget  # ends inside the budget, at most ~2 epochs early
    assert plan.steps_done == plan.total_steps == len(factors)  # it ran exactly the planned steps ...
    assert factors[-1] < 0.01 and max(factors) == 1.0  # ... so the cosine reached its end
    assert 180 <= plan.total_steps < 300  # 600 s at 2 s a step, less start-up and 9 s validations


def test_the_first_estimate_comes_from_the_probe_steps():
    clock = ManualClock()
    plan = RunPlan(steps_per_epoch=100, max_epochs=50, warmup=5, budget_s=1000.0, validation_steps=4,
                   probe_steps=5, clock=clock)
    plan.start()
    for step in range(5):
        clock.now += 20.0 if step == 0 else 3.0
        plan.step_done()
    # 32 s spent; 3 s a step (first step excluded); 12 s kept for the final validation (4 steps), spread over
    # the epoch too: per step 3 + 12/100 s, so (1000 - 32 - 12) / 3.12 = 306.4 more steps
    assert plan.step_s == 3.0 and plan.total_steps == 5 + 306


@pytest.mark.parametrize("busy_from", [120, 700, 750])  # early: the next refit follows; late: the stop rule
def test_a_slowdown_after_the_estimate_still_stops_at_the_budget(busy_from):
    clock = ManualClock()
    plan = RunPlan(steps_per_epoch=50, max_epochs=1000, warmup=5, budget_s=900.0, validation_steps=2, clock=clock)
    run(plan, clock, lambda step: 1.0 if step < busy_from else 4.0, validation_s=6.0)  # the machine gets busy
    assert 900.0 - (50 * 4.0 + 6.0) <= clock.now - 1000.0 <= 900.0
    assert plan.steps_done <= plan.total_steps


def test_a_budget_larger_than_the_epochs_need_ends_with_the_epochs():
    clock = ManualClock()
    plan = RunPlan(steps_per_epoch=10, max_epochs=4, warmup=2, budget_s=10_000.0, clock=clock)
    run(plan, clock, lambda step: 1.0, validation_s=2.0)
    assert plan.total_steps == plan.steps_done == 40


def test_budget_must_be_positive():
    with pytest.raises(ValueError, match="time budget must be positive"):
        RunPlan(10, 5, 2, budget_s=0.0)


def test_small_validation_sets_keep_the_last_checkpoint():
    rule = BestCheckpointRule(val_images=16, min_val_images=50)
    assert rule.keeps_last and "16 validation images" in rule.reason
    decisions = [rule.consider(value) for value in (0.40, 0.72, 0.55, 0.61)]
    assert decisions == [True, True, True, True] and rule.best == 0.61 and rule.highest == 0.72


def test_large_validation_sets_keep_the_best_beyond_noise_and_later_wins_ties():
    rule = BestCheckpointRule(val_images=300, min_val_images=50, tolerance=0.01)
    values = (0.50, 0.60, 0.595, 0.57, 0.65, 0.645, 0.66)
    improved, kept = [], []
    for value in values:
        improved.append(rule.improved(value))
        kept.append(rule.consider(value))
    # 0.595 is within 0.01 of 0.60: the later checkpoint wins; 0.57 is clearly worse: best.pt stays at 0.595
    assert kept == [True, True, True, False, True, True, True]
    assert improved == [True, True, False, False, True, False, True]
    assert rule.best == 0.66 and rule.highest == 0.66
    resumed = BestCheckpointRule.from_state(300, 50, 0.01, rule.state())
    assert (resumed.best, resumed.highest) == (0.66, 0.66) and not resumed.consider(0.62)
    assert math.isclose(resumed.best, 0.66)
