import torch

# Tiny tensors everywhere: one thread is faster and makes runs repeatable.
torch.set_num_threads(1)

import os  # noqa: E402
import tempfile  # noqa: E402

# the dialogue's fitted models are cached on disk: one cache for the whole session (and
# the `pgtui` processes it starts), never the user's
os.environ.setdefault("PGTUI_CACHE_DIR", tempfile.mkdtemp(prefix="pgtui-cache-"))
