"""Returns and GAE against numbers worked out by hand."""

import pytest
import torch

from pgtui.rl.algos.returns import full_episode_returns, gae, normalize, reward_to_go

T = torch.tensor


def test_reward_to_go_cuts_at_episode_end():
    # two episodes in one column: rewards 1, 2 | 3, 4 with gamma 0.5
    rewards = T([1.0, 2.0, 3.0, 4.0])
    dones = T([False, True, False, True])
    # 1 + 0.5*2 = 2 ; 2 ; 3 + 0.5*4 = 5 ; 4
    assert reward_to_go(rewards, dones, 0.5).tolist() == [2.0, 2.0, 5.0, 4.0]


def test_reward_to_go_bootstraps_the_last_step():
    rewards = T([[1.0], [1.0]])
    dones = T([[False], [False]])
    # G_1 = 1 + 0.9 * 10 = 10 ; G_0 = 1 + 0.9 * 10 = 10
    out = reward_to_go(rewards, dones, 0.9, last_value=T([10.0]))
    assert out[:, 0].tolist() == pytest.approx([10.0, 10.0])


def test_full_episode_return_weights_every_step_with_g0():
    rewards = T([1.0, 2.0, 3.0, 4.0])
    dones = T([False, True, False, True])
    # G_0 of episode 1 = 1 + 0.5*2 = 2 ; of episode 2 = 3 + 0.5*4 = 5
    assert full_episode_returns(rewards, dones, 0.5).tolist() == [2.0, 2.0, 5.0, 5.0]


def test_full_episode_return_skips_a_masked_reset_step():
    # episode 1: r=1,1 ; step 2 is the autoreset step (reward 0, marked done) ; episode 2: r=1
    rewards = T([1.0, 1.0, 0.0, 1.0])
    dones = T([False, True, True, True])
    assert full_episode_returns(rewards, dones, 1.0).tolist() == [2.0, 2.0, 0.0, 1.0]


@pytest.mark.parametrize("gamma", [0.0, 0.5, 0.9, 1.0])
@pytest.mark.parametrize("lam", [0.0, 0.5, 0.95, 1.0])
def test_gae_matches_the_hand_expansion(gamma, lam):
    # three steps, no episode end, bootstrap V(s_3) = 4
    r = [1.0, 2.0, 3.0]
    v = [0.5, 1.5, 2.5]
    v_next = [1.5, 2.5, 4.0]
    d = [r[i] + gamma * v_next[i] - v[i] for i in range(3)]
    a2 = d[2]
    a1 = d[1] + gamma * lam * a2
    a0 = d[0] + gamma * lam * a1
    adv, ret = gae(T(r), T(v), T(v_next), T([False] * 3), T([False] * 3), gamma, lam)
    assert adv.tolist() == pytest.approx([a0, a1, a2])
    assert ret.tolist() == pytest.approx([a0 + v[0], a1 + v[1], a2 + v[2]])


@pytest.mark.parametrize("gamma", [0.5, 0.99])
@pytest.mark.parametrize("lam", [0.0, 0.8, 1.0])
def test_gae_terminated_vs_truncated(gamma, lam):
    # step 0 ends its episode; step 1 starts a new one
    r, v, v_next = [1.0, 1.0], [2.0, 3.0], [5.0, 7.0]
    for terminated, boot in ((True, 0.0), (False, 5.0)):
        adv, _ = gae(T(r), T(v), T(v_next), T([terminated, False]), T([True, False]),
                     gamma, lam)
        # the next observation's value counts only when the episode was truncated
        assert adv[0].item() == pytest.approx(1.0 + gamma * boot - 2.0)
        assert adv[1].item() == pytest.approx(1.0 + gamma * 7.0 - 3.0)


def test_gae_with_lambda_one_is_the_discounted_return_minus_value():
    r = T([1.0, 0.0, 2.0])
    v = T([0.3, -0.2, 0.7])
    v_next = T([-0.2, 0.7, 0.0])
    done = T([False, False, True])
    adv, ret = gae(r, v, v_next, done, done, 0.9, 1.0)
    assert ret.tolist() == pytest.approx(reward_to_go(r, done, 0.9).tolist())
    assert adv.tolist() == pytest.approx((reward_to_go(r, done, 0.9) - v).tolist())


def test_normalize_uses_only_masked_entries():
    x = T([1.0, 3.0, 100.0])
    out = normalize(x, T([True, True, False]))
    # mean 2, sample std sqrt(2)
    assert out[:2].tolist() == pytest.approx([-1 / 2**0.5, 1 / 2**0.5], rel=1e-6)
