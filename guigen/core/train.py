"""Training: a cancellable generator of progress events, used by the CLI and the app alike.

The best model (by validation loss) is written after each epoch that improves it; a checkpoint
with optimizer state, schedule position and step counter is written atomically every few
minutes and on request, so training resumes where it stopped. Both are safetensors files.

The trainer runs on any torch device, in mixed precision on GPUs and on CPUs with AMX (validation
stays in float32), and, under torchrun, as one of several processes with DistributedDataParallel:
each process trains its own share of the batch's streams and only the first writes files. The
files hold the global state (float32 CPU tensors), so a model is the same whatever trained it
and a checkpoint resumes with any number of processes. With dropout, each process draws its own
masks (a seed per process), so runs with different numbers of processes agree in distribution,
not bit for bit; without dropout they agree.
"""

from __future__ import annotations

import json
import math
import os
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path

import numpy as np
import torch
from torch import nn

from guigen.core import distributed
from guigen.core.codec import codec_from_meta
from guigen.core.data import DataError, TokenData, num_windows, stream_windows
from guigen.core.devices import autocast, autocast_dtype, precision_name
from guigen.core.files import atomic_write_bytes
from guigen.core.config import ModelConfig
from guigen.core.model import LSTMModel
from guigen.core.modelfile import ModelFileError, save_model

LN2 = math.log(2)
TEACHER_TARGETS_BYTES = 2 << 30  # larger training sets run their teachers beside the student instead


@dataclass
class TrainConfig:
    seq_len: int = 128  # steps of backpropagation through time
    batch: int = 32  # parallel streams per step
    epochs: int = 20  # passes over the training tokens
    lr: float = 2e-3  # peak learning rate (AdamW)
    warmup: int = 100  # steps of linear warm-up
    min_lr: float = 0.05  # cosine decay ends at lr * min_lr
    weight_decay: float = 0.0  # AdamW decoupled weight decay
    clip: float = 5.0  # gradient norm clip, as char-rnn and Magenta
    teacher_weight: float = 0.5  # with teachers: share of the loss on their averaged predictions (distillation)
    checkpoint_minutes: float = 5.0  # how often to write the checkpoint
    seed: int = 1337  # model init, data offsets and dropout

    @classmethod
    def from_meta(cls, meta: dict) -> TrainConfig:
        return cls(**{f.name: meta[f.name] for f in fields(cls) if f.name in meta})


@dataclass
class Progress:
    step: int
    total_steps: int
    epoch: int
    loss: float  # training loss of this step, nats per token
    lr: float
    tokens_per_s: float


@dataclass
class EpochEnd:
    epoch: int
    step: int
    train_loss: float  # mean over the epoch, nats per token
    val_loss: float  # nats per token
    best: bool  # this epoch improved on the best so far (and the model was saved)


@dataclass
class Saved:
    path: Path
    what: str  # "checkpoint" or "model"


@dataclass
class Stopped:
    """Training stopped on request (request_stop(), in any process) after saving this checkpoint."""

    path: Path
    step: int


def checkpoint_path_for(out: Path) -> Path:
    return out.with_name(out.name.removesuffix(".safetensors") + ".ckpt.safetensors")


class Trainer:
    """Trains a model on TokenData; iterate run() for events, call save_checkpoint() to stop cleanly."""

    def __init__(self, data: TokenData, model_config: ModelConfig, config: TrainConfig, out: Path, extra_meta=None,
                 device="cpu", precision="auto"):
        self.data, self.config, self.out = data, config, Path(out)
        self.ckpt = checkpoint_path_for(self.out)
        self.extra_meta = extra_meta or {}
        self.world = distributed.current()
        if config.batch % self.world.size:
            raise DataError(f"the batch ({config.batch} streams) must divide evenly among {self.world.size} processes")
        share = config.batch // self.world.size
        self.rows = range(self.world.rank * share, (self.world.rank + 1) * share)  # this process's streams
        self.device = torch.device(device)
        self.amp = autocast_dtype(self.device, precision)  # None: float32
        # float16 needs its loss scaled so small gradients survive; bfloat16 has float32's range
        self.scaler = torch.amp.GradScaler(self.device.type) if self.amp == torch.float16 else None
        torch.manual_seed(config.seed)
        self.model = LSTMModel(model_config).to(self.device)  # made on the CPU: the same start on any device
        self._seed_dropout()
        self.net = self.model  # what the training step calls: the model, or its DDP wrapper
        if self.world.size > 1:
            from torch.nn.parallel import DistributedDataParallel

            self.net = DistributedDataParallel(self.model, device_ids=[self.device] if self.device.type == "cuda" else None)
        self.opt = torch.optim.AdamW(self.model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
        self.stop_requested = False  # set by request_stop(), e.g. from a signal handler
        self.step = 0
        self.epoch = 0  # epochs completed
        self.best_val = math.inf
        self.history: list[dict] = []  # per epoch: train and validation loss, for curves
        self.elapsed = 0.0  # training seconds over all sessions
        self.steps_per_epoch = num_windows(len(data.train), config.batch, config.seq_len)
        self.teachers: list[LSTMModel] = []
        self.teacher_targets: torch.Tensor | None = None  # the teachers' predictions for every training token

    def _seed_dropout(self, salt: int = 0) -> None:
        """Each process its own dropout masks (the first keeps the single-process stream)."""
        if self.world.rank:
            torch.manual_seed(self.config.seed + 7919 * self.world.rank + 104729 * salt)

    def request_stop(self) -> None:
        """Save a checkpoint and stop after the current step (safe to call from a signal handler)."""
        self.stop_requested = True

    def _stopping(self) -> bool:
        """Whether any process was asked to stop: all of them stop at the same step."""
        return distributed.all_agree(self.stop_requested, self._flag_device, any_=True)

    @property
    def _flag_device(self):
        return self.device if self.device.type == "cuda" else None  # NCCL reduces GPU tensors only

    def set_teachers(self, loaded_models, progress=None) -> None:
        """Distil: learn from these models' averaged next-token distributions as well as from the data.

        An ensemble predicts better than any of its members; a student trained on its soft targets
        keeps much of that gain in one model of the usual size and speed (Hinton et al., 2015).
        When the training tokens are the same every epoch (text) and their targets fit in memory,
        the teachers read them once here, reporting progress(done, total) as they go; otherwise
        they run beside the student at every step.
        """
        for loaded in loaded_models:
            if loaded.codec.to_meta() != self.data.codec.to_meta():
                raise ModelFileError(f"teacher {loaded.name or 'model'} has another vocabulary or encoding than the data")
        self.teachers = [LSTMModel.from_loaded(n).to(self.device).eval() for m in loaded_models for n in m.networks]
        for t in self.teachers:
            t.requires_grad_(False)
        self.teacher_targets = None
        size = len(self.data.train) * self.model.cfg.vocab_size * 2  # float16
        if self.teachers and self.data.same_every_epoch and size <= TEACHER_TARGETS_BYTES:
            self.teacher_targets = self._teacher_pass(self.data.train, progress)

    @torch.no_grad()
    def _teacher_pass(self, tokens: np.ndarray, progress=None, streams: int = 64, chunk: int = 512) -> torch.Tensor:
        """The teachers' mean distribution after each token, shape (len(tokens), vocab), float16.

        One pass replaces a forward pass of every teacher at every step of every epoch (three
        teachers doubled a step's time). The pass cuts the tokens into
        `streams` contiguous streams, each from a zero state as the trainer's own streams start.
        """
        n, per = len(tokens), -(-len(tokens) // streams)
        padded = np.zeros(streams * per, dtype=np.int64)
        padded[:n] = tokens[0:n]  # (a slice reads shards too) the padding trails the last stream: no real position sees it
        x_all = torch.from_numpy(padded.reshape(streams, per)).to(self.device)
        out = torch.empty(streams, per, self.model.cfg.vocab_size, dtype=torch.float16)
        states = [None] * len(self.teachers)
        for start in range(0, per, chunk):
            out[:, start : start + chunk] = self._teacher_mean(x_all[:, start : start + chunk], states).cpu()
            if progress is not None:
                progress(min(n, min(start + chunk, per) * streams), n)
        return out.reshape(streams * per, -1)[:n]

    # -- schedule ---------------------------------------------------------------------------
    @property
    def total_steps(self) -> int:
        return self.steps_per_epoch * self.config.epochs

    def lr_at(self, step: int) -> float:
        c = self.config
        if step < c.warmup:
            return c.lr * (step + 1) / c.warmup
        frac = min(1.0, (step - c.warmup) / max(1, self.total_steps - c.warmup))
        return c.lr * (c.min_lr + (1 - c.min_lr) * 0.5 * (1 + math.cos(math.pi * frac)))

    # -- evaluation -------------------------------------------------------------------------
    def _tensor(self, a: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(a, dtype=np.int64)).to(self.device, non_blocking=True)

    @torch.no_grad()
    def validate(self) -> float:
        """Mean loss per token on the validation tokens, in float32 whatever the training precision (the
        score generation's float32 sees); with several processes each scores its share."""
        self.model.eval()
        total, count, state = 0.0, 0, None
        batch = max(1, min(self.config.batch, len(self.data.val) // (4 * self.config.seq_len)))
        rows = np.array_split(np.arange(batch), self.world.size)[self.world.rank]
        if len(rows):
            for x, y, _ in stream_windows(self.data.val, batch, 4 * self.config.seq_len, rows=rows):
                logits, state = self.model(self._tensor(x), state)  # float32: the score generation sees
                loss = nn.functional.cross_entropy(
                    logits.float().reshape(-1, logits.shape[-1]), self._tensor(y).reshape(-1), reduction="sum")
                total += float(loss)
                count += y.size
        total, count = distributed.sum_all([total, count], self._flag_device)
        self.model.train()
        return total / count

    # -- the loop ---------------------------------------------------------------------------
    def run(self):
        """Train until the configured number of epochs; yields Progress, EpochEnd and Saved events."""
        c = self.config
        self.model.train()
        last_ckpt = time.monotonic()
        while self.epoch < c.epochs:
            rng = np.random.default_rng([c.seed, self.epoch])
            tokens = self.data.train_tokens(self.epoch, rng)
            offset = int(rng.integers(0, c.seq_len))  # windows start elsewhere each epoch
            state, losses = None, []
            teacher_states = [None] * len(self.teachers)
            first = self.step - self.epoch * self.steps_per_epoch  # > 0 when resuming mid-epoch
            t0, seen = time.monotonic(), 0
            for x, y, at in stream_windows(tokens, c.batch, c.seq_len, offset, self.rows, first):
                if self._stopping():
                    self.elapsed += time.monotonic() - t0
                    yield from self._stop()
                    return
                for g in self.opt.param_groups:
                    g["lr"] = self.lr_at(self.step)
                x_t, y_t = self._tensor(x), self._tensor(y)
                with autocast(self.device, self.amp):
                    logits, state = self.net(x_t, state)
                state = tuple(s.detach() for s in state)
                logits = logits.float().reshape(-1, logits.shape[-1])
                data_loss = nn.functional.cross_entropy(logits, y_t.reshape(-1))
                loss = data_loss
                if self.teachers:
                    if self.teacher_targets is not None:  # read once before training: look this window up
                        target = self.teacher_targets[torch.from_numpy(at).reshape(-1)].to(self.device).float()
                    else:
                        target = self._teacher_mean(x_t, teacher_states).float()
                    target = target.reshape(-1, target.shape[-1])
                    soft = -(target * torch.log_softmax(logits, -1)).sum(-1).mean()
                    loss = (1 - c.teacher_weight) * data_loss + c.teacher_weight * soft
                self.opt.zero_grad(set_to_none=True)
                if self.scaler is not None:  # float16: scale the loss, unscale before clipping
                    self.scaler.scale(loss).backward()
                    self.scaler.unscale_(self.opt)
                    nn.utils.clip_grad_norm_(self.model.parameters(), c.clip)
                    self.scaler.step(self.opt)
                    self.scaler.update()
                else:
                    loss.backward()  # DDP averages the gradients of all processes here
                    nn.utils.clip_grad_norm_(self.model.parameters(), c.clip)
                    self.opt.step()
                self.step += 1
                seen += y.size * self.world.size
                losses.append(float(data_loss.detach()))  # reported on the data alone, comparable to validation
                now = time.monotonic()
                yield Progress(self.step, self.total_steps, self.epoch, losses[-1], self.lr_at(self.step - 1),
                               seen / max(now - t0, 1e-9))
                if now - last_ckpt > 60 * c.checkpoint_minutes:
                    self.elapsed += now - t0
                    t0, seen = now, 0
                    yield self.save_checkpoint()
                    last_ckpt = time.monotonic()
            self.elapsed += time.monotonic() - t0
            if self._stopping():  # asked during the epoch's last step: don't wait for validation
                yield from self._stop()
                return
            self.epoch += 1
            self.step = self.epoch * self.steps_per_epoch  # a partial last window may shift counts
            val = self.validate()
            loss_sum, loss_count = distributed.sum_all([float(np.sum(losses)), len(losses)], self._flag_device)
            train_loss = loss_sum / loss_count if loss_count else math.nan
            self.history.append({"epoch": self.epoch, "step": self.step, "train_loss": train_loss, "val_loss": val})
            best = val < self.best_val
            if best:
                self.best_val = val
            yield EpochEnd(self.epoch, self.step, train_loss, val, best)
            if best:
                yield self.save_model()
            yield self.save_checkpoint()
            last_ckpt = time.monotonic()

    def _stop(self):
        saved = self.save_checkpoint()
        yield saved
        yield Stopped(saved.path, self.step)

    @torch.no_grad()
    def _teacher_mean(self, x: torch.Tensor, states: list) -> torch.Tensor:
        """The teachers' mean next-token distribution, shape (*x.shape, vocab); their states carry on."""
        total = 0.0
        for k, teacher in enumerate(self.teachers):
            with autocast(self.device, self.amp):
                logits, states[k] = teacher(x, states[k])
            total = total + torch.softmax(logits.float(), -1)
        return total / len(self.teachers)

    # -- files ------------------------------------------------------------------------------
    def training_meta(self) -> dict:
        return {
            **self.data.summary,
            **self.extra_meta,
            "train_config": asdict(self.config),
            "steps": self.step,
            "epochs": self.epoch,
            "train_seconds": round(self.elapsed, 1),
            "precision": precision_name(self.amp),  # of the last session's training steps
            "val_loss": self.best_val if math.isfinite(self.best_val) else None,
            "val_bits": self.best_val / LN2 if math.isfinite(self.best_val) else None,
            "history": self.history,
            "torch": torch.__version__,
        }

    def _cpu_weights(self) -> dict:
        """The weights as float32 CPU tensors: the same file whatever device or precision trained them."""
        return {k: v.detach().float().cpu().clone() for k, v in self.model.state_dict().items()}

    def save_model(self) -> Saved:
        if self.world.main:  # the others hold the same weights
            save_model(self.out, self.model.cfg, self.data.codec, self._cpu_weights(), self.training_meta())
        return Saved(self.out, "model")

    def save_checkpoint(self) -> Saved:
        """Model, optimizer moments and counters in one safetensors file, written atomically."""
        from safetensors.torch import save

        if not self.world.main:  # every process holds the same global state; one writes it
            return Saved(self.ckpt, "checkpoint")
        tensors = {f"model.{k}": v for k, v in self._cpu_weights().items()}
        names = {id(p): n for n, p in self.model.named_parameters()}
        for group in self.opt.param_groups:
            for p in group["params"]:
                st = self.opt.state.get(p)
                if st:
                    for k in ("exp_avg", "exp_avg_sq"):
                        tensors[f"optim.{names[id(p)]}.{k}"] = st[k].detach().float().cpu().clone()
                    tensors[f"optim.{names[id(p)]}.step"] = torch.as_tensor(
                        st["step"], dtype=torch.float32).detach().cpu().reshape(1)
        tensors["rng.torch"] = torch.get_rng_state()
        if self.device.type == "cuda":
            tensors["rng.cuda"] = torch.cuda.get_rng_state(self.device)
        if self.scaler is not None:
            tensors["amp.scale"] = torch.tensor([self.scaler.get_scale()], dtype=torch.float32)
        meta = {
            "model_config": self.model.cfg.to_meta(),
            "train_config": asdict(self.config),
            "codec": self.data.codec.to_meta(),
            "step": self.step,
            "epoch": self.epoch,
            "best_val": self.best_val if math.isfinite(self.best_val) else None,
            "history": self.history,
            "elapsed": self.elapsed,
            "out": str(self.out),
            "extra_meta": {k: v for k, v in self.extra_meta.items() if k != "command"},
        }
        atomic_write_bytes(self.ckpt, save(tensors, metadata={"guigen_checkpoint": json.dumps(meta)}))
        return Saved(self.ckpt, "checkpoint")

    def init_from(self, loaded) -> None:
        """Start from a trained model's weights (fine-tuning); its size, vocabulary or encoding must match."""
        cfg = self.model.cfg
        if loaded.config.members > 1:
            raise ModelFileError(f"{loaded.name or 'the model'} is an ensemble of {loaded.config.members} networks; "
                                 "fine-tune one of them, or distil the ensemble with --teacher")
        if (loaded.config.vocab_size, loaded.config.embed, loaded.config.hidden, loaded.config.layers) != (
                cfg.vocab_size, cfg.embed, cfg.hidden, cfg.layers):
            raise ModelFileError(f"{loaded.name or 'the model'} is of another size "
                                 f"({describe_size(loaded.config.to_meta())}) than this run's ({describe_size(cfg.to_meta())})")
        if loaded.codec.to_meta() != self.data.codec.to_meta():
            raise ModelFileError(f"{loaded.name or 'the model'} has another vocabulary or encoding than the data")
        self.model.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in loaded.weights.items()})

    def load_checkpoint(self, path) -> None:
        """Restore everything save_checkpoint wrote; refuse a checkpoint of another model or data."""
        from safetensors import safe_open

        path = Path(path)
        try:
            with safe_open(str(path), framework="pt") as f:
                meta = json.loads((f.metadata() or {})["guigen_checkpoint"])
                tensors = {k: f.get_tensor(k) for k in f.keys()}
        except Exception as e:
            raise ModelFileError(f"{path}: not a GuiGen training checkpoint ({e})") from None
        if meta["model_config"] != self.model.cfg.to_meta():
            raise ModelFileError(f"{path}: the checkpoint is of another model ({describe_size(meta['model_config'])}) "
                                 f"than this run's ({describe_size(self.model.cfg.to_meta())})")
        if codec_from_meta(meta["codec"]).to_meta() != self.data.codec.to_meta():
            raise ModelFileError(f"{path}: checkpoint was trained with another vocabulary or encoding")
        self.model.load_state_dict({k[6:]: v for k, v in tensors.items() if k.startswith("model.")})
        params = dict(self.model.named_parameters())
        for name, p in params.items():
            if f"optim.{name}.exp_avg" in tensors:
                self.opt.state[p] = {
                    "step": tensors[f"optim.{name}.step"].reshape(()).clone(),  # AdamW keeps it on the CPU
                    "exp_avg": tensors[f"optim.{name}.exp_avg"].to(self.device),
                    "exp_avg_sq": tensors[f"optim.{name}.exp_avg_sq"].to(self.device),
                }
        torch.set_rng_state(tensors["rng.torch"])
        if self.device.type == "cuda" and "rng.cuda" in tensors:
            torch.cuda.set_rng_state(tensors["rng.cuda"], self.device)
        if self.scaler is not None and "amp.scale" in tensors:
            self.scaler = torch.amp.GradScaler(self.device.type, init_scale=float(tensors["amp.scale"][0]))
        self._seed_dropout(salt=int(meta["step"]))
        self.step, self.epoch = int(meta["step"]), int(meta["epoch"])
        self.best_val = meta["best_val"] if meta["best_val"] is not None else math.inf
        self.history, self.elapsed = meta["history"], float(meta["elapsed"])
        self.extra_meta = {**meta.get("extra_meta", {}), **self.extra_meta}  # e.g. what a fine-tuning began from

    @staticmethod
    def read_checkpoint_meta(path) -> dict:
        from safetensors import safe_open

        try:
            with safe_open(str(path), framework="pt") as f:
                return json.loads((f.metadata() or {})["guigen_checkpoint"])
        except Exception as e:
            raise ModelFileError(f"{path}: not a GuiGen training checkpoint ({e})") from None


def describe_size(model_config: dict) -> str:
    """'2x512 LSTM, embedding 64, dropout 0.2' for a model config's metadata."""
    m = model_config
    ensemble = f"an ensemble of {m['members']} networks, each " if (m.get("members") or 1) > 1 else ""
    return (f"{ensemble}{m.get('layers')}x{m.get('hidden')} LSTM, embedding {m.get('embed')}, dropout {m.get('dropout')}, "
            f"{m.get('vocab_size')} classes")


def set_threads() -> int:
    """Use every core for training (oneDNN's batched LSTM kernels are fast here), or OMP_NUM_THREADS."""
    n = int(os.environ.get("OMP_NUM_THREADS") or 0) or os.cpu_count() or 1
    torch.set_num_threads(n)
    return n
