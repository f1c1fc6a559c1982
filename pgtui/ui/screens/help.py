"""Every key, and what the gradient meters mean."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown

HELP = """\
# pgtui keys

| key | does |
|---|---|
| `space` | pause / resume training |
| `n` | one update, then pause: π(a\\|s) before → after on one state (DQN: one gradient step, Q) |
| `r` | reset: a fresh run with the current settings |
| `p` | pick a preset (shipped, or a path to a .toml file) |
| `g` | plot screen: the whole learning curve with every change marked |
| `w` | watch: play the current policy at real-time speed (again to stop) |
| `c` | race a race preset (the run pauses; `escape` comes back) |
| `L` | the lessons' exercises: pick one and its preset opens |
| `e` | write REINFORCE yourself: `reinforce.py` (the scaffold, if missing) trains and opens in an editor |
| `f` | fork: race two branches of this run that differ in one setting |
| `ctrl+s` | save a checkpoint |
| `S` | an SVG screenshot of the screen, into `--out` or here |
| `?` | this help |
| `q` | quit (the run stops, files are flushed) |
| `tab` / `shift+tab` | move between controls; `enter` applies a typed value |
| `escape` | leave the controls, so that the keys above work again |

In a race: `←`/`→` choose a column; `space` pauses it, `a` all; `b` baseline,
`t` reward-to-go/full, `e` entropy, `+`/`-` lr, for that column only.

In the editor (`e`): `ctrl+s` saves the file, which the run takes at its next update,
and checks it (the verdicts show beside the code); `f2` downloads it; `escape` comes back.

In a sweep (a preset with a `[sweep]` table): `↑`/`↓` choose a grid point, `enter`
shows its seeds' learning curves, `escape` comes back; the table and the plot fill in
as trials finish.

Live settings (baseline, returns, normalize, entropy, lr, gamma, …) apply at the next
update. Settings marked `*` (algo, env, num_envs, seed, hidden sizes) start a new run
after you confirm.

## DQN

The policy pane shows Q(s, a) per action, the greedy one marked ▸; its bars are the
epsilon-greedy policy's probabilities. The diagnostics show the TD loss, the mean
Q(s, a) of the batch, epsilon, how full the replay buffer is and how many times the
target network was updated. Its live settings: lr, gamma, max_grad_norm, the epsilon
the schedule heads to, the target update interval, tau, gradient steps, Double DQN.

## SAC

The policy pane shows, per action dimension, the mean action μ (tanh of the Gaussian's
mean, in the env's units: what evaluation and watch play) and the spread σ of the
actions it draws, with the twin critics Q1, Q2 at the mean action. The diagnostics show
the critics' loss, the actor's loss, alpha (the entropy temperature), the policy's
entropy, the mean Q and how full the replay buffer is. `n` takes one gradient step.
Live: lr, gamma, tau, alpha (`auto` learns it; a number fixes it), gradient steps.

## The RLHF dialogue

The env pane shows the question, the user's belief, the response being written and
the last one finished, marked right or wrong and agreeing or not; the policy pane, the
next token's probabilities. Proxy reward (the reward model's score, 0 for the
reference policy) and true reward (accuracy) are exact, by enumerating every response,
at every update. The diagnostics add the KL to the reference policy, how often the
policy agrees with a user who is wrong, and the reward model's accuracy on the
policy's own responses. Live: `kl_coef` (the per-token KL penalty) and `labeler_bias`
(switches to the reward model fitted to labelers of that bias).

With **GRPO** the responses to one prompt form a group, each scored against the group's
mean (and divided by its std while `group std` is on); the KL to the reference sits in
its loss (the diagnostics' **k3 KL**, a response), not in the reward. **DPO** samples
nothing: it learns from the labelled pairs the reward model was fitted to, with
`kl_coef` as its beta, so the env pane shows no dialogue until you press `w`; the
diagnostics show its implicit reward's **margin** (chosen less rejected) and **pair
acc** (the pairs it ranks as the labelers did). The rewards pane's π* line is the best
any method can do against this reward model at this `kl_coef`.

## The gradient meters

**grad var** is the trace of the covariance of the per-episode policy-gradient
estimates (per slice of the rollout for A2C and PPO): how far one episode's gradient
scatters around the batch mean. **grad snr** is the squared length of the batch
gradient divided by the variance of that mean; a baseline leaves the expected gradient
unchanged, so a good one shows as lower grad var and higher grad snr. In a REINFORCE
race each column also measures the first column's estimator on its own batches, so the
ratio it states compares the two at the same policy.

Under 80 columns the env drawing gives way to the policy pane and the diagnostics use
short labels: loss, vloss, ent, kl, clip, ev (explained variance), |g| (the policy's
and the critic's gradient norms before clipping, each clipped on its own),
g var, snr, sps. Under 60x20 the screen says so until the terminal grows; the run
goes on meanwhile.

Press `escape` or `?` to close.
"""


class HelpScreen(ModalScreen[None]):
    BINDINGS = [("escape", "dismiss", "close"), ("question_mark", "dismiss", "close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-body"):
            yield Markdown(HELP)
