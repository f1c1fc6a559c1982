"""docs/notebook.ipynb, executed top to bottom by a real kernel: it cannot rot."""

from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).parent.parent / "docs" / "notebook.ipynb"


def test_the_notebook_runs_and_its_outputs_hold_the_figures_and_the_table(tmp_path):
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(notebook, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    cells = [c for c in notebook.cells if c.cell_type == "code"]
    errors = [o for c in cells for o in c.outputs if o.output_type == "error"]
    assert not errors, errors

    def shown(marker: str) -> set[str]:  # what the cell whose source holds ``marker`` displayed
        cell = next(c for c in cells if marker in c.source)
        return {kind for output in cell.outputs for kind in output.get("data", {})}

    assert "image/png" in shown("plt.subplots")  # the two runs side by side
    assert "image/png" in shown("race.plot()")  # the race's curves
    assert "text/html" in shown("frame('update')") and "text/html" in shown("race.frame()")
    race_table = next(c for c in cells if "race.frame()" in c.source).outputs[-1]["data"]["text/plain"]
    assert "no baseline" in race_table and "value baseline" in race_table
