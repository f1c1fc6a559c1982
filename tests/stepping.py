"""The playground's single step, driven as the screen drives it: StepOnce into a running
trainer's inbox, then Stop once it has paused after the step."""

import threading
import time

from pgtui.rl.events import StepCompared, StepOnce, Stop
from pgtui.rl.trainer import Trainer


def single_step(trainer: Trainer, events: list) -> StepCompared:
    """The StepCompared of one single step of ``trainer`` (whose events go to ``events``)."""
    trainer.submit(StepOnce())
    worker = threading.Thread(target=trainer.run)
    worker.start()
    deadline = time.monotonic() + 60
    while not any(isinstance(e, StepCompared) for e in events) and time.monotonic() < deadline:
        time.sleep(0.01)
    trainer.submit(Stop())  # it paused after the step
    worker.join(timeout=60)
    (compared,) = [e for e in events if isinstance(e, StepCompared)]
    return compared
