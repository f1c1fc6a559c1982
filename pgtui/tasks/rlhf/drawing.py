"""The dialogue as the env pane draws it: the exchange being written and, below it, the
last one finished, as plain text lines (no torch)."""

from __future__ import annotations

from collections.abc import Sequence

from ...rl.events import LastEpisode, PolicyView, Scene
from .dialogue import claim, decode, words


def _exchange(obs: Sequence[float], cursor: str) -> list[str]:
    """One dialogue's lines: the question, the user's belief, the response and, once it
    claims an answer, whether that is right and whether it agrees."""
    prompt, tokens = decode(obs)
    said = claim(prompt, tokens)
    lines = [f"user  {prompt.text()}",
             f"      (the user is {'wrong' if prompt.user_wrong else 'right'}: "
             f"{prompt.a} + {prompt.b} = {prompt.truth})",
             f"model {words(tokens)}{cursor}"]
    if said is None:
        lines.append("      claims no answer" if not cursor else "")
    else:
        lines.append("      " + ("✓ right" if said == prompt.truth else "✗ wrong") + " · "
                     + ("agrees with the user" if said == prompt.belief else "disagrees"))
    return lines


def draw(scene: Scene, policy: PolicyView | None, width: int, height: int) -> str | None:
    """The dialogue being written and, below it, the last one finished; None where the
    observation is no dialogue's (the pane then shows it as bars)."""
    if decode(scene.obs) is None:
        return None
    last = scene.detail.final if isinstance(scene.detail, LastEpisode) else None
    lines = _exchange(scene.obs, "▌")
    if last is not None and decode(last) is not None:
        lines += ["", "last finished:", *_exchange(last, "")]
    rows = [line[:width].ljust(width) for line in lines[:height]]
    return "\n".join(rows + [" " * width] * (height - len(rows)))
