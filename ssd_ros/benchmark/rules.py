"""When a rate passes, and the search for the highest rate that does (ros2_benchmark's method); pure logic.

Contract:
- ``RateTrial``: what one run at an offered rate gave: frames sent and answered, the rate the player
  achieved and the rate of answers (both per camera, in Hz).
- ``failure(trial, rule)``: why the trial fails, or None when it passes: at most ``rule.max_loss``
  (5%) of the sent frames unanswered, the output rate within ``rule.max_rate_gap_hz`` (5 Hz) of the
  input rate, and the player within the same gap of the offered rate (else the player, not the
  graph, set the pace). ``passes`` is ``failure(...) is None``.
- ``search_peak(measure, low_hz, high_hz, ...)`` calls ``measure(rate)`` and returns the highest
  offered rate that passed (0 when even ``low_hz`` fails) and every trial in order. It tries
  ``high_hz`` first; when that fails, the graph's output rate under that overload is its capacity,
  so the next try is just below it; then it gallops up from the best pass (steps doubling) and
  bisects between the best pass and the lowest failure until they are within ``tolerance`` (a
  fraction of the best pass, at least ``min_step_hz``) or ``max_trials`` ran.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class PassRule:
    max_loss: float = 0.05  # share of sent frames that may go unanswered
    max_rate_gap_hz: float = 5.0  # |output rate - input rate| allowed


@dataclass(frozen=True)
class RateTrial:
    offered_hz: float  # the rate asked of the player, per camera
    sent: int  # frames, all cameras
    answered: int  # frames whose detections reached the monitor
    input_hz: float  # rate the player achieved, per camera
    output_hz: float  # rate of answers, per camera

    @property
    def loss(self) -> float:
        return 1.0 - self.answered / self.sent if self.sent else 1.0


def failure(trial: RateTrial, rule: PassRule = PassRule()) -> str | None:
    """Why ``trial`` fails ``rule``, or None when it passes."""
    if trial.sent == 0:
        return "no frame sent"
    if trial.loss > rule.max_loss + 1e-9:  # 5% of 1000 frames lost is 5%, whatever the float rounding
        return f"{trial.loss:.1%} of frames unanswered (> {rule.max_loss:.0%})"
    if abs(trial.input_hz - trial.output_hz) > rule.max_rate_gap_hz:
        return f"output {trial.output_hz:.1f} Hz vs input {trial.input_hz:.1f} Hz (> {rule.max_rate_gap_hz:g} Hz apart)"
    if trial.offered_hz - trial.input_hz > rule.max_rate_gap_hz:
        return f"the player reached only {trial.input_hz:.1f} of {trial.offered_hz:.1f} Hz"
    return None


def passes(trial: RateTrial, rule: PassRule = PassRule()) -> bool:
    return failure(trial, rule) is None


@dataclass(frozen=True)
class PeakSearch:
    peak_hz: float  # highest offered rate that passed; 0 when none did
    trials: tuple[RateTrial, ...] = field(default_factory=tuple)


def search_peak(measure: Callable[[float], RateTrial], low_hz: float, high_hz: float, *,
                rule: PassRule = PassRule(), tolerance: float = 0.05, min_step_hz: float = 1.0,
                max_trials: int = 8) -> PeakSearch:
    """The highest rate in [low_hz, high_hz] that passes (see the module contract)."""
    if not 0 < low_hz <= high_hz:
        raise ValueError(f"need 0 < low_hz <= high_hz, got {low_hz}, {high_hz}")
    trials: list[RateTrial] = []

    def run(rate: float) -> bool:
        trials.append(measure(rate))
        return passes(trials[-1], rule)

    if run(high_hz):
        return PeakSearch(high_hz, tuple(trials))
    best, worst = 0.0, high_hz  # best: highest pass so far; worst: lowest failure so far

    def resolution() -> float:
        return max(min_step_hz, tolerance * max(best, low_hz))

    # Offered more than it can take, the graph answers at its capacity: try just below that first.
    guess = trials[-1].output_hz * (1.0 - tolerance / 2)
    candidate: float | None = guess if low_hz <= guess < worst else None
    step = 2 * resolution()
    while len(trials) < max_trials and worst - (best or low_hz) > resolution():
        if candidate is None:  # gallop up from the best pass, never past the middle; bisect down without one
            candidate = min(best + step, (best + worst) / 2) if best else (low_hz + worst) / 2
        if run(candidate):
            best, step = candidate, step * 2
        else:
            worst = candidate
        candidate = None
    if not best and all(trial.offered_hz != low_hz for trial in trials) and run(low_hz):
        best = low_hz  # nothing above passed, but the floor does
    return PeakSearch(best, tuple(trials))
