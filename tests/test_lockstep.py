"""Seeds in lockstep: the stacked forward pass decides as each seed's own policy would."""

import pytest
import torch
from torch.nn.utils import parameters_to_vector

from pgtui.config import load_preset
from pgtui.rl.group import SeedGroup
from pgtui.rl.lockstep import StackedPolicy
from pgtui.rl.race import variant_configs
from pgtui.rl.trainer import Trainer


@pytest.mark.parametrize("preset", ["cartpole-ppo", "pendulum-ppo"])
def test_a_stacked_decision_equals_each_policys_own(preset):
    trainers = [Trainer(load_preset(preset).replace(seed=s, num_envs=4)) for s in (0, 1, 2)]
    stacked = StackedPolicy.build([t.policy for t in trainers])
    obs = torch.randn(3, 4, trainers[0].info.obs_dim)
    mine = [torch.Generator().manual_seed(s) for s in (5, 6, 7)]
    theirs = [torch.Generator().manual_seed(s) for s in (5, 6, 7)]
    decisions = stacked.decide(obs, [0, 1, 2], mine)
    for i, (trainer, (action, head)) in enumerate(zip(trainers, decisions, strict=True)):
        with torch.no_grad():
            own_action, own_head = trainer.policy.actor.sample(obs[i], theirs[i])
        torch.testing.assert_close(head, own_head)
        torch.testing.assert_close(action, own_action, rtol=0, atol=1e-5)


def test_only_policies_of_one_shape_share_a_pass():
    small = Trainer(load_preset("cartpole-ppo").replace(hidden_sizes=[8]))
    big = Trainer(load_preset("cartpole-ppo"))
    tabular = Trainer(load_preset("worked-example"))
    assert StackedPolicy.build([small.policy, big.policy]) is None
    assert StackedPolicy.build([tabular.policy, tabular.policy]) is None
    assert StackedPolicy.build([big.policy, big.policy]) is not None


@pytest.mark.parametrize("preset", ["variance-baseline", "cartpole-a2c", "cartpole-ppo"])
def test_a_group_in_lockstep_trains_as_its_seeds_would_one_by_one(preset):
    def train(lockstep):
        _, configs = variant_configs(load_preset(preset).replace(total_steps=10**9), 2)[0]
        group = SeedGroup("v", configs, lambda report: None, lockstep=lockstep)
        start = [parameters_to_vector(t.policy.parameters()).detach().clone()
                 for t in group.trainers]
        group.run(max_updates=4)
        return group.trainers, start

    (together, start), (alone, _) = train(True), train(False)
    for a, b, init in zip(together, alone, start, strict=True):
        assert a.global_step == b.global_step and list(a.recent_returns) == list(b.recent_returns)
        mine, own = (parameters_to_vector(t.policy.parameters()).detach() for t in (a, b))
        # only the rounding of batched matmuls differs; Adam, dividing by each gradient's
        # own size, lets it grow with the steps (PPO takes 32 here), so it is measured
        # against how far the weights moved
        assert (mine - own).norm() < 1e-3 * (own - init).norm()
