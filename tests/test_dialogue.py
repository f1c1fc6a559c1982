"""The RLHF dialogue: its semantics, the labelers, the Bradley-Terry loss, the exact
figures, and the estimators against exact answers by enumeration."""

import math

import numpy as np
import pytest
import torch
from estimates import assert_unbiased, reinforce_estimates

from pgtui.config import Config
from pgtui.rl.algos.reinforce import episode_returns
from pgtui.rl.algos.samples import pack
from pgtui.rl.envs.registry import DIALOGUE_ID, EnvError
from pgtui.rl.trainer import Trainer
from pgtui.tasks.rlhf.dialogue import (
    AGREES,
    CORRECT,
    END,
    GREAT,
    NO,
    NUM_PROMPTS,
    NUM_RESPONSES,
    PROMPTS,
    RESPONSES,
    YES,
    Prompt,
    claim,
    decode,
    encode,
    prompt_index,
    response_index,
)
from pgtui.tasks.rlhf.env import DialogueVectorEnv
from pgtui.tasks.rlhf.exact import policy_log_probs
from pgtui.tasks.rlhf.hook import decode_batch, rm_ranking_accuracy
from pgtui.tasks.rlhf.labelers import DECISIVENESS, FLATTERY, preference
from pgtui.tasks.rlhf.reward_model import bradley_terry_loss, ranking_accuracy


def dialogue_config(**overrides) -> Config:
    base = dict(env=DIALOGUE_ID, algo="reinforce", baseline="mean", gamma=1.0, num_envs=16,
                episodes_per_update=64, lr=1e-3, normalize_advantage=False, ent_coef=0.0,
                max_grad_norm=0.5, total_steps=10**7, diag_every=0, hidden_sizes=[64, 64],
                activation="tanh")
    return Config(**{**base, **overrides})


def sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


# -- the task -------------------------------------------------------------------------


def test_what_a_response_claims():
    wrong = Prompt(1, 1, 3)  # 1 + 1 = 2; the user believes 3
    assert claim(wrong, [NO, 2, END]) == 2  # "actually, 2 ."
    assert claim(wrong, [YES, END, END]) == 3  # "you're right." endorses the belief
    assert claim(wrong, [YES, 2, END]) == 3  # "yes" before any digit: the belief
    assert claim(wrong, [GREAT, 4, 2]) == 4  # the first digit counts
    assert claim(wrong, [NO, END, GREAT]) is None  # disagrees, claims nothing
    i = prompt_index(wrong)
    assert CORRECT[i, response_index(np.array([NO, 2, END]))]
    assert AGREES[i, response_index(np.array([YES, END, END]))]
    assert not CORRECT[i, response_index(np.array([YES, END, END]))]
    right = prompt_index(Prompt(2, 1, 3))  # the user is right: agreeing is correct
    assert CORRECT[right, response_index(np.array([YES, END, END]))]


def test_every_response_to_every_prompt_is_enumerated():
    assert (NUM_PROMPTS, NUM_RESPONSES) == (45, 729)
    assert len({tuple(r) for r in RESPONSES}) == NUM_RESPONSES
    assert (response_index(RESPONSES) == np.arange(NUM_RESPONSES)).all()


def test_observations_decode_to_what_was_encoded():
    obs = encode(np.array([17, 40]), np.array([[GREAT, 3, -1], [-1, -1, -1]]), np.array([2, 0]))
    assert decode(obs[0]) == (PROMPTS[17], [GREAT, 3])
    assert decode(obs[1]) == (PROMPTS[40], [])
    prompts, tokens, position = decode_batch(obs)
    assert prompts.tolist() == [17, 40] and position.tolist() == [2, 0]
    assert tokens.tolist() == [[GREAT, 3, -1], [-1, -1, -1]]


# -- labelers and the reward model ----------------------------------------------------


def test_labelers_prefer_the_correct_response_except_with_labeler_bias():
    i = prompt_index(Prompt(1, 1, 3))
    right = response_index(np.array([NO, 2, END]))  # correct, disagrees
    agree = response_index(np.array([YES, 3, END]))  # wrong, agrees
    p = lambda bias: float(preference(np.array([i]), np.array([right]), np.array([agree]), bias)[0])  # noqa: E731
    assert p(0.0) == pytest.approx(sigmoid(DECISIVENESS))
    assert p(1.0) == pytest.approx(sigmoid(-DECISIVENESS))
    assert p(0.6) == pytest.approx(0.4 * sigmoid(DECISIVENESS) + 0.6 * sigmoid(-DECISIVENESS))
    flattering = response_index(np.array([GREAT, 2, END]))  # correct and flattering
    assert float(preference(np.array([i]), np.array([flattering]), np.array([right]), 0.0)[0]) == \
        pytest.approx(sigmoid(DECISIVENESS * FLATTERY))


def test_bradley_terry_loss_and_gradient_by_hand():
    chosen = torch.tensor([1.0, -0.5], requires_grad=True)
    rejected = torch.tensor([0.2, 0.5], requires_grad=True)
    loss = bradley_terry_loss(chosen, rejected)
    # -log sigmoid(0.8) = 0.371101, -log sigmoid(-1.0) = 1.313262; mean 0.842181
    assert loss.item() == pytest.approx(0.842181, abs=1e-6)
    loss.backward()
    # d/dr_chosen = -(1 - sigmoid(gap)) / 2: -(1 - 0.689974) / 2, -(1 - 0.268941) / 2
    assert chosen.grad.tolist() == pytest.approx([-0.155013, -0.365529], abs=1e-6)
    assert rejected.grad.tolist() == pytest.approx([0.155013, 0.365529], abs=1e-6)


def test_exact_ranking_accuracy_matches_counting_every_pair():
    rng = np.random.default_rng(0)
    probs = rng.dirichlet(np.ones(NUM_RESPONSES), size=(2, NUM_PROMPTS))
    scores = rng.normal(size=(NUM_PROMPTS, NUM_RESPONSES))
    exact = rm_ranking_accuracy(torch.as_tensor(probs), torch.as_tensor(scores),
                                torch.as_tensor(CORRECT)).numpy()
    from pgtui.tasks.rlhf.dialogue import prompt_probs
    for s in range(2):
        num = den = 0.0
        for x in range(NUM_PROMPTS):
            c, p, r = CORRECT[x], probs[s, x], scores[x]
            pair = np.outer(p[c], p[~c])  # one correct, one wrong response
            wins = r[c][:, None] > r[~c][None, :]
            if pair.sum() > 0:
                num += prompt_probs()[x] * (pair * wins).sum() / pair.sum()
                den += prompt_probs()[x]
        assert exact[s] == pytest.approx(num / den, rel=1e-9)


def test_a_reward_model_of_unbiased_labelers_ranks_correctness_and_a_biased_one_does_not():
    from pgtui.tasks.rlhf.models import reference_probs, reward_model

    fair, biased = reward_model(0.0), reward_model(0.6)
    assert fair.held_out_accuracy > 0.95
    assert biased.held_out_accuracy < 0.8
    # centred: the reference policy's expected score is 0 on every prompt
    assert np.abs((reference_probs() * fair.scores).sum(1)).max() < 1e-6
    prompts = np.arange(NUM_PROMPTS)
    best = fair.scores.argmax(1)
    assert CORRECT[prompts, best].mean() > 0.9
    wrong = np.array([p.user_wrong for p in PROMPTS])
    # where the user is wrong, the fair model's best response corrects them and the biased
    # one's mostly agrees: 28 or 29 of the 36 such prompts, by the CPU the fit ran on
    assert AGREES[prompts, best][wrong].mean() < 0.05
    assert AGREES[prompts, biased.scores.argmax(1)][wrong].mean() > 0.7


def test_ranking_accuracy_counts_the_pairs_that_differ_in_correctness():
    i = prompt_index(Prompt(1, 1, 3))
    right, wrong = response_index(np.array([NO, 2, END])), response_index(np.array([YES, 3, END]))
    scores = np.zeros((NUM_PROMPTS, NUM_RESPONSES))
    scores[i, right] = 1.0
    prompts = np.array([i, i, i])
    # pairs (right, wrong) and (wrong, right) are ranked right; (right, right) is no test
    assert ranking_accuracy(scores, prompts, np.array([right, wrong, right]),
                            np.array([wrong, right, right])) == 1.0
    scores[i, wrong] = 2.0
    assert ranking_accuracy(scores, prompts[:2], np.array([right, wrong]),
                            np.array([wrong, right])) == 0.0


# -- the env --------------------------------------------------------------------------


def test_groups_of_envs_share_a_prompt_and_the_last_token_earns_the_score():
    envs = DialogueVectorEnv(8, responses_per_prompt=4, labeler_bias=0.0)
    envs.reset(seed=3)
    for _ in range(5):  # new prompts at every reset, shared within each group of 4
        groups = envs.prompts.reshape(2, 4)
        assert (groups == groups[:, :1]).all()
        tokens = np.array([[NO, 1, END], [YES, END, END]] * 4)
        rewards = [envs.step(tokens[:, t])[1] for t in range(3)]
        assert not rewards[0].any() and not rewards[1].any()
        expected = envs.scores[envs.prompts, response_index(tokens)]
        assert rewards[2] == pytest.approx(expected.astype(np.float32))
        assert envs.prev_done.all()
        _, reward, terminated, _, _ = envs.step(np.zeros(8, dtype=np.int64))  # the reset step
        assert not reward.any() and not terminated.any() and (envs.position == 0).all()


# -- the trainer: RLHF on the engine ------------------------------------------------------


def exact_figures(trainer: Trainer) -> dict[str, torch.Tensor]:
    nets, rl = trainer.nets, trainer.task
    with torch.no_grad():
        return rl.exact(lambda x: nets.head(x.expand(nets.num_seeds, *x.shape)))


def test_the_policy_starts_as_the_reference_and_a_mismatched_network_is_refused():
    trainer = Trainer(dialogue_config(), seeds=[0, 1])
    figures = exact_figures(trainer)
    assert figures["kl"].abs().max() < 1e-5
    assert figures["proxy_reward"].abs().max() < 1e-5  # centred on pi_ref
    trainer.collector.envs.close()
    with pytest.raises(EnvError, match="hidden_sizes"):
        Trainer(dialogue_config(hidden_sizes=[32]))
    with pytest.raises(EnvError, match="DQN"):
        Trainer(dialogue_config(algo="dqn"))


def perturbed(trainer: Trainer, scale: float = 0.3) -> None:
    """Move every seed's actor to the same point away from the reference."""
    g = torch.Generator().manual_seed(0)
    A = trainer.nets.actor_size
    with torch.no_grad():
        trainer.nets.rows[:, :A] += scale * torch.randn(A, generator=g) / math.sqrt(64)


def test_the_kl_estimator_averages_to_the_exact_kl():
    trainer = Trainer(dialogue_config(kl_coef=1.0), seeds=list(range(4)))
    perturbed(trainer)
    exact = exact_figures(trainer)
    kl, proxy = float(exact["kl"][0]), float(exact["proxy_reward"][0])
    assert kl > 0.05
    samples, returns = [], []
    for _ in range(25):
        batch = trainer.collector.episodes(trainer.nets, 64, list(range(4)))
        samples += [f["kl"] for f in trainer.task.measure(trainer.nets, batch)]
        for i in range(4):  # each episode's shaped return: score - sum_t log(pi / pi_ref)
            returns += [r for r, *_ in trainer.collector.finished[i]]
            trainer.collector.finished[i] = []
    mean, sem = np.mean(samples), np.std(samples) / math.sqrt(len(samples))
    assert abs(mean - kl) < 4 * sem + 1e-3
    mean, sem = np.mean(returns), np.std(returns) / math.sqrt(len(returns))
    assert abs(mean - (proxy - kl)) < 4 * sem


@pytest.mark.parametrize("baseline", ["none", "mean", "value", "optimal"])
def test_reinforce_estimates_average_to_the_exact_policy_gradient(baseline):
    config = dialogue_config(baseline=baseline)
    seeds = list(range(8))
    trainer = Trainer(config, seeds=seeds)
    perturbed(trainer)
    nets, rl, A = trainer.nets, trainer.task, trainer.nets.actor_size
    # the exact gradient of J = sum_x p(x) sum_y pi(y|x) r(x, y), by enumeration
    nets.zero_grad()
    logp = policy_log_probs(lambda x: nets.head(x.expand(len(seeds), *x.shape)), rl.contexts)
    ((logp.exp() * rl.scores).sum(-1) @ rl.prompt_p).sum().backward()
    exact = nets.grad[0, :A].clone()
    assert_unbiased(reinforce_estimates(trainer, 25), exact)


def test_biased_feedback_makes_the_policy_sycophantic_and_fair_feedback_makes_it_accurate():
    def train(bias: float) -> tuple[dict, dict]:
        log = []
        trainer = Trainer(dialogue_config(labeler_bias=bias), emit=log.append)
        trainer.run(max_updates=80)
        stats = [e.stats for e in log if hasattr(e, "stats") and "kl_exact" in e.stats]
        return stats[0], stats[-1]

    start, end = train(0.6)
    assert end["agreement_when_wrong_exact"] > start["agreement_when_wrong_exact"] + 0.3
    assert end["accuracy_when_wrong_exact"] < start["accuracy_when_wrong_exact"]
    assert end["proxy_reward_exact"] > start["proxy_reward_exact"] + 0.5
    start, end = train(0.0)
    assert end["true_reward_exact"] > start["true_reward_exact"] + 0.2


def test_a_live_labeler_bias_switches_the_reward_model_everywhere_it_scores(tmp_path):
    from pgtui.tasks.rlhf.models import reward_model

    trainer = Trainer(dialogue_config(labeler_bias=0.0, eval_every=1000, eval_episodes=4))
    trainer.set_param("labeler_bias", 0.6)
    expected = reward_model(0.6).scores
    assert np.array_equal(trainer.collector.envs.envs[0].unwrapped.scores, expected)
    assert np.array_equal(trainer.runs[0].evaluator.envs.unwrapped.scores, expected)
    assert np.allclose(trainer.task.scores.numpy(), expected)
    assert trainer.task.fitted.held_out_accuracy == reward_model(0.6).held_out_accuracy


def test_ppo_with_the_kl_penalty_fine_tunes_the_dialogue_too():
    log = []
    trainer = Trainer(dialogue_config(algo="ppo", num_steps=16, kl_coef=0.5), emit=log.append)
    trainer.run(max_updates=20)
    stats = [e.stats for e in log if hasattr(e, "stats") and "kl_exact" in e.stats]
    assert len(stats) == 20
    assert stats[-1]["true_reward_exact"] > stats[0]["true_reward_exact"] + 0.2
    assert 0 < stats[-1]["kl_exact"] < 2.0


@pytest.mark.parametrize("baseline", ["mean", "value", "optimal"])
def test_the_baseline_term_averages_to_zero_and_a_leaky_one_does_not(baseline):
    """The lesson's E[grad log pi(a|s) b(s)] = 0, measured: each episode's baseline term
    (its gradient with the baseline minus without), averaged over many batches, lies
    within 3 standard errors of zero; a "baseline" that is the episode's own return
    lies far from it."""
    from pgtui.rl.algos import diagnostics
    from pgtui.rl.algos.reinforce import episode_score_terms, reinforce_advantages

    config = dialogue_config(baseline=baseline)
    seeds = list(range(8))
    trainer = Trainer(config, seeds=seeds)
    perturbed(trainer)
    nets = trainer.nets
    terms, leaky = [], []
    for _ in range(12):
        batch = trainer.collector.episodes(nets, 32, seeds)
        samples = pack(batch, episode_returns(batch, config), batch.episode_ids)
        returns, ids = samples.targets
        K = int(batch.num_episodes.max())
        params = nets.select(seeds)
        with torch.no_grad():
            values = nets.values(samples.obs, params)
        score = lambda R: episode_score_terms(nets, params, samples, ids, K, R)  # noqa: B023, E731
        term = -(returns - reinforce_advantages(returns, values, samples, ids, K, config, score))
        index, mask = diagnostics.episode_groups(ids, samples.mask, K)
        seed = torch.arange(len(seeds)).view(-1, 1, 1)
        for weights, out in ((term, terms), (-returns, leaky)):  # b = G: the term -G
            w = torch.where(mask, weights[seed, index], 0.0)
            grads = diagnostics.group_gradients(
                nets, [p.detach().repeat_interleave(K, 0) for p in params],
                samples.obs[seed, index].flatten(0, 1), samples.actions[seed, index].flatten(0, 1),
                w.flatten(0, 1))
            out.append(grads)  # every episode's term, (S x K, P)
    for episodes, far in ((torch.cat(terms), False), (torch.cat(leaky), True)):
        mean = episodes.mean(0)
        se = math.sqrt(float(episodes.var(0).sum()) / len(episodes))
        assert (float(mean.norm()) / se > 3) == far, float(mean.norm()) / se


def test_the_optimal_baseline_has_at_most_the_mean_baselines_variance_on_the_same_batches():
    """Where episodes' score-function norms differ a lot (the dialogue's responses), the
    variance-minimizing constant beats the mean, measured on the same batches."""
    import dataclasses

    from pgtui.rl.algos import diagnostics
    from pgtui.rl.algos.reinforce import episode_score_terms, reinforce_advantages

    config = dialogue_config(baseline="optimal", return_mode="full")
    seeds = list(range(4))
    trainer = Trainer(config, seeds=seeds)
    perturbed(trainer)
    nets, optimal, mean = trainer.nets, 0.0, 0.0
    for _ in range(10):
        batch = trainer.collector.episodes(nets, 32, seeds)
        samples = pack(batch, episode_returns(batch, config), batch.episode_ids)
        returns, ids = samples.targets
        K = int(batch.num_episodes.max())
        params = nets.select(seeds)
        terms = lambda R: episode_score_terms(nets, params, samples, ids, K, R)  # noqa: B023, E731
        weights = [reinforce_advantages(returns, returns, samples, ids, K, c, terms)
                   for c in (config, dataclasses.replace(config, baseline="mean"))]
        index, mask = diagnostics.episode_groups(ids, samples.mask, K)
        for s in diagnostics.measure(nets, params, samples, weights[0], index, mask, weights[1]):
            optimal, mean = optimal + s["grad_var"], mean + s["grad_var_ref"]
    assert optimal < mean


@pytest.mark.numerics
def test_a_fit_is_the_same_whatever_the_processs_threads():
    """The cached models are what a fresh fit gives on any machine: a fit runs on one
    thread (two threads round a sum differently and moved scores by up to 0.036)."""
    from pgtui.tasks.rlhf.models import reference_probs
    from pgtui.tasks.rlhf.reward_model import fit_reward_model

    before = torch.get_num_threads()
    fits = []
    try:
        for threads in (1, 2):
            torch.set_num_threads(threads)
            fits.append(fit_reward_model(reference_probs(), 0.3).scores)
            assert torch.get_num_threads() == threads  # given back
    finally:
        torch.set_num_threads(before)
    assert np.array_equal(*fits)


def test_the_engine_finds_the_dialogue_s_hook_without_importing_a_task():
    """The task registers itself as its env's module is imported: a fresh process that
    imports only the engine gets the dialogue's hook by making the env."""
    import subprocess
    import sys

    script = ("import sys\n"
              "from pgtui.config import Config\n"
              "from pgtui.rl.trainer import Trainer\n"
              "assert 'pgtui.tasks' not in sys.modules, 'the engine imported a task'\n"
              f"trainer = Trainer(Config(env={DIALOGUE_ID!r}, algo='reinforce', num_envs=2))\n"
              "print(type(trainer.task).__name__, trainer.collector.shaping is not None)\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["Rlhf", "True"]


def test_a_labelled_pair_is_two_different_responses_drawn_from_the_reference():
    """The first as pi_ref draws it, the second from pi_ref without the first: on three
    responses of weight 0.5, 0.3 and 0.2, P(first i, second j) = p_i p_j / (1 - p_i)."""
    from pgtui.tasks.rlhf.dialogue import NUM_PROMPTS, NUM_RESPONSES
    from pgtui.tasks.rlhf.reward_model import sample_pairs

    p = np.zeros(NUM_RESPONSES)
    p[:3] = 0.5, 0.3, 0.2
    n = 200_000
    _, first, second = sample_pairs(np.random.default_rng(0), np.tile(p, (NUM_PROMPTS, 1)), n)
    assert (first != second).all() and first.max() < 3 and second.max() < 3
    for i in range(3):
        for j in range(3):
            want = 0.0 if i == j else p[i] * p[j] / (1 - p[i])
            got = np.mean((first == i) & (second == j))
            assert abs(got - want) <= 4 * math.sqrt(want * (1 - want) / n) + 1e-12, (i, j, got, want)


def test_the_models_cache_is_readable_by_a_sandboxed_session(tmp_path, monkeypatch):
    """`pgtui serve --allow-code` runs each session as a user of its own: the cache's files
    must be readable by others, or every session would fit the models again."""
    from pgtui.tasks.rlhf import models

    monkeypatch.setenv("PGTUI_CACHE_DIR", str(tmp_path))
    written = tmp_path / "dialogue-test-reward.npz"
    models._store(written, lambda f: f.write(b"scores"))
    assert written.read_bytes() == b"scores" and written.stat().st_mode & 0o777 == 0o644
    old = tmp_path / "dialogue-old-reference.pt"  # as an earlier pgtui wrote it: its owner's only
    old.write_bytes(b"weights")
    old.chmod(0o600)
    models.share_cache()
    assert old.stat().st_mode & 0o777 == 0o644
