"""GRPO and DPO on the dialogue: their formulas by hand, their estimators and optima
against exact answers by enumeration, and each RLHF method learning what its labelers
taught it."""

import math

import numpy as np
import pytest
import torch
from cli_helpers import run_pgtui
from resuming import straight_and_resumed

from pgtui.preset_files import load_preset
from pgtui.rl.algos.actor_critic import k3
from pgtui.rl.algos.dpo import dpo_loss
from pgtui.rl.algos.grpo import STD_EPS, group_advantages, grpo_loss
from pgtui.rl.events import Snapshot, UpdateFinished
from pgtui.rl.networks import categorical_log_prob
from pgtui.rl.race.spec import variant_configs
from pgtui.rl.trainer import Trainer
from pgtui.tasks.rlhf.dialogue import PROMPTS, RESPONSE_LENGTH, RESPONSES, decode
from pgtui.tasks.rlhf.optimum import kl_optimum
from pgtui.tasks.rlhf.preferences import preference_pairs
from pgtui.tasks.rlhf.reward_model import PAIRS, labelled_pairs


def dialogue(algo: str, **overrides):
    """The ``rlhf-methods`` race's variant of ``algo`` as a single run."""
    race = load_preset("rlhf-methods")
    name = {"grpo": "GRPO", "dpo": "DPO", "ppo": "PPO", "reinforce": "RLOO"}[algo]
    config = dict(variant_configs(race, 1))[name][0]
    return config.replace(**overrides)


def stats_of(log):
    return [e.stats for e in log if isinstance(e, UpdateFinished)]


# -- GRPO -------------------------------------------------------------------------------


def test_group_advantages_by_hand():
    scores = torch.tensor([[1.0, 3.0, 2.0, 6.0, 5.0, 9.0]])
    groups = torch.tensor([[0, 0, 1, 1, 2, 3]])
    present = torch.tensor([[True, True, True, True, True, False]])
    # group 0: mean 2, sample std sqrt(2); group 1: mean 4, std sqrt(8); the 5th response
    # is alone in its group, the 6th is not in the batch
    with_std = group_advantages(scores, groups, present, scale_by_std=True)
    r2, r8 = math.sqrt(2) + STD_EPS, math.sqrt(8) + STD_EPS
    torch.testing.assert_close(with_std, torch.tensor([[-1 / r2, 1 / r2, -2 / r8, 2 / r8, 0.0, 0.0]]))
    without = group_advantages(scores, groups, present, scale_by_std=False)
    torch.testing.assert_close(without, torch.tensor([[-1.0, 1.0, -2.0, 2.0, 0.0, 0.0]]))
    alike = group_advantages(torch.tensor([[4.0, 4.0]]), torch.tensor([[0, 0]]),
                             torch.tensor([[True, True]]), scale_by_std=True)
    assert alike.tolist() == [[0.0, 0.0]]  # responses that scored alike teach nothing


def test_k3_by_hand_and_never_negative():
    # p = 0.5 sampled, q = 0.25: r = q / p = 0.5, k3 = 0.5 - 1 - log 0.5
    assert float(k3(torch.tensor(math.log(0.5)))) == pytest.approx(-0.5 + math.log(2))
    assert float(k3(torch.tensor(0.0))) == 0.0
    assert (k3(torch.linspace(-20, 5, 101)) >= 0).all()


def test_the_grpo_loss_by_hand():
    config = dialogue("grpo", clip_coef=0.2, kl_coef=0.1, ent_coef=0.0)
    logp = torch.log(torch.tensor([[0.5, 0.5]]))
    old = torch.log(torch.tensor([[0.4, 0.4]]))  # ratio 1.25, clipped to 1.2
    ref = torch.log(torch.tensor([[0.25, 0.25]]))
    adv = torch.tensor([[1.0, -1.0]])
    loss, parts = grpo_loss(logp, old, ref, adv, torch.zeros(1, 2), None, config)
    # A = +1: min(1.25, 1.2) = 1.2; A = -1: min(-1.25, -1.2) = -1.25
    policy = -(1.2 - 1.25) / 2
    kl = -0.5 + math.log(2)
    assert float(parts[0, 0]) == pytest.approx(policy)
    assert float(parts[0, 1]) == pytest.approx(kl)
    assert float(loss[0]) == pytest.approx(policy + 0.1 * kl)


def test_k3_in_the_loss_differentiates_to_the_kl_from_the_reference_not_to_it():
    """Sampled from pi, k3's gradient (samples held fixed) has mean grad KL(pi_ref || pi)
    per token: the leash GRPO's loss holds is the forward KL, not the reverse KL that
    pi* is defined with (DeepSeekMath's k3 is unbiased for the KL's value only)."""
    g = torch.Generator().manual_seed(0)
    logits = torch.randn(6, generator=g, dtype=torch.float64, requires_grad=True)
    ref = torch.randn(6, generator=g, dtype=torch.float64).log_softmax(0)
    logp = logits.log_softmax(0)
    expected_k3 = (logp.exp().detach() * k3(ref - logp)).sum()
    (through_k3,) = torch.autograd.grad(expected_k3, logits)
    forward = (ref.exp() * (ref - logits.log_softmax(0))).sum()
    (of_forward,) = torch.autograd.grad(forward, logits)
    reverse = (logits.softmax(0) * (logits.log_softmax(0) - ref)).sum()
    (of_reverse,) = torch.autograd.grad(reverse, logits)
    torch.testing.assert_close(through_k3, of_forward)
    assert (through_k3 - of_reverse).abs().max() > 0.05
    # its value is the reverse KL
    assert float(expected_k3.detach()) == pytest.approx(float(reverse.detach()))


def test_k3_summed_over_a_response_averages_to_the_exact_kl():
    trainer = Trainer(dialogue("grpo", kl_coef=1.0), seeds=[0, 1, 2, 3])
    with torch.no_grad():  # move the policies off the reference, each its own way
        g = torch.Generator().manual_seed(1)
        trainer.nets.rows[:, :trainer.nets.actor_size] += 0.15 * torch.randn(
            4, trainer.nets.actor_size, generator=g)
    exact = trainer.task.exact(lambda x: trainer.nets.head(x.expand(4, *x.shape)))["kl"]
    per_response = []
    for _ in range(6):
        batch = trainer.learner.collect(trainer.config, [0, 1, 2, 3])
        T, S, N = batch.actions.shape
        obs, actions = batch.obs.movedim(1, 0), batch.actions.movedim(1, 0)
        with torch.no_grad():
            logp = categorical_log_prob(trainer.nets.head(obs.reshape(S, T * N, -1)), actions.reshape(S, -1))
            ref = categorical_log_prob(trainer.task.reference_logits(obs), actions).reshape(S, -1)
        valid = batch.valid.movedim(1, 0).reshape(S, -1)
        ids = torch.where(valid, batch.episode_ids.movedim(1, 0).reshape(S, -1), 0)
        terms = torch.where(valid, k3(ref - logp), 0.0)
        K = int(batch.num_episodes.min())
        assert int(batch.num_episodes.max()) == K
        per_response.append(torch.zeros(S, K, dtype=terms.dtype).scatter_add_(1, ids, terms))
    samples = torch.cat(per_response, 1)
    se = samples.std(1) / math.sqrt(samples.shape[1])
    assert (exact > 0.05).all()
    assert ((samples.mean(1) - exact).abs() < 4 * se).all(), (samples.mean(1), exact, se)


def test_grpo_keeps_the_kl_out_of_the_reward_and_reports_its_estimate():
    log = []
    trainer = Trainer(dialogue("grpo", kl_coef=1.0), emit=log.append)
    assert trainer.collector.shaping is None
    trainer.run(max_updates=3)
    batch = trainer.last_batch  # by a policy that has moved off the reference
    last = batch.valid & (batch.obs[..., -2] == 1)  # the third token's step: position 2
    assert (batch.rewards[batch.valid & ~last] == 0).all()  # no per-token KL penalty
    assert (batch.rewards[last] != 0).all()  # the reward model's score
    assert Trainer(dialogue("ppo", kl_coef=1.0)).collector.shaping is not None
    first = stats_of(log)[0]
    assert first["kl_k3"] == pytest.approx(0.0, abs=1e-6)  # it starts as the reference
    assert first["group_reward_std"] > 0
    assert {"policy_loss", "clipfrac", "approx_kl", "true_reward_exact"} <= first.keys()


# -- DPO --------------------------------------------------------------------------------


def test_the_dpo_loss_and_its_gradient_by_hand():
    chosen = torch.tensor(0.3, dtype=torch.float64, requires_grad=True)
    rejected = torch.tensor(-0.2, dtype=torch.float64, requires_grad=True)
    loss = dpo_loss(chosen, rejected, beta=0.5)
    # margin 0.5 * 0.5 = 0.25: -log sigmoid(0.25) = log(1 + e^-0.25)
    assert float(loss.detach()) == pytest.approx(math.log1p(math.exp(-0.25)))
    loss.backward()
    sigmoid = 1 / (1 + math.exp(-0.25))
    assert float(chosen.grad) == pytest.approx(-0.5 * (1 - sigmoid))
    assert float(rejected.grad) == pytest.approx(0.5 * (1 - sigmoid))


@pytest.mark.parametrize("beta", [0.5, 2.0])
def test_dpo_on_exact_preferences_finds_pi_star_of_the_reward_they_imply(beta):
    """One prompt, seven responses: pairs drawn from pi_ref, labelled by Bradley-Terry
    preferences of a reward r; the policy that minimises DPO's expected loss is
    pi_ref exp(r / beta) / Z."""
    g = torch.Generator().manual_seed(3)
    ref = torch.randn(7, generator=g, dtype=torch.float64).log_softmax(0)
    reward = torch.randn(7, generator=g, dtype=torch.float64)
    prefer = torch.sigmoid(reward[:, None] - reward[None, :])  # P(i beats j)
    weight = ref.exp()[:, None] * ref.exp()[None, :]
    logits = ref.clone().requires_grad_(True)
    optimizer = torch.optim.LBFGS([logits], max_iter=500, tolerance_grad=1e-12, tolerance_change=1e-14,
                                  line_search_fn="strong_wolfe")

    def expected_loss():
        optimizer.zero_grad()
        h = logits.log_softmax(0) - ref
        loss = (weight * prefer * dpo_loss(h[:, None], h[None, :], beta)).sum()
        loss.backward()
        return loss

    optimizer.step(expected_loss)
    pi_star = kl_optimum(ref, reward, beta).exp()
    torch.testing.assert_close(logits.detach().softmax(0), pi_star, atol=1e-6, rtol=1e-5)


def test_dpo_reads_the_reward_models_training_pairs():
    from pgtui.tasks.rlhf.models import reference_probs

    pairs = preference_pairs(0.6)
    prompts, chosen, rejected = labelled_pairs(reference_probs(), 0.6)
    assert len(pairs) == PAIRS
    index = np.array([0, 7, PAIRS - 1])
    obs_c, act_c, obs_r, act_r = pairs.take(index)
    assert np.array_equal(act_c, RESPONSES[chosen[index]])
    assert np.array_equal(act_r, RESPONSES[rejected[index]])
    for n, i in enumerate(index):  # each step's context: the prompt and the tokens so far
        for t in range(RESPONSE_LENGTH):
            prompt, written = decode(obs_c[n, t])
            assert written == list(RESPONSES[chosen[i]][:t])
            assert prompt == decode(obs_r[n, t])[0] == PROMPTS[prompts[i]]
    assert pairs.take(index)[0].shape == (3, RESPONSE_LENGTH, obs_c.shape[-1])


def test_dpo_samples_nothing_and_counts_the_tokens_it_reads():
    log = []
    trainer = Trainer(dialogue("dpo", pairs_per_update=16), emit=log.append, snapshot_hz=1000)
    assert trainer.collector.shaping is None
    trainer.run(max_updates=4)
    shown = [e for e in log if isinstance(e, Snapshot)]  # the screen still sees the policy
    assert shown and abs(sum(shown[-1].policy.probs) - 1) < 1e-5
    assert trainer.global_step == 4 * 16 * 2 * RESPONSE_LENGTH
    assert trainer.runs[0].episodes == 0  # no dialogue was played
    stats = stats_of(log)
    assert "proxy_reward" not in stats[0]  # nothing sampled to read figures off
    assert {"proxy_reward_exact", "kl_exact", "kl_to_optimum_exact", "reward_margin",
            "reward_accuracy"} <= stats[0].keys()
    assert stats[0]["reward_margin"] == pytest.approx(0.0, abs=1e-6)  # pi = pi_ref at the start
    assert stats[-1]["kl_exact"] > 0


@pytest.mark.numerics
@pytest.mark.parametrize("algo", ["grpo", "dpo"])
def test_a_resumed_grpo_or_dpo_run_matches_the_uninterrupted_one(tmp_path, algo):
    whole, second, _ = straight_and_resumed(dialogue(algo, total_steps=10**6), 4, 2, tmp_path)
    assert second.global_step == whole.global_step
    assert torch.equal(whole.nets.rows, second.nets.rows)
    assert torch.equal(whole.optimizer.exp_avg, second.optimizer.exp_avg)


# -- every method learns what its labelers taught ------------------------------------


@pytest.mark.parametrize("preset", ["rlhf-methods", "rlhf-methods-fair"])
def test_every_method_learns_what_its_labelers_taught(preset):
    """Biased labelers: every method ends agreeing with wrong users more than pi_ref
    (0.333); fair ones: every method ends more accurate than pi_ref (0.624)."""
    race = load_preset(preset).replace(total_steps=16_384)
    for name, (config,) in variant_configs(race, 1):
        log = []
        Trainer(config, emit=log.append).run()
        start, end = stats_of(log)[0], stats_of(log)[-1]
        if config.labeler_bias > 0:
            assert end["agreement_when_wrong_exact"] > start["agreement_when_wrong_exact"] + 0.05, name
        else:
            assert end["true_reward_exact"] > start["true_reward_exact"] + 0.05, name


def test_compare_races_the_methods_with_dpos_implicit_reward_and_the_true_reward_plot():
    import json

    result = run_pgtui("compare", "--preset", "rlhf-methods", "--seeds", "1", "--set",
                       "total_steps=3072", "--json")
    assert result.returncode == 0, result.stderr
    variants = {v["name"]: v for v in json.loads(result.stdout.strip().splitlines()[-1])["variants"]}
    assert list(variants) == ["RLOO", "PPO", "GRPO", "Dr. GRPO", "DPO"]
    assert all("kl_to_optimum" in v and "optimum_true_reward" in v for v in variants.values())
    assert [name for name, v in variants.items() if "reward_margin" in v] == ["DPO"]
    assert "true reward (exact): median across seeds" in result.stdout
    assert "DPO: implicit reward: margin" in " ".join(result.stdout.split())
