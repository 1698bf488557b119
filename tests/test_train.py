"""Training: the loss falls, checkpoints resume exactly, and the best model is what gets saved."""

import math

import numpy as np
import pytest

from guigen.core.config import ModelConfig
from guigen.core.data import DataError, batch_streams, text_data
from guigen.core.generate import Generator
from guigen.core.modelfile import ModelFileError, load_model
from guigen.core.train import EpochEnd, Progress, Trainer, TrainConfig


def test_loss_falls_and_the_model_writes_words(tiny_trained, tiny_model):
    _, epochs = tiny_trained
    assert epochs[0].val_loss < math.log(tiny_model.config.vocab_size) - 0.5  # far better than uniform
    assert epochs[-1].val_loss < epochs[0].val_loss - 0.1
    assert tiny_model.training["val_loss"] == pytest.approx(min(e.val_loss for e in epochs))
    gen = Generator(tiny_model, seed=0)
    gen.feed(tiny_model.codec.encode("Alice was "))
    text = tiny_model.codec.decode(s.token for s in gen.stream(300))
    words = [w.strip(".,;:!?'\"()").lower() for w in text.split()]
    common = {"the", "and", "to", "a", "of", "it", "she", "was", "said", "in", "you", "i", "alice", "that", "her"}
    assert sum(w in common for w in words) >= 5, text


def test_streams_cover_the_data_in_order():
    tokens = np.arange(1001)
    windows = list(batch_streams(tokens, batch=4, seq_len=10))
    x = np.concatenate([w[0] for w in windows], axis=1)
    y = np.concatenate([w[1] for w in windows], axis=1)
    np.testing.assert_array_equal(x.ravel(), tokens[:1000])
    np.testing.assert_array_equal(y, x + 1)


def small(alice_slice, tmp_path, epochs=2, name="m"):
    data = text_data([alice_slice], val_frac=0.1)
    cfg = ModelConfig(data.codec.num_classes, embed=8, hidden=32, layers=2, dropout=0.1)
    tcfg = TrainConfig(seq_len=32, batch=8, epochs=epochs, lr=3e-3, warmup=5, seed=11)
    return Trainer(data, cfg, tcfg, tmp_path / f"{name}.safetensors")


def test_resume_from_an_epoch_boundary_is_exact(alice_slice, tmp_path):
    straight = small(alice_slice, tmp_path, name="straight")
    list(straight.run())
    first = small(alice_slice, tmp_path, name="resumed")
    for ev in first.run():
        if isinstance(ev, EpochEnd):
            break
    first.save_checkpoint()
    second = small(alice_slice, tmp_path, name="resumed")
    second.load_checkpoint(first.ckpt)
    assert second.step == first.step and second.epoch == 1
    assert second.lr_at(second.step) == straight.lr_at(first.step)
    assert any(st["exp_avg"].abs().sum() > 0 for st in second.opt.state.values())
    list(second.run())
    assert second.step == straight.step
    for (k, a), b in zip(straight.model.state_dict().items(), second.model.state_dict().values()):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6, err_msg=k)
    assert [h["val_loss"] for h in second.history] == pytest.approx([h["val_loss"] for h in straight.history])


def test_resume_mid_epoch_continues_the_step_counter(alice_slice, tmp_path):
    t = small(alice_slice, tmp_path, epochs=1)
    for ev in t.run():
        if isinstance(ev, Progress) and ev.step == 7:
            break
    t.save_checkpoint()
    t2 = small(alice_slice, tmp_path, epochs=1)
    t2.load_checkpoint(t.ckpt)
    steps = [ev.step for ev in t2.run() if isinstance(ev, Progress)]
    assert steps[0] == 8 and steps[-1] == t2.steps_per_epoch
    assert load_model(t2.out).training["steps"] == t2.steps_per_epoch


def test_checkpoint_of_another_model_is_refused(alice_slice, tmp_path):
    t = small(alice_slice, tmp_path, epochs=1)
    t.save_checkpoint()
    data = text_data([alice_slice], val_frac=0.1)
    other = Trainer(data, ModelConfig(data.codec.num_classes, embed=8, hidden=16, layers=1), TrainConfig(),
                    tmp_path / "o.safetensors")
    with pytest.raises(ModelFileError, match="another model"):
        other.load_checkpoint(t.ckpt)
    with pytest.raises(ModelFileError, match="checkpoint"):
        other.load_checkpoint(alice_slice)


def test_bad_training_data(tmp_path):
    short = tmp_path / "short.txt"
    short.write_text("too short")
    with pytest.raises(DataError, match="too short"):
        text_data([short])
    binary = tmp_path / "bin.txt"
    binary.write_bytes(b"\xff\xfe\x00\x81" * 1000)
    with pytest.raises(DataError, match="not UTF-8"):
        text_data([binary])
    with pytest.raises(DataError, match="no such file"):
        text_data([tmp_path / "missing.txt"])


def _kl_to(teacher, student, ids) -> float:
    """Mean KL(teacher || student) in nats over the next-token distributions along ids."""
    import torch

    from guigen.core.model import LSTMModel

    x = torch.as_tensor(ids[None, :-1])
    with torch.no_grad():
        p = torch.log_softmax(LSTMModel.from_loaded(teacher).eval()(x)[0], -1)
        q = torch.log_softmax(student.eval()(x)[0], -1)
    return float((p.exp() * (p - q)).sum(-1).mean())


@pytest.mark.parametrize("ahead", [True, False], ids=["teachers-read-ahead", "teachers-beside-the-student"])
def test_distillation_pulls_the_student_to_its_teachers(alice_slice, tiny_model, tmp_path, ahead):
    data = text_data([alice_slice], val_frac=0.1, vocab=tiny_model.codec)
    ids = np.asarray(data.val[:2000], dtype=np.int64)
    kl = {}
    for weight in (0.0, 1.0):  # the same student trained on the data alone, then on the teacher alone
        cfg = ModelConfig(data.codec.num_classes, embed=16, hidden=64, layers=1, dropout=0.0)
        t = Trainer(data, cfg, TrainConfig(seq_len=32, batch=8, epochs=2, lr=1e-2, warmup=5, seed=11,
                                           teacher_weight=weight), tmp_path / f"w{weight}.safetensors")
        t.set_teachers([tiny_model] if weight else [])
        assert (t.teacher_targets is not None) == bool(weight)  # text: read ahead once
        if not ahead:
            t.teacher_targets = None  # as for music, whose tokens change every epoch
        before = _kl_to(tiny_model, t.model, ids)
        list(t.run())
        kl[weight] = _kl_to(tiny_model, t.model, ids)
    assert kl[1.0] < 0.7 * kl[0.0] < before


def test_a_teacher_of_another_vocabulary_is_refused(alice_slice, tiny_model, tmp_path):
    euro = tmp_path / "euro.txt"
    euro.write_text(alice_slice.read_text(encoding="utf-8").replace("e", "€", 100), encoding="utf-8")
    data = text_data([euro], val_frac=0.1)
    t = Trainer(data, ModelConfig(data.codec.num_classes, embed=8, hidden=16, layers=1), TrainConfig(),
                tmp_path / "o.safetensors")
    with pytest.raises(ModelFileError, match="teacher"):
        t.set_teachers([tiny_model])


def test_the_teachers_read_ahead_exactly_what_they_would_predict(alice_slice, tiny_model, tmp_path):
    """The one pass before training gives each position the teachers' mean distribution from its stream's start."""
    import torch

    from guigen.core.model import LSTMModel

    data = text_data([alice_slice], val_frac=0.1, vocab=tiny_model.codec)
    student = small(alice_slice, tmp_path)  # the same data; its trainer's teachers:
    other = LSTMModel.from_loaded(tiny_model)
    with torch.no_grad():
        for p in other.parameters():
            p.add_(0.05 * torch.randn_like(p))  # a second, different teacher
    student.teachers = [LSTMModel.from_loaded(tiny_model).eval(), other.eval()]
    tokens = data.train[:1000]
    per = 334  # ceil(1000 / 3): stream k starts at k * per
    # the teachers run in the training precision: float32 to the targets' float16 storage, bf16 more loosely
    for amp, atol in ((None, 2e-3), (torch.bfloat16, 2e-2)):
        student.amp = amp
        calls = []
        ahead = student._teacher_pass(tokens, progress=lambda done, total: calls.append((done, total)),
                                      streams=3, chunk=50)
        assert ahead.shape == (1000, data.codec.num_classes) and ahead.dtype == torch.float16
        assert calls[-1] == (1000, 1000)
        with torch.no_grad():
            for k in range(3):
                x = torch.as_tensor(np.asarray(tokens[k * per : (k + 1) * per], dtype=np.int64))[None]
                want = sum(torch.softmax(t(x)[0][0], -1) for t in student.teachers) / 2
                np.testing.assert_allclose(ahead[k * per : k * per + x.shape[1]].float().numpy(), want.numpy(),
                                           atol=atol)
        np.testing.assert_allclose(ahead.float().sum(-1).numpy(), 1.0, atol=1e-2)
