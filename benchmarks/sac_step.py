"""One SAC gradient step, uncompiled and compiled (`compile_update`), against the
arithmetic floor of the same networks.

    python benchmarks/sac_step.py                      # pendulum-sac, one seed, the CPU
    python benchmarks/sac_step.py --device cuda --seeds 8

A step is ``SAC.gradient_steps`` with one step: the batch drawn from the buffer, the
losses, their gradient, Adam and the Polyak update. Each side trains a fresh run past
learning_starts, then times 100-step blocks (best of 7). The floor is the time the
step's matrix products alone take (their kernels' self time in torch's profiler, per
step): what no fusing of the other ops can remove. One torch thread on the CPU.
"""

from __future__ import annotations

import argparse
import time

import torch

from pgtui.assignments import apply_assignments
from pgtui.preset_files import load_preset
from pgtui.rl.trainer import Trainer

MATMULS = ("aten::mm", "aten::addmm", "aten::bmm", "aten::baddbmm")


def trained(args: argparse.Namespace, compiled: bool) -> tuple[Trainer, float]:
    """A run past learning_starts, and the seconds its first update with gradient steps
    took (the compile, where there is one)."""
    config = apply_assignments(load_preset(args.preset), args.set).replace(
        total_steps=10**9, device=args.device, compile_update=compiled, gradient_steps=1,
        num_envs=1, train_freq=1)
    trainer = Trainer(config, seeds=range(args.seeds))
    trainer.run(max_updates=config.learning_starts - 2)  # an update is one env step here
    start = time.perf_counter()
    trainer.run(max_updates=config.learning_starts + 2)
    return trainer, time.perf_counter() - start


def step_ms(trainer: Trainer) -> float:
    learner, seeds, sync = trainer.learner, list(range(trainer.nets.num_seeds)), _sync(trainer)

    def steps(n: int) -> None:
        for _ in range(n):
            learner.gradient_steps(trainer.config, seeds)
        sync()

    steps(50)
    best = float("inf")
    for _ in range(7):
        start = time.perf_counter()
        steps(100)
        best = min(best, (time.perf_counter() - start) / 100)
    return 1e3 * best


def floor_ms(trainer: Trainer) -> float:
    """The uncompiled step's matrix products alone, per step (kernel self time)."""
    from torch.profiler import ProfilerActivity, profile

    learner, seeds, sync = trainer.learner, list(range(trainer.nets.num_seeds)), _sync(trainer)
    cuda = trainer.device.type == "cuda"
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])
    n = 50
    with profile(activities=activities) as prof:
        for _ in range(n):
            learner.gradient_steps(trainer.config, seeds)
        sync()
    if cuda:  # the GEMM kernels' time on the device
        total = sum(e.self_device_time_total for e in prof.key_averages()
                    if e.device_type.name == "CUDA" and ("gemm" in e.key.lower() or "sgemm" in e.key.lower()))
    else:
        total = sum(e.self_cpu_time_total for e in prof.key_averages() if e.key in MATMULS)
    return total / 1e3 / n


def _sync(trainer: Trainer):
    return torch.cuda.synchronize if trainer.device.type == "cuda" else (lambda: None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="pendulum-sac")
    parser.add_argument("--seeds", type=int, default=1, help="seeds trained as one batch")
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()
    torch.set_num_threads(1)
    eager, _ = trained(args, compiled=False)
    eager_ms, floor = step_ms(eager), floor_ms(eager)
    compiled, compile_s = trained(args, compiled=True)
    compiled_ms = step_ms(compiled)
    where = torch.backends.cpu.get_cpu_capability() if args.device == "cpu" else torch.cuda.get_device_name()
    print(f"{args.preset}, {args.seeds} seed(s), {args.device} ({where}), torch {torch.__version__}")
    print(f"gradient step, uncompiled: {eager_ms:.3f} ms")
    print(f"gradient step, compiled:   {compiled_ms:.3f} ms ({eager_ms / compiled_ms:.2f}x; "
          f"first update with the compile {compile_s:.1f} s)")
    print(f"matrix products alone:     {floor:.3f} ms (the floor; the compiled step is "
          f"{compiled_ms / floor:.2f}x it)")


if __name__ == "__main__":
    main()
