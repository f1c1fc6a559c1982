"""Rewrite the table of figures in docs/metrics.md from the declarations
(``pgtui.rl.schema.figures_table``): ``python docs/figures.py``."""

import re
from pathlib import Path

import pgtui.tasks  # noqa: F401  (registers the tasks' figures)
from pgtui.rl.schema import figures_table

DOC = Path(__file__).parent / "metrics.md"
BLOCK = re.compile(r"<!-- figures -->\n.*?<!-- /figures -->", re.S)

if __name__ == "__main__":
    DOC.write_text(BLOCK.sub(lambda _: f"<!-- figures -->\n{figures_table()}\n<!-- /figures -->",
                             DOC.read_text(encoding="utf-8")), encoding="utf-8")
