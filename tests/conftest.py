import torch

# Tiny tensors everywhere: one thread is faster and makes runs repeatable.
torch.set_num_threads(1)

import os  # noqa: E402
import tempfile  # noqa: E402

# the dialogue's fitted models are cached on disk: one cache for the whole session (and
# the `pgtui` processes it starts), never the user's
if "PGTUI_CACHE_DIR" not in os.environ:  # xdist's workers inherit the first process's
    os.environ["PGTUI_CACHE_DIR"] = tempfile.mkdtemp(prefix="pgtui-cache-")


import pytest  # noqa: E402
from numerics import float64  # noqa: E402
from sweep_helpers import train_local_sweep  # noqa: E402


@pytest.fixture
def in_float64():
    """The test computes in float64, the engine too (``numerics.py``)."""
    with float64():
        yield


@pytest.fixture(scope="session")
def local_sweep(tmp_path_factory):
    """The tiny sweep on the local engine, for every test that reads it (the local sweep's
    tests and the Ray engine's comparison, kept in one xdist group)."""
    return train_local_sweep(tmp_path_factory.mktemp("sweep"))


def pytest_report_header(config):
    """The kernels torch picked on this CPU: equivalences in float32 would depend on them."""
    return f"torch {torch.__version__}, CPU kernels {torch.backends.cpu.get_cpu_capability()}"
