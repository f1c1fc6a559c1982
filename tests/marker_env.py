"""A module whose import leaves a mark: the lockdown tests check that naming it as
``marker_env:Marker-v0`` imports nothing."""

import os
from pathlib import Path

if os.environ.get("PGTUI_TEST_MARKER"):
    Path(os.environ["PGTUI_TEST_MARKER"]).write_text("imported")
