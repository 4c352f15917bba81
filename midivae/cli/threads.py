"""Torch's intra-op threads while a command works: the command line sets them, the library never."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def one_torch_thread() -> Iterator[None]:
    """Run torch on one thread inside the block (the previous count is restored after).

    Rendering's model calls are small (one row per note unless walking) and loading a preset
    is a few hundred small tensor ops: on a busy machine, torch's intra-op thread pool spends
    more time waiting for its second thread than the work takes (measurements:
    docs/experiments.md, "Transcription speed and benches"). Commands enter it once, around a
    whole batch, so files worked on at once in threads share the setting.
    """
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)
