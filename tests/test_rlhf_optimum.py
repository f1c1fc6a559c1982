"""The dialogue's KL-regularised optimum pi* = pi_ref exp(r / beta) / Z, by enumeration:
against a direct maximisation, its limit at beta = 0, and the figures a run reports."""

import math

import pytest
import torch

from pgtui.preset_files import load_preset
from pgtui.rl.events import UpdateFinished
from pgtui.rl.race.spec import variant_configs
from pgtui.rl.trainer import Trainer
from pgtui.tasks.rlhf.hook import Rlhf
from pgtui.tasks.rlhf.optimum import kl_optimum, regularised_objective

pytestmark = pytest.mark.numerics  # figures against an independent computation


def small_case(seed=0, responses=6):
    g = torch.Generator().manual_seed(seed)
    ref_logp = torch.randn(2, responses, generator=g, dtype=torch.float64).log_softmax(-1)
    scores = torch.randn(2, responses, generator=g, dtype=torch.float64)
    return ref_logp, scores


@pytest.mark.parametrize("beta", [0.1, 0.5, 2.0])
def test_the_closed_form_is_what_a_direct_maximisation_finds(beta):
    ref_logp, scores = small_case()
    logits = torch.zeros_like(scores, requires_grad=True)
    optimizer = torch.optim.Adam([logits], lr=0.05)
    for _ in range(4000):
        optimizer.zero_grad()
        (-regularised_objective(logits.log_softmax(-1), ref_logp, scores, beta).sum()).backward()
        optimizer.step()
    found = logits.detach().log_softmax(-1)
    best = kl_optimum(ref_logp, scores, beta)
    torch.testing.assert_close(found.exp(), best.exp(), atol=5e-4, rtol=0)
    at_best = regularised_objective(best, ref_logp, scores, beta)
    # beta log Z: the optimum's value in closed form
    torch.testing.assert_close(at_best, beta * torch.logsumexp(ref_logp + scores / beta, -1))
    assert (at_best >= regularised_objective(ref_logp, ref_logp, scores, beta)).all()


def test_at_beta_zero_it_is_pi_ref_on_the_best_scored_responses():
    ref_logp = torch.tensor([[0.1, 0.2, 0.3, 0.4]]).log()
    scores = torch.tensor([[1.0, 3.0, 2.0, 3.0]])
    torch.testing.assert_close(kl_optimum(ref_logp, scores, 0.0).exp(),
                               torch.tensor([[0.0, 1 / 3, 0.0, 2 / 3]]))
    torch.testing.assert_close(kl_optimum(ref_logp, scores, 1e-3).exp(),
                               kl_optimum(ref_logp, scores, 0.0).exp(), atol=1e-4, rtol=0)


def test_the_hook_reports_the_optimum_and_each_policys_kl_to_it():
    hook = Rlhf(torch.device("cpu"))
    hook.use_labeler_bias(0.6, kl_coef=0.5)
    ref = hook.ref_logp.unsqueeze(0)
    figures = hook.figures_of(ref)
    # KL(pi_ref || pi*) = log Z - E_ref[r] / beta, prompt by prompt
    log_z = torch.logsumexp(hook.ref_logp + hook.scores / 0.5, -1)
    expected = (log_z - (hook.ref_logp.exp() * hook.scores).sum(-1) / 0.5) @ hook.prompt_p
    assert figures["kl_to_optimum"].item() == pytest.approx(expected.item(), rel=1e-4)
    at_optimum = hook.figures_of(hook.optimum_logp.unsqueeze(0))
    assert at_optimum["kl_to_optimum"].item() == pytest.approx(0, abs=1e-5)
    assert hook.optimum["optimum_kl"] > 0
    assert hook.optimum["optimum_proxy_reward"] > figures["proxy_reward"].item()
    hook.use_kl_coef(5.0)  # a tighter leash: pi* stays nearer pi_ref
    assert hook.optimum["optimum_kl"] < 1.0


@pytest.mark.parametrize(("variant", "finite"), [("kl 0.5", True), ("kl 0", False)])
def test_a_run_reports_the_optimum_and_its_distance_to_it(variant, finite):
    config = dict(variant_configs(load_preset("rlhf-kl"), 1))[variant][0]
    events = []
    Trainer(config, events.append).run(max_updates=2)
    stats = [e.stats for e in events if isinstance(e, UpdateFinished)][-1]
    assert {"optimum_proxy_reward", "optimum_true_reward", "optimum_kl"} <= stats.keys()
    assert ("kl_to_optimum_exact" in stats) == finite
    if finite:
        assert math.isfinite(stats["kl_to_optimum_exact"]) and stats["kl_to_optimum_exact"] > 0
