"""DDP on gloo: two CPU processes give the weights one process gets on the combined batch."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
import torch
from torch import nn

from fusion.train import OptimConfig, TrainConfig, Trainer

B = 4  # per-rank batch; the dataset is exactly one combined batch, so every step sees all of it


class Pairs(torch.utils.data.Dataset):
    def __init__(self) -> None:
        g = torch.Generator().manual_seed(3)
        self.x = torch.randn(2 * B, 6, generator=g)
        self.y = torch.randn(2 * B, 2, generator=g)

    def __len__(self) -> int:
        return len(self.x)

    def __getitem__(self, i: int) -> dict[str, torch.Tensor]:
        return {"input": self.x[i], "target": self.y[i]}


def _model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(6, 16), nn.Tanh(), nn.Linear(16, 2))  # no batch statistics


def _loss(out: torch.Tensor, b: dict[str, torch.Tensor]) -> tuple[torch.Tensor, dict[str, float]]:
    loss = ((out - b["target"]) ** 2).mean()  # a per-sample mean: DDP's gradient average is exact
    return loss, {}


def _cfg(batch: int) -> TrainConfig:
    return TrainConfig(
        model="mlp",
        optim=OptimConfig(epochs=2, batch_size=batch, lr=0.05, schedule="onecycle", seed=0),
    )


def _rank(rank: int, port: int, out: str) -> None:
    os.environ.update(
        MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE="2"
    )
    torch.set_num_threads(1)
    t = Trainer(_cfg(B), _model(), Pairs(), None, _loss, Path(out) / f"r{rank}")
    t.fit()
    torch.save(t.model.state_dict(), Path(out) / f"rank{rank}.pt")
    torch.distributed.destroy_process_group()


@pytest.mark.skipif(not torch.distributed.is_available(), reason="torch without distributed")
def test_two_gloo_processes_match_one_process_on_the_combined_batch(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    torch.multiprocessing.start_processes(
        _rank, args=(port, str(tmp_path)), nprocs=2, join=True, start_method="spawn"
    )
    single = Trainer(_cfg(2 * B), _model(), Pairs(), None, _loss, tmp_path / "single")
    assert single.steps_per_epoch == 1
    single.fit()
    ref = single.model.state_dict()
    start = _model().state_dict()
    for rank in (0, 1):
        got = torch.load(tmp_path / f"rank{rank}.pt")
        for k in ref:
            assert not torch.equal(ref[k], start[k])  # training moved the weights
            torch.testing.assert_close(got[k], ref[k], rtol=1e-5, atol=1e-6)
