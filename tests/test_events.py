"""The event batcher between a run and its screen: what it merges, what it sends at once,
and how many batches a second it lets through (on a clock the test drives); and the
inbox a run drains between updates."""

import queue

import pytest

from pgtui.rl.events import (
    DiscretePolicy,
    EpisodesFinished,
    EventBatcher,
    Pause,
    Resume,
    Scene,
    SetParam,
    Snapshot,
    StatusChanged,
    UpdateFinished,
    drain,
)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def snapshot(step: int) -> Snapshot:
    return Snapshot(step, Scene((0.0, 0.0, 0.0, 0.0)), DiscretePolicy((0.5, 0.5), 1.0))


def test_within_a_period_returns_merge_and_the_newest_snapshot_and_update_win():
    batches, clock = [], Clock()
    batcher = EventBatcher(batches.append, hz=10, clock=clock)
    batcher(snapshot(0))  # the first event goes out at once
    clock.now = 0.03
    batcher(EpisodesFinished(10, (1.0,), (1,)))
    batcher(snapshot(12))
    batcher(UpdateFinished(1, 12, {"loss": 1.0}))
    batcher(EpisodesFinished(20, (2.0, 3.0), (2, 3)))
    batcher(UpdateFinished(2, 20, {"loss": 0.5}))
    assert len(batches) == 1
    clock.now = 0.11
    batcher(snapshot(30))
    assert len(batches) == 2
    kinds = {type(e): e for e in batches[1]}
    assert len(batches[1]) == 3, "one of each kind"
    assert kinds[EpisodesFinished].returns == (1.0, 2.0, 3.0)  # merged, never dropped
    assert kinds[UpdateFinished].update == 2 and kinds[Snapshot].global_step == 30


def test_a_status_change_goes_out_at_once_with_what_was_pending():
    batches, clock = [], Clock()
    batcher = EventBatcher(batches.append, hz=10, clock=clock)
    batcher(snapshot(0))
    clock.now = 0.01
    batcher(UpdateFinished(1, 5, {}))
    batcher(StatusChanged("paused"))
    assert [type(e) for e in batches[1]] == [UpdateFinished, StatusChanged]


@pytest.mark.parametrize("event_hz", [20.0, 30.0, 100.0])
def test_events_on_a_grid_of_their_own_reach_the_batch_rate(event_hz):
    # snapshots come at the trainer's own rate; the screen should get its 15 a second,
    # not every second snapshot (10 a second, as when the next batch waited a full
    # period after the last one went out)
    batches, clock = [], Clock()
    batcher = EventBatcher(batches.append, hz=15, clock=clock)
    seconds, steps = 10.0, int(10.0 * event_hz)
    for i in range(steps):
        clock.now = i / event_hz
        batcher(snapshot(i))
    rate = len(batches) / seconds
    assert 14.0 <= rate <= 15.1


def test_after_a_quiet_spell_the_next_batch_waits_half_a_period_not_none():
    batches, clock = [], Clock()
    batcher = EventBatcher(batches.append, hz=10, clock=clock)
    for step, t in enumerate((0.0, 5.0, 5.01, 5.04, 5.06)):
        clock.now = t
        batcher(snapshot(step))
    assert [e[-1].global_step for e in batches] == [0, 1, 4]


def test_drain_applies_every_waiting_command_in_order():
    inbox, applied = queue.SimpleQueue(), []
    for command in (Pause(), SetParam("lr", 0.01), Resume()):
        inbox.put(command)
    drain(inbox, applied.append, block=False, timeout=0.0)
    assert applied == [Pause(), SetParam("lr", 0.01), Resume()]
    drain(inbox, applied.append, block=True, timeout=0.01)  # nothing comes: it returns
    assert len(applied) == 3 and inbox.empty()
