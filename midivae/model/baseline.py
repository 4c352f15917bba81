"""The paper's baseline: PCA of the signal features, then a 2-layer MLP to the symbols.

Trained with the same per-family likelihoods as the symbol decoder (cross-entropy for
categorical families, BCE for Bernoulli, Gaussian for continuous), Adam, early stopping.
numpy in, numpy out.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import nn

from midivae.model.vae import SymbolVAE, mlp


class Baseline:
    """PCA (``n_components``) + MLP classifier over symbol families."""

    def __init__(
        self, layout: Sequence[tuple[str, int, int]], hidden: Sequence[int], n_components: int
    ) -> None:
        self.layout = tuple(layout)
        self.n_components = n_components
        self.mean: np.ndarray | None = None
        self.components: np.ndarray | None = None
        self.scale: np.ndarray | None = None
        width = self.layout[-1][2]
        self.net: nn.Module = mlp([n_components, *hidden, width])
        self.head = SymbolVAE(self.layout, (1,), 1)  # its likelihoods and probabilities

    def _project(self, x: np.ndarray) -> torch.Tensor:
        z = (np.asarray(x, np.float32) - self.mean) @ self.components.T / self.scale
        return torch.from_numpy(z.astype(np.float32))

    def fit(
        self,
        x: np.ndarray,
        y: np.ndarray,
        x_val: np.ndarray,
        y_val: np.ndarray,
        *,
        epochs: int = 30,
        patience: int = 3,
        batch_size: int = 256,
        seed: int = 0,
    ) -> int:
        """Fit PCA on ``x`` then the MLP; returns the epochs run."""
        torch.manual_seed(seed)
        rng = np.random.default_rng(seed)
        fit_rows = x[rng.choice(len(x), size=min(len(x), 20000), replace=False)]
        self.mean = fit_rows.mean(0)
        _, s, vt = np.linalg.svd(fit_rows - self.mean, full_matrices=False)
        self.components = vt[: self.n_components].astype(np.float32)
        self.scale = (s[: self.n_components] / np.sqrt(len(fit_rows))).astype(np.float32) + 1e-6
        px, pv = self._project(x), self._project(x_val)
        ty, tv = torch.from_numpy(y), torch.from_numpy(y_val)
        optimizer = torch.optim.Adam(self.net.parameters(), lr=1e-3)
        best, best_state, waited, epoch = np.inf, None, 0, 0
        for epoch in range(1, epochs + 1):  # noqa: B007
            self.net.train()
            order = torch.from_numpy(rng.permutation(len(px)))
            for start in range(0, len(px), batch_size):
                idx = order[start : start + batch_size]
                loss = -self.head.log_likelihood(ty[idx], self.net(px[idx])).mean()
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
            self.net.eval()
            with torch.no_grad():
                val = float(-self.head.log_likelihood(tv, self.net(pv)).mean())
            if val < best:
                best, waited = val, 0
                best_state = {k: v.clone() for k, v in self.net.state_dict().items()}
            else:
                waited += 1
                if waited >= patience:
                    break
        if best_state is not None:
            self.net.load_state_dict(best_state)
        return epoch

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Per-family probabilities ``(n, width)`` (continuous values in [0, 1])."""
        self.net.eval()
        with torch.no_grad():
            return self.head.probabilities(self.net(self._project(x))).numpy()
