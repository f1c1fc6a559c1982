"""Stacked PPO and A2C updates: S seeds updated at once train as each would alone."""

import copy
import math

import pytest
import torch
from devices import DEVICES

from pgtui.config import load_preset
from pgtui.rl.algorithms import a2c_update, minibatch_split, ppo_update, reinforce_update
from pgtui.rl.group import SeedGroup
from pgtui.rl.race import variant_configs
from pgtui.rl.stacked import StackedUpdate
from pgtui.rl.stacked_mlp import mlp_backward, mlp_forward, stacked_mlp
from pgtui.rl.stacked_rows import RowAdam
from pgtui.rl.trainer import Trainer

# the same checks on a GPU where there is one (stacked rows, masks and Adam on the device)


def _trainers(preset: str, seeds=(0, 1, 2), **overrides) -> list[Trainer]:
    config = load_preset(preset).replace(total_steps=10**9, **overrides)
    return [Trainer(config.replace(seed=s)) for s in seeds]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_the_stacked_mlp_computes_what_each_network_does(activation, device):
    """By hand (``mlp_forward``/``mlp_backward``, the stacked update's rows) and through
    autograd (``stacked_mlp``, the diagnostics'): outputs and gradients of each row."""
    trainers = _trainers("cartpole-ppo", activation=activation, device=device)
    alone = [copy.deepcopy(t.policy) for t in trainers]
    learner = StackedUpdate.build(trainers)
    x = torch.randn(3, 50, 4, device=device)
    for module, own in ((learner.actor, lambda p: p.actor.net), (learner.critic, lambda p: p.critic.net)):
        out, inputs = mlp_forward(module.layers, x, module.net.relu)
        weights = torch.randn_like(out)
        by_hand = mlp_backward(module.param, module.layers, inputs, weights, module.net)
        rows = module.param.clone().requires_grad_()
        through_autograd = stacked_mlp(rows, x, module.net)
        (through_autograd * weights).sum().backward()
        for i, policy in enumerate(alone):
            net = own(policy)
            mine = net(x[i])
            (mine * weights[i]).sum().backward()
            expected = torch.cat([p.grad.reshape(-1) for p in net.parameters()])
            torch.testing.assert_close(out[i], mine)
            torch.testing.assert_close(through_autograd[i], mine)
            torch.testing.assert_close(by_hand[i], expected)
            torch.testing.assert_close(rows.grad[i], expected)


def _solo_update(trainer: Trainer, batch, diag_rng: torch.Generator) -> dict[str, float]:
    cfg = trainer.config
    if cfg.algo == "ppo":
        return ppo_update(trainer.policy, trainer.optimizer, batch, cfg, diag_rng,
                          trainer.cpu_generator)
    if cfg.algo == "a2c":
        return a2c_update(trainer.policy, trainer.optimizer, batch, cfg, diag_rng)
    return reinforce_update(trainer.policy, trainer.optimizer, batch, cfg, True,
                            trainer.reference_config)


def _one_update_each_way(preset: str, **overrides):
    """The same batches updated by each seed alone and by the stacked update, with the
    gradient diagnostics (REINFORCE also with a paired reference)."""
    alone, together = _trainers(preset, **overrides), _trainers(preset, **overrides)
    learner = StackedUpdate.build(together)
    assert learner is not None
    reinforce = together[0].config.algo == "reinforce"
    for t in alone + together:
        if reinforce:
            t.reference_estimator = {"baseline": "none", "normalize_advantage": False}
    batches = [t.collector.run(t.collection()) for t in alone]
    for t in together:
        t.collection()  # sets the annealed lr as a rollout does
    # the diagnostics draw their groups from generators seeded alike on both sides
    solo_stats = [_solo_update(t, b, torch.Generator().manual_seed(7 + i))
                  for i, (t, b) in enumerate(zip(alone, batches, strict=True))]
    stats = learner.update(batches, [torch.Generator().manual_seed(7 + i)
                                     for i in range(len(batches))])
    return alone, together, batches, solo_stats, stats


@pytest.mark.parametrize("preset, overrides", [
    ("cartpole-ppo", {}),
    ("cartpole-ppo", {"target_kl": 0.002, "update_epochs": 10}),  # seeds stop at their own epoch
    ("cartpole-ppo", {"ent_coef": 0.05}),  # the entropy's gradient, written by hand
    # Gaussian: the log-std learns through the stacked row. A wide clip keeps the loss
    # smooth: at the clip's edge a rounding-sized difference switches a sample's gradient
    # off, and the runs part by more than rounding (seen from the second epoch on)
    ("pendulum-ppo", {"num_envs": 4, "update_epochs": 3, "clip_coef": 10.0}),
    ("pendulum-ppo", {"num_envs": 4, "update_epochs": 3, "clip_coef": 10.0, "ent_coef": 0.05}),
    ("cartpole-a2c", {}),
    ("pendulum-ppo", {"algo": "a2c", "num_envs": 4, "ent_coef": 0.05}),  # autograd's log-std
    ("cartpole-a2c", {"ent_coef": 0.05, "num_steps": 64}),
    ("cartpole-reinforce-baseline", {}),  # learned value baseline, normalized
    ("cartpole-reinforce-baseline", {"baseline": "mean", "return_mode": "full",
                                     "normalize_advantage": False, "ent_coef": 0.01}),
    ("cartpole-reinforce-baseline", {"baseline": "none", "max_grad_norm": 0.5}),
])
@pytest.mark.parametrize("device", DEVICES)
def test_a_stacked_update_equals_each_seeds_own(preset, overrides, device):
    alone, together, batches, solo_stats, stats = _one_update_each_way(preset, device=device,
                                                                       **overrides)
    for a, b, mine, theirs in zip(alone, together, stats, solo_stats, strict=True):
        assert mine.keys() == theirs.keys()
        for key in theirs:
            assert mine[key] == pytest.approx(theirs[key], rel=2e-3, abs=1e-5), key
        torch.testing.assert_close(b.policy.actor.state_dict(), a.policy.actor.state_dict(),
                                   rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(b.policy.critic.state_dict(), a.policy.critic.state_dict(),
                                   rtol=1e-3, atol=1e-3)
        assert b.optimizer.state_dict()["state"][0]["step"] == a.optimizer.state_dict()["state"][0]["step"]
    if overrides.get("target_kl"):  # some seed stopped early (on CUDA's draws, not every seed)
        assert 1.0 in {s["early_stop"] for s in solo_stats}
    if preset != "pendulum-ppo" and not overrides:  # padded rows were exercised
        assert len({b.num_valid for b in batches}) > 1


def test_adam_leaves_rows_that_do_not_step_untouched():
    torch.manual_seed(0)
    rows, grad = torch.randn(3, 40), torch.randn(3, 40)
    param = rows.clone()
    adam = RowAdam(torch.zeros(3, 40), torch.zeros(3, 40), torch.zeros(3))
    reference = [torch.nn.Parameter(r.clone()) for r in rows]
    adams = [torch.optim.Adam([p], lr=0.1, eps=1e-5) for p in reference]
    stepping = torch.tensor([True, False, True])
    adam.step(param, grad, torch.full((3, 40), 0.1), (0.9, 0.999), 1e-5, stepping, every_row=False)
    for i in (0, 2):
        reference[i].grad = grad[i].clone()
        adams[i].step()
        torch.testing.assert_close(param[i], reference[i].data)
    assert torch.equal(param[1], rows[1])
    assert adam.exp_avg[1].abs().sum() == 0 and adam.steps.tolist() == [1.0, 0.0, 1.0]


@pytest.mark.parametrize("device", DEVICES)
def test_a_race_group_of_ppo_seeds_updates_them_together_and_drops_a_diverged_one(device):
    # a wide clip, as above: then they agree
    smooth = {"num_envs": 8, "clip_coef": 10.0, "total_steps": 10**9, "device": device}
    _, configs = variant_configs(load_preset("cartpole-ppo").replace(**smooth), 3)[0]
    reports = []
    group = SeedGroup("ppo", configs, reports.append)
    with torch.no_grad():  # seed 1 is broken before it starts: its losses are nan
        group.trainers[1].policy.actor.net[0].weight.fill_(math.nan)
    group.run(max_updates=2)  # later, a rounding-sized difference may flip a sampled action
    assert isinstance(group._stacked_learner, StackedUpdate)
    assert len(group._stacked_learner.trainers) == 2  # rebuilt without the diverged seed
    states = [s.state for s in reports[-1].seeds]
    assert states == ["finished", "diverged", "finished"]
    alone = _trainers("cartpole-ppo", seeds=(0, 2), num_envs=8, clip_coef=10.0, device=device)
    for trainer in alone:
        trainer.run(max_updates=2)
    for mine, theirs in zip((group.trainers[0], group.trainers[2]), alone, strict=True):
        assert mine.update == 2
        torch.testing.assert_close(mine.policy.actor.state_dict(), theirs.policy.actor.state_dict(),
                                   rtol=1e-4, atol=1e-5)


def test_a_seed_that_diverges_in_a_stacked_update_goes_back_to_its_weights_before_it():
    _, configs = variant_configs(load_preset("cartpole-ppo").replace(
        anneal_lr=False, total_steps=10**9), 3)[0]
    reports = []
    group = SeedGroup("ppo", configs, reports.append)
    broken = group.trainers[1]
    before = [p.detach().clone() for p in broken.optimizer.params]
    others = [[p.detach().clone() for p in t.optimizer.params] for t in group.trainers[::2]]
    for param_group in broken.optimizer.param_groups:
        param_group["lr"] = math.inf  # its first Adam step makes its weights inf or nan
    group.run(max_updates=1)
    assert [s.state for s in reports[-1].seeds] == ["finished", "diverged", "finished"]
    for old, new in zip(before, broken.optimizer.params, strict=True):
        assert torch.equal(old, new)
    for state in broken.optimizer.state_dict()["state"].values():
        assert float(state["step"]) == 0 and not state["exp_avg"].any()
    for trainer, olds in zip(group.trainers[::2], others, strict=True):  # they did update
        assert trainer.update == 1
        assert all(not torch.equal(o, p) and p.isfinite().all()
                   for o, p in zip(olds, trainer.optimizer.params, strict=True))


def test_seeds_whose_rollouts_cut_into_different_minibatches_update_one_by_one():
    # 16 samples in 4 minibatches of 4; a seed with one reset step has 15: 5 of 3
    assert minibatch_split(16, 4) == (4, 4) and minibatch_split(15, 4) == (3, 5)
    assert minibatch_split(512, 2) == (256, 2) and minibatch_split(0, 2) == (1, 0)
    config = load_preset("cartpole-ppo").replace(num_envs=2, num_steps=8, num_minibatches=4,
                                                 total_steps=10**9)
    trainers = [Trainer(config.replace(seed=s)) for s in (0, 1)]
    learner = StackedUpdate.build(trainers)
    batches = [t.collector.run(t.collection()) for t in trainers]
    full, short = batches[0], copy.copy(batches[0])
    short.valid = full.valid.clone()
    short.valid[0, 0] = False
    assert learner.accepts([full, full]) and not learner.accepts([full, short])

    _, configs = variant_configs(config, 4)[0]
    reports = []
    group = SeedGroup("ppo", configs, reports.append)
    group.run(max_updates=12)  # a race used to end every seed with an error here
    assert [s.state for s in reports[-1].seeds] == ["finished"] * 4
    assert [t.update for t in group.trainers] == [12] * 4
