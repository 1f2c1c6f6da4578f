"""Weighted matrix factorisation for implicit feedback (Hu, Koren and Volinsky 2008), in torch.

Every (user, item) cell is a preference of 1 (the user played it) or 0 (not), trusted with
confidence ``1 + c``, where ``c`` is 0 for unplayed cells and grows with the evidence for
played ones (``confidence``). Alternating least squares solves, in turn, every user vector
against fixed item vectors and every item vector against fixed user vectors, minimising

    sum over all cells (1 + c_ui) (p_ui - x_u . y_i)^2 + reg (|x_u|^2 + |y_i|^2).

Each half-step is a few conjugate-gradient steps for all rows at once, warm-started from the
previous vectors (as Takács, Pilászy and Tikk 2011 do), which needs only sparse products over
the played cells and one k-by-k Gram matrix: no per-user matrix is ever built, so memory is
O((users + items) k + played cells). Everything runs on ``device`` (a GPU when one is given)
and is deterministic for a seed on a given device: the initial vectors come from a seeded CPU
generator and the sparse products sum each row in a fixed order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True)
class SparseRows:
    """A sparse matrix by rows (CSR) on a device: ``extra`` is the confidence above 1 of each
    stored cell (``c_ui``), the cells' preference being 1."""

    pointers: torch.Tensor
    columns: torch.Tensor
    extra: torch.Tensor
    shape: tuple[int, int]

    def pattern(self) -> torch.Tensor:
        """The cells as a torch CSR tensor (values are the ``extra`` confidences)."""
        return _csr(self.pointers, self.columns, self.extra, self.shape)

    def dots(self, left: torch.Tensor, right: torch.Tensor) -> torch.Tensor:
        """``left[row] . right[column]`` for every cell, in cell order (a sampled product:
        no cells-by-factors copy of either side)."""
        import torch

        return torch.sparse.sampled_addmm(self.pattern(), left, right.T, beta=0.0).values()

    def rows_of_cells(self) -> torch.Tensor:
        import torch

        counts = self.pointers[1:] - self.pointers[:-1]
        return torch.repeat_interleave(torch.arange(self.shape[0], device=counts.device), counts)

    def times(self, values: torch.Tensor, dense: torch.Tensor) -> torch.Tensor:
        """This matrix's pattern with ``values`` in its cells, times ``dense``."""
        import torch

        return torch.sparse.mm(_csr(self.pointers, self.columns, values, self.shape), dense)


def _csr(
    pointers: torch.Tensor, columns: torch.Tensor, values: torch.Tensor, shape: tuple[int, int]
) -> torch.Tensor:
    import warnings

    import torch

    with warnings.catch_warnings():
        # torch marks CSR tensors as beta on every first use; the operations used here
        # (construction, mm, sampled_addmm) are the stable core of it.
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
        return torch.sparse_csr_tensor(
            pointers, columns, values, size=shape, check_invariants=False
        )


def sparse_rows(
    pointers: Any, columns: Any, extra: Any, shape: tuple[int, int], device: str
) -> SparseRows:
    """A ``SparseRows`` from numpy CSR arrays (int64 pointers and columns, float extra)."""
    import torch

    return SparseRows(
        pointers=torch.as_tensor(pointers, dtype=torch.int64, device=device),
        columns=torch.as_tensor(columns, dtype=torch.int64, device=device),
        extra=torch.as_tensor(extra, dtype=torch.float32, device=device),
        shape=shape,
    )


def transpose(rows: SparseRows) -> SparseRows:
    """The same cells by column (items by users), in a fixed order."""
    import torch

    cell_rows = rows.rows_of_cells()
    # A stable sort keeps each column's cells in row order, so sums are reproducible.
    order = torch.sort(rows.columns, stable=True).indices
    counts = torch.bincount(rows.columns, minlength=rows.shape[1])
    pointers = torch.zeros(rows.shape[1] + 1, dtype=torch.int64, device=counts.device)
    pointers[1:] = torch.cumsum(counts, 0)
    return SparseRows(
        pointers=pointers,
        columns=cell_rows[order],
        extra=rows.extra[order],
        shape=(rows.shape[1], rows.shape[0]),
    )


def initial_factors(n: int, factors: int, generator: torch.Generator, device: str) -> torch.Tensor:
    """Small random vectors (seeded on the CPU, so every device starts from the same ones)."""
    import torch

    scale = 0.1 / factors**0.5
    return (torch.randn(n, factors, generator=generator) * scale).to(device)


def solve_rows(
    rows: SparseRows,
    fixed: torch.Tensor,
    start: torch.Tensor,
    reg: float,
    steps: int,
) -> torch.Tensor:
    """Vectors for every row of ``rows`` against the ``fixed`` vectors of its columns: ``steps``
    conjugate-gradient steps on ``(F'F + F' C_u F + reg I) x_u = F' (1 + C_u) p_u`` from
    ``start``. Rows with no cells come out as zero vectors (nothing to learn from)."""
    import torch

    factors = fixed.shape[1]
    gram = fixed.T @ fixed + reg * torch.eye(factors, device=fixed.device, dtype=fixed.dtype)
    target = rows.times(1.0 + rows.extra, fixed)

    def product(x: torch.Tensor) -> torch.Tensor:
        # (F'F + reg I) x plus, for the played cells only, F' C_u F x.
        along = rows.dots(x, fixed) * rows.extra
        return x @ gram + rows.times(along, fixed)

    x = start.clone()
    has_cells = (rows.pointers[1:] > rows.pointers[:-1]).unsqueeze(1)
    x = torch.where(has_cells, x, torch.zeros_like(x))
    residual = target - product(x)
    direction = residual.clone()
    norm = (residual * residual).sum(1)
    for _ in range(steps):
        moved = product(direction)
        curvature = (direction * moved).sum(1)
        step = torch.where(curvature > 0, norm / curvature.clamp_min(1e-30), 0.0)
        x = x + step.unsqueeze(1) * direction
        residual = residual - step.unsqueeze(1) * moved
        new_norm = (residual * residual).sum(1)
        ratio = torch.where(norm > 0, new_norm / norm.clamp_min(1e-30), 0.0)
        direction = residual + ratio.unsqueeze(1) * direction
        norm = new_norm
    return x


def fit(
    users: SparseRows,
    *,
    factors: int,
    reg: float,
    iterations: int,
    cg_steps: int,
    seed: int,
    device: str,
) -> tuple[torch.Tensor, torch.Tensor]:
    """User and item vectors for the users-by-items cells in ``users``."""
    import torch

    generator = torch.Generator().manual_seed(seed)
    n_users, n_items = users.shape
    user_vectors = initial_factors(n_users, factors, generator, device)
    item_vectors = initial_factors(n_items, factors, generator, device)
    items = transpose(users)
    for _ in range(iterations):
        user_vectors = solve_rows(users, item_vectors, user_vectors, reg, cg_steps)
        item_vectors = solve_rows(items, user_vectors, item_vectors, reg, cg_steps)
    return user_vectors, item_vectors
