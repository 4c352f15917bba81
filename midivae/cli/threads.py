"""Torch's intra-op threads while midivae works on several files at once in threads."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

_TORCH_THREADS = {"users": 0, "before": 1}
_TORCH_THREADS_LOCK = threading.Lock()


@contextmanager
def one_torch_thread() -> Iterator[None]:
    """Run torch on one thread inside the block (the previous count is restored after).

    Rendering's model calls are small (one row per note unless walking) and loading a preset
    is a few hundred small tensor ops: on a busy machine, torch's intra-op thread pool spends
    more time waiting for its second thread than the work takes (measurements:
    docs/experiments.md, "Transcription speed and benches"). Files worked on at once
    in threads share the setting: the first to enter sets it, the last to leave restores it.
    """
    import torch

    with _TORCH_THREADS_LOCK:
        if _TORCH_THREADS["users"] == 0:
            _TORCH_THREADS["before"] = torch.get_num_threads()
            torch.set_num_threads(1)
        _TORCH_THREADS["users"] += 1
    try:
        yield
    finally:
        with _TORCH_THREADS_LOCK:
            _TORCH_THREADS["users"] -= 1
            if _TORCH_THREADS["users"] == 0:
                torch.set_num_threads(_TORCH_THREADS["before"])
