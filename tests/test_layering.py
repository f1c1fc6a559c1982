"""The package's layers, read from its source: every import resolved (relative ones by
their level) to the module it names, then checked against the folder rules below, and
for cycles (an import inside a function counts: it runs in the end; ``importlib``'s
``import_module`` with a literal name counts as an import).

The checker is itself tested on a planted package, so that it cannot pass by matching
nothing (a rule written against absolute names while the code imports relatively)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).parent.parent / "pgtui"

#: (importing modules, imported modules they must not reach): prefixes of dotted names
RULES = (
    # the engine imports no task: a task registers itself with it (``rl/tasks.py``)
    ("pgtui.rl", ("pgtui.ui", "pgtui.sweeps", "pgtui.cli", "pgtui.commands", "pgtui.metrics",
                  "pgtui.tensorboard", "pgtui.processes", "pgtui.serving", "pgtui.tasks",
                  "pgtui.exercises", "textual", "rich")),
    ("pgtui.rl.algos", ("pgtui.rl.race", "pgtui.tasks")),
    ("pgtui.rl.envs", ("pgtui.rl.race", "pgtui.tasks")),
    ("pgtui.tasks", ("pgtui.ui", "pgtui.sweeps", "pgtui.cli", "pgtui.commands", "pgtui.processes",
                     "pgtui.serving", "pgtui.rl.race")),
    # an exercise sits on the engine (its learner, its grader) and below every screen
    ("pgtui.exercises", ("pgtui.ui", "pgtui.sweeps", "pgtui.cli", "pgtui.commands", "pgtui.processes",
                         "pgtui.serving")),
    # the app knows nothing of being served but what the lockdown tells it
    ("pgtui.ui", ("pgtui.serving", "textual_serve")),
    # the config is read by every layer above the engine; of the engine it asks only
    # Gymnasium's registry whether an env exists
    ("pgtui.config", ("pgtui.ui", "pgtui.tasks", "pgtui.sweeps", "pgtui.commands", "pgtui.cli",
                      "pgtui.serving", "pgtui.processes")),
    ("pgtui.config_checks", ("pgtui.ui", "pgtui.tasks", "pgtui.sweeps", "pgtui.commands", "pgtui.cli",
                             "pgtui.serving", "pgtui.processes", "pgtui.rl.envs")),
    # the command line calls the commands, never the other way
    ("pgtui.commands", ("pgtui.cli",)),
)
#: what the screen's process imports: nothing of it may load torch when it is imported
TORCH_FREE = ("pgtui.ui", "pgtui.cli", "pgtui.config", "pgtui.config_checks", "pgtui.processes",
              "pgtui.lockdown")


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[:len(base) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def _is_type_checking(node: ast.AST) -> bool:
    return isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)


def _top_level(body: list[ast.stmt]):
    """The statements run when the module is imported (not functions, not TYPE_CHECKING)."""
    for node in body:
        if _is_type_checking(node):
            continue
        yield node
        if isinstance(node, ast.If | ast.Try):
            for block in (node.body, getattr(node, "orelse", []), getattr(node, "finalbody", []),
                          *[h.body for h in getattr(node, "handlers", [])]):
                yield from _top_level(block)


def imports(root: Path) -> dict[str, tuple[set[str], set[str]]]:
    """Per module of the package at ``root``: (everything it imports anywhere, what it
    imports when it is itself imported), each as resolved dotted names; ``from pkg
    import name`` counts ``pkg.name`` too, since ``name`` may be a module."""
    graph = {}
    for path in sorted(root.rglob("*.py")):
        module = module_name(path, root)
        tree = ast.parse(path.read_text(encoding="utf-8"))

        def names_of(nodes, module=module, path=path) -> set[str]:
            found: set[str] = set()
            for node in nodes:
                if isinstance(node, ast.Import):
                    found.update(a.name for a in node.names)
                elif isinstance(node, ast.ImportFrom):
                    source = _resolve(module, path.name == "__init__.py", node)
                    found.add(source)
                    found.update(f"{source}.{a.name}" for a in node.names)
                elif (name := _imported_by_name(node)) is not None:
                    found.add(name)
            return found

        every = names_of(n for n in ast.walk(tree) if not _is_type_checking(n))
        type_only = names_of(n for t in ast.walk(tree) if _is_type_checking(t) for n in ast.walk(t))
        graph[module] = (every - type_only, names_of(_top_level(tree.body)))
    return graph


def _imported_by_name(node: ast.AST) -> str | None:
    """The literal module name of ``importlib.import_module("...")`` (or ``import_module``)."""
    if not (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)):
        return None
    func = node.func
    called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
    return node.args[0].value if called == "import_module" else None


def cycles(root: Path) -> list[list[str]]:
    """The package's import cycles, each as its modules (sorted). ``from package import
    module`` leads to the module alone: the package is already being imported."""
    graph = imports(root)
    edges = {}
    for module, (every, _) in graph.items():
        named = {n for n in every if n in graph and n != module}
        # a package reached only as the parent of a module named beside it is no edge
        edges[module] = {n for n in named if not any(o.startswith(n + ".") for o in named)
                         or n in _attributes_from(module, root)}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found = []

    def strong(v: str) -> None:  # Tarjan's strongly connected components
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in edges[v]:
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            strong(v)
    return sorted(found)


def _attributes_from(module: str, root: Path) -> set[str]:
    """The packages ``module`` takes a name from that is not a module of theirs."""
    path = root.parent / (module.replace(".", "/") + ".py")
    if not path.exists():
        path = root.parent / module.replace(".", "/") / "__init__.py"
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            source = _resolve(module, path.name == "__init__.py", node)
            for alias in node.names:
                target = root.parent / (f"{source}.{alias.name}".replace(".", "/"))
                if not (target.with_suffix(".py").exists() or (target / "__init__.py").exists()):
                    out.add(source)
    return out


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def layer_violations(root: Path) -> list[str]:
    """Every import that breaks a rule in RULES, as 'module -> imported'."""
    found = []
    for module, (every, _) in imports(root).items():
        for importer, banned in RULES:
            if _within(module, importer):
                found += [f"{module} -> {name}" for name in sorted(every)
                          if any(_within(name, b) for b in banned)]
    return sorted(set(found))


def torch_paths(root: Path, starts: tuple[str, ...] = TORCH_FREE) -> list[str]:
    """Chains of module-level imports from a module under ``starts`` to torch."""
    graph = imports(root)

    def loaded(name: str) -> list[str]:  # importing a.b.c runs a, a.b and a.b.c
        parts = name.split(".")
        return [".".join(parts[:i]) for i in range(1, len(parts) + 1)]

    found = []
    for start in (m for m in graph if any(_within(m, s) for s in starts)):
        seen, stack = {start}, [(start, [start])]
        while stack:
            module, chain = stack.pop()
            for name in graph[module][1]:
                if _within(name, "torch"):
                    found.append(" -> ".join([*chain, name]))
                    continue
                for part in loaded(name):
                    if part in graph and part not in seen:
                        seen.add(part)
                        stack.append((part, [*chain, part]))
    return sorted(found)


def test_every_import_keeps_to_its_layer():
    assert layer_violations(PACKAGE) == []


def test_the_screen_s_modules_load_no_torch_when_imported():
    assert torch_paths(PACKAGE) == []


def test_no_module_imports_itself_through_others():
    assert cycles(PACKAGE) == []


def _plant(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = tmp_path / "pgtui" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path / "pgtui"


def test_the_checker_catches_relative_upward_imports(tmp_path):
    root = _plant(tmp_path, {
        "__init__.py": "", "rl/__init__.py": "", "rl/algos/__init__.py": "", "ui/__init__.py": "",
        "ui/state.py": "X = 1\n",
        "rl/trainer.py": "from ..ui.state import X\n",  # upward, written relatively
        "rl/algos/ppo.py": "def f():\n    from ..race import spec\n",  # sideways, in a function
        "rl/algos/dqn.py": "from ... import processes\n",  # pgtui.processes, by name
        "rl/ok.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ..ui import state\n",
    })
    assert layer_violations(root) == [
        "pgtui.rl.algos.dqn -> pgtui.processes",
        "pgtui.rl.algos.ppo -> pgtui.rl.race",
        "pgtui.rl.algos.ppo -> pgtui.rl.race.spec",
        "pgtui.rl.trainer -> pgtui.ui.state",
        "pgtui.rl.trainer -> pgtui.ui.state.X",
    ]


def test_the_checker_follows_module_level_imports_to_torch(tmp_path):
    root = _plant(tmp_path, {
        "__init__.py": "", "ui/__init__.py": "", "rl/__init__.py": "",
        "ui/app.py": "from ..rl.nets import Net\n\ndef later():\n    import numpy\n",
        "rl/nets.py": "import torch\nNet = torch.nn.Linear\n",
        "ui/lazy.py": "def later():\n    import torch\n",  # inside a function: allowed
    })
    assert torch_paths(root, ("pgtui.ui",)) == ["pgtui.ui.app -> pgtui.rl.nets -> torch"]


def test_the_checker_catches_the_new_layers_and_imports_by_name(tmp_path):
    root = _plant(tmp_path, {
        "__init__.py": "", "config.py": "def f():\n    from .ui import app\n",
        "ui/__init__.py": "", "ui/app.py": "",
        "commands/__init__.py": "", "commands/serve.py": "from ..cli import UsageError\n",
        "cli.py": "class UsageError(Exception):\n    pass\n",
        "tasks/__init__.py": ("import importlib\n\n"
                              "def g():\n    importlib.import_module('pgtui.rl.race.spec')\n"),
        "rl/__init__.py": "", "rl/race/__init__.py": "", "rl/race/spec.py": "",
    })
    assert layer_violations(root) == [
        "pgtui.commands.serve -> pgtui.cli",
        "pgtui.commands.serve -> pgtui.cli.UsageError",
        "pgtui.config -> pgtui.ui",
        "pgtui.config -> pgtui.ui.app",
        "pgtui.tasks -> pgtui.rl.race.spec",
    ]


def test_the_checker_finds_cycles_through_lazy_imports_but_not_through_a_package_s_own_modules(tmp_path):
    root = _plant(tmp_path, {
        "__init__.py": "",
        "cli.py": "from .commands import serve\n",
        "commands/__init__.py": "",
        "commands/serve.py": "def run():\n    from ..cli import main\n",  # back, lazily
        "algos/__init__.py": "from .ppo import PPO\n",
        "algos/ppo.py": "from . import diagnostics\nPPO = 1\n",  # a sibling, not the package
        "algos/diagnostics.py": "",
    })
    assert cycles(root) == [["pgtui.cli", "pgtui.commands.serve"]]
