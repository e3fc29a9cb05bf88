"""The Train panel's ETA is paced by the engine's training seconds (issue #15: a 6-second pause
nearly doubled it at the same throughput)."""

from __future__ import annotations

from mmstudio.gui.panels.train_run import seconds_left


def test_the_eta_is_the_steps_left_at_this_sessions_pace():
    # 10 of 100 steps in 20 s of training: 90 left at 2 s a step
    assert seconds_left(100, 10, 0, 20.0) == 180.0
    # a resumed run: only the steps of this session set the pace (40 were done before)
    assert seconds_left(100, 50, 40, 20.0) == 100.0


def test_a_pause_does_not_slow_the_eta():
    """The engine's seconds stand still while paused, so the same steps give the same ETA."""
    before_pause = seconds_left(200, 10, 0, 8.0)
    after_pause = seconds_left(200, 20, 0, 16.0)  # 6 s paused in between: not in the seconds
    assert after_pause < before_pause
    assert seconds_left(100, 100, 0, 50.0) == 0.0  # done: nothing left
