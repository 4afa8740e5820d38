"""How long a training run lasts: the learning-rate schedule and when to stop, by epochs or by a time budget.

Contract:
- ``lr_factor(step, warmup, total)``: the factor on the base learning rate for optimisation step
  ``step`` (0-based): linear warm-up from 1/warmup to 1 over ``warmup`` steps, then a cosine decay
  that reaches 0 at step ``total`` (and stays there).
- ``RunPlan(steps_per_epoch, max_epochs, warmup, budget_s=None, ...)`` owns ``total_steps``, the
  length the schedule anneals over. Without a budget it is ``max_epochs * steps_per_epoch``. With
  a budget (seconds) it is fitted to the time: the engine reports ``step_done()`` after every
  optimisation step and ``epoch_done(validated)`` after each epoch's validation and checkpoint;
  after ``probe_steps`` steps, and again after every epoch, the plan measures the time per step
  (over the last epoch's worth of steps; the run's first step, which pays start-up costs, excluded)
  and per epoch outside the steps (validation, checkpoint) and sets ``total_steps`` to the steps
  done plus the steps the time left holds, after keeping back one validation for the end; never
  more than ``max_epochs * steps_per_epoch`` (``--epochs`` stays an upper bound); after an epoch
  that did not end the run, at least one step more (so the run ends on a step the stop rule sees,
  and then validates). Before the first validation its cost is guessed as ``validation_steps``
  training steps.
- ``stop_now()``: True when ``total_steps`` steps are done, or, with a budget, when one more step
  (as long as the mean or the last step, whichever is longer) would leave less than that reserve,
  which also ends the plan there (``total_steps`` = the steps done): the engine then validates,
  checkpoints and ends.
- ``start(at)`` starts the budget (the engine passes the time training was called: loading the
  data and building the model count too).
- ``clock`` (default ``time.monotonic``) is the only source of time, so tests drive it by hand.
Under torchrun only rank 0's plan decides; the engine broadcasts its ``total_steps`` and stops.
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable


def lr_factor(step: int, warmup: int, total: int) -> float:
    if step < warmup:
        return (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))


class RunPlan:
    def __init__(self, steps_per_epoch: int, max_epochs: int, warmup: int, budget_s: float | None = None,
                 val_every: int = 1, validation_steps: float = 0.0, probe_steps: int = 5, steps_done: int = 0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if budget_s is not None and budget_s <= 0:
            raise ValueError(f"the time budget must be positive, got {budget_s / 60:g} minutes")
        self.steps_per_epoch = steps_per_epoch
        self.max_steps = max_epochs * steps_per_epoch
        self.warmup = warmup
        self.budget_s = budget_s
        self.val_every = max(1, val_every)
        self.validation_steps = validation_steps
        self.probe_steps = max(2, probe_steps)
        self.clock = clock
        self.total_steps = self.max_steps
        self.steps_done = steps_done
        self._started: float | None = None
        self._last_mark: float | None = None
        self._step_seconds: list[float] = []  # durations of steps after the first of this run
        self._steps_this_run = 0
        self._validation_s: float | None = None  # time outside the steps of an epoch that validated
        self._plain_epoch_s: float | None = None  # ... and of one that did not

    # ------------------------------------------------------------------------------------- the schedule
    def lr_factor(self, step: int) -> float:
        return lr_factor(step, self.warmup, self.total_steps)

    @property
    def epochs(self) -> int:
        """Epochs the plan runs (the last one may be cut short by the budget)."""
        return math.ceil(self.total_steps / self.steps_per_epoch)

    # ------------------------------------------------------------------------------------- measurements
    def start(self, at: float | None = None) -> None:
        """The run starts now, or at the clock reading ``at`` (the budget then includes the set-up before)."""
        self._started = self.clock() if at is None else at
        self._last_mark = self.clock()

    @property
    def elapsed_s(self) -> float:
        return 0.0 if self._started is None else self.clock() - self._started

    @property
    def step_s(self) -> float | None:
        """Seconds per training step: the mean of the last epoch's worth of steps (None until two are done),
        so that the plan follows a machine whose load changes."""
        recent = self._step_seconds[-max(self.probe_steps, self.steps_per_epoch):]
        return sum(recent) / len(recent) if recent else None

    def step_done(self) -> None:
        if self._started is None:
            self.start()
        now = self.clock()
        if self._steps_this_run > 0 and self._last_mark is not None:
            self._step_seconds.append(now - self._last_mark)
        self._last_mark = now
        self.steps_done += 1
        self._steps_this_run += 1
        if self._steps_this_run == self.probe_steps:
            self.refit()

    def epoch_done(self, validated: bool) -> None:
        now = self.clock()
        if self._last_mark is not None:
            if validated:
                self._validation_s = now - self._last_mark
            else:
                self._plain_epoch_s = now - self._last_mark
        self._last_mark = now
        if self._steps_this_run >= 2 and self.steps_done < self.total_steps:
            self.refit(at_least=1)  # the run goes on (the engine stops when stop_now says so): one step more

    # ------------------------------------------------------------------------------------- decisions
    def reserve_s(self) -> float:
        """Time kept back for the final validation and checkpoint."""
        if self._validation_s is not None:
            return self._validation_s
        return self.validation_steps * (self.step_s or 0.0)

    def refit(self, at_least: int = 0) -> None:
        """Set total_steps to the steps done plus those the time left holds (``at_least`` of them)."""
        step_s = self.step_s
        if self.budget_s is None or step_s is None:
            return
        validation_s = self.reserve_s()
        plain_s = self._plain_epoch_s if self._plain_epoch_s is not None else 0.0
        per_epoch_s = validation_s / self.val_every + plain_s * (1 - 1 / self.val_every)
        per_step_s = step_s + per_epoch_s / self.steps_per_epoch
        left_s = self.budget_s - self.elapsed_s - validation_s
        fitting = max(at_least, math.floor(left_s / per_step_s))
        self.total_steps = max(self.steps_done, min(self.max_steps, self.steps_done + fitting))

    def stop_now(self) -> bool:
        if self.steps_done >= self.total_steps:
            return True
        if self.budget_s is None or self.step_s is None:
            return False
        next_step_s = max(self.step_s, self._step_seconds[-1])  # the last step: a slowdown shows there first
        if self.elapsed_s + next_step_s + self.reserve_s() > self.budget_s:
            self.total_steps = self.steps_done  # the plan ends here
            return True
        return False
