"""The graph benchmark's pass rule and peak-rate search on synthetic graphs (ssd_ros.benchmark.rules)."""
from __future__ import annotations

import pytest

from ssd_ros.benchmark.rules import PassRule, RateTrial, failure, passes, search_peak


def trial(offered: float, sent: int, answered: int, input_hz: float | None = None, output_hz: float | None = None):
    input_hz = offered if input_hz is None else input_hz
    return RateTrial(offered, sent, answered, input_hz, input_hz * answered / sent if output_hz is None else output_hz)


def test_five_percent_lost_passes_and_more_fails():
    assert passes(trial(30, 1000, 950))
    assert "unanswered" in failure(trial(30, 1000, 949))


def test_output_rate_must_stay_within_five_hz_of_the_input():
    assert passes(trial(100, 1000, 1000, output_hz=95.0))
    assert "Hz apart" in failure(trial(100, 1000, 1000, output_hz=94.9))


def test_a_player_that_could_not_keep_up_fails_the_rate_it_was_offered():
    assert "player reached only" in failure(trial(500, 1000, 1000, input_hz=300.0))


def test_nothing_sent_fails_and_rules_are_configurable():
    assert failure(trial(10, 0, 0, output_hz=0.0)) == "no frame sent"
    strict = PassRule(max_loss=0.0, max_rate_gap_hz=0.5)
    assert not passes(trial(30, 100, 99), strict)
    assert passes(trial(30, 100, 100), strict)


def synthetic_graph(capacity: float, collapse: float = 1.0, seconds: float = 10.0):
    """A graph that answers min(rate, capacity) per second; overloaded, only ``collapse`` of its capacity."""

    def measure(rate: float) -> RateTrial:
        output = rate if rate <= capacity else capacity * collapse
        sent = round(rate * seconds)
        return RateTrial(rate, sent, min(sent, round(output * seconds)), rate, output)

    return measure


def true_peak(capacity: float, collapse: float) -> float:
    """The highest rate a synthetic graph passes: loss <= 5% and output within 5 Hz (a collapsing one: its capacity)."""
    return min(capacity / 0.95, capacity + 5.0) if collapse == 1.0 else capacity


@pytest.mark.parametrize("capacity", [3.0, 57.0, 143.0, 450.0])
@pytest.mark.parametrize("collapse", [1.0, 0.5])
def test_the_search_finds_the_peak_within_its_tolerance(capacity, collapse):
    search = search_peak(synthetic_graph(capacity, collapse), 1.0, 500.0, tolerance=0.05, max_trials=12)
    peak = true_peak(capacity, collapse)
    assert passes(synthetic_graph(capacity, collapse)(search.peak_hz))
    assert peak * 0.95 - 1.0 <= search.peak_hz <= peak
    assert search.trials[0].offered_hz == 500.0  # the ceiling first


def test_a_graph_that_takes_the_ceiling_ends_after_one_trial():
    search = search_peak(synthetic_graph(1000.0), 1.0, 200.0)
    assert search.peak_hz == 200.0 and len(search.trials) == 1


def test_a_graph_that_passes_nothing_has_peak_zero_and_the_floor_was_tried():
    search = search_peak(synthetic_graph(0.0), 2.0, 100.0, max_trials=5)
    assert search.peak_hz == 0.0
    assert search.trials[-1].offered_hz == 2.0
    assert len(search.trials) <= 6


def test_the_trial_budget_is_kept():
    search = search_peak(synthetic_graph(77.0), 1.0, 1000.0, tolerance=0.001, min_step_hz=0.01, max_trials=4)
    assert len(search.trials) == 4
    assert passes(synthetic_graph(77.0)(search.peak_hz))


def test_bad_bounds_are_refused():
    with pytest.raises(ValueError):
        search_peak(synthetic_graph(10.0), 50.0, 10.0)
