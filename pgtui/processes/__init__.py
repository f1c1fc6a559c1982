"""Training in a process of its own: both cores work and a crash cannot take the caller down.

The parent sends commands through one queue and reads what the child reports from
another. The child writes the metrics files itself, so nothing is lost to batching.
Measured on the 2-core machine (benchmarks/ui_overhead.py): a Trainer in a thread of the
Textual app ran at 0.38x its headless speed with 600 ms key latency, because the two
share one GIL; in its own process it keeps its speed and the screen stays responsive.

``RemoteTrainer`` runs one ``Trainer`` (the playground); ``RemoteVariant`` runs one
variant's seeds as a ``VariantRun`` (races and ``pgtui compare``), with the torch threads
``race_threads`` gives it; ``RemotePlayer`` plays a saved policy (watch mode).
"""


from .budget import (
    MAX_PROCESSES_VAR,
    TRAINER_NICE_VAR,
    TooManyProcesses,
    available_cores,
    check_room,
    live_processes,
    race_threads,
    room,
)
from .checks import CheckResult, check_answer
from .child import seed_sinks, tee
from .remote import RemotePlayer, RemoteTrainer, RemoteVariant, prepare, relay

__all__ = ["MAX_PROCESSES_VAR", "TRAINER_NICE_VAR", "CheckResult", "RemotePlayer", "RemoteTrainer",
           "RemoteVariant", "TooManyProcesses", "available_cores", "check_answer", "check_room",
           "live_processes", "prepare", "race_threads", "relay", "room", "seed_sinks", "tee"]
