"""The fast NumPy path against torch, and the streaming Generator: settings, forcing, undo, batches, beams."""

import numpy as np
import pytest
import torch
from conftest import softmax

from guigen.core.config import ModelConfig, parameter_shapes
from guigen.core.fastlstm import FastLSTM
from guigen.core.generate import Generator, beam_search
from guigen.core.model import LSTMModel
from guigen.core.sampling import SamplingSettings, entropy
from guigen.core.vocab import CharVocab


@pytest.mark.parametrize("layers,batch", [(1, 1), (2, 3), (3, 2)])
def test_fast_path_gives_the_same_distributions_as_torch(layers, batch):
    torch.manual_seed(layers)
    cfg = ModelConfig(vocab_size=30, embed=12, hidden=40, layers=layers, dropout=0.0)
    net = LSTMModel(cfg).eval()
    with torch.no_grad():  # make the biases non-trivial too
        for p in net.parameters():
            p.add_(torch.randn_like(p) * 0.3)
    weights = {k: v.numpy() for k, v in net.state_dict().items()}
    fast = FastLSTM(cfg, weights)
    tokens = np.random.default_rng(0).integers(0, 30, size=(batch, 25))
    with torch.no_grad():
        ref, _ = net(torch.from_numpy(tokens))
    state = fast.zero_state(batch)
    for t in range(tokens.shape[1]):
        logits = fast.step(tokens[:, t], state)
        np.testing.assert_allclose(logits, ref[:, t].numpy(), rtol=1e-4, atol=1e-4)
        np.testing.assert_allclose(softmax(logits.astype(np.float64)), torch.softmax(ref[:, t].double(), -1).numpy(),
                                   atol=1e-5)


def test_generators_of_one_model_share_its_prepared_weights_read_only():
    cfg = ModelConfig(vocab_size=9, embed=4, hidden=6, layers=2)
    weights = {k: v.numpy() for k, v in LSTMModel(cfg).state_dict().items()}
    a, b = FastLSTM(cfg, weights), FastLSTM(cfg, weights)
    assert a.w_head is b.w_head and a.w_up[0] is b.w_up[0]  # made once, not at every Generate
    with pytest.raises(ValueError):
        a.w_head[0, 0] = 1.0  # shared: a generator may not change them for the others
    other = FastLSTM(cfg, {k: v.copy() for k, v in weights.items()})
    assert other.w_head is not a.w_head
    np.testing.assert_array_equal(other.w_head, a.w_head)
    state_a, state_b = a.zero_state(), b.zero_state()
    np.testing.assert_array_equal(a.step([3], state_a), b.step([3], state_b))  # buffers are each generator's own


def test_shipped_shapes_match_torch_state_dict():
    cfg = ModelConfig(vocab_size=11, embed=5, hidden=7, layers=3)
    sd = LSTMModel(cfg).state_dict()
    assert {k: tuple(v.shape) for k, v in sd.items()} == parameter_shapes(cfg)


def make_gen(tiny_model, **kw):
    gen = Generator(tiny_model, **kw)
    gen.feed(tiny_model.codec.encode("Alice "))
    return gen


def test_step_reports_the_distributions(tiny_model):
    gen = make_gen(tiny_model, settings=SamplingSettings(0.7, top_k=5), seed=1)
    logits = gen.logits.copy()
    step = gen.step()
    np.testing.assert_allclose(step.raw_probs, softmax(logits.astype(np.float64)))
    np.testing.assert_allclose(step.probs.sum(-1), 1)
    assert (step.probs > 0).sum() == 5 and step.probs[0, step.token] > 0
    np.testing.assert_allclose(step.entropy, entropy(step.raw_probs))
    assert step.logprob[0] == pytest.approx(np.log(step.raw_probs[0, step.token]))


def test_seeded_runs_repeat_and_differ_across_seeds(tiny_model):
    runs = [[s.token for s in make_gen(tiny_model, seed=seed).stream(80)] for seed in (5, 5, 6)]
    assert runs[0] == runs[1] and runs[0] != runs[2]


def test_temperature_can_change_between_steps(tiny_model):
    gen = make_gen(tiny_model, seed=2)
    gen.step()
    gen.settings = SamplingSettings(temperature=0)
    for _ in range(20):
        expected = int(gen.logits[0].argmax())
        assert gen.step().token == expected


def test_force_and_undo(tiny_model):
    gen = make_gen(tiny_model, seed=3)
    state0, logits0 = gen.state.copy(), gen.logits.copy()
    step = gen.step(force=7)
    assert step.forced and step.token == 7
    assert gen.undo()
    np.testing.assert_array_equal(gen.state, state0)
    np.testing.assert_array_equal(gen.logits, logits0)
    a = [gen.step().token for _ in range(10)]
    for _ in range(10):
        gen.undo()
    b = [gen.step().token for _ in range(10)]
    assert a == b  # undo restores the random stream too
    with pytest.raises(ValueError):
        gen.step(force=tiny_model.config.vocab_size)


def test_undo_is_exact_across_snapshots_settings_and_forced_tokens(tiny_model):
    """Undo restores a snapshot taken every CHECKPOINT steps and steps forward from it: each undo
    gives back the very state, logits and random stream there were, as far back as undo_depth, and
    stepping on again makes the same tokens."""
    from guigen.core.generate import CHECKPOINT

    plan = {17: None, 40: SamplingSettings(0.5, top_k=5), 64: None, 90: SamplingSettings(1.3, top_p=0.9)}
    forced = {17: 3, 64: 11}
    gen = make_gen(tiny_model, settings=SamplingSettings(1.0), seed=5, undo_depth=100)
    seen, tokens = [], []

    def go(i):
        if plan.get(i) is not None:
            gen.settings = plan[i]
        return gen.step(forced.get(i)).token

    for i in range(150):
        seen.append((gen.state.copy(), gen.logits.copy(), gen.rng.bit_generator.state))
        tokens.append(go(i))
    assert 150 > 100 + CHECKPOINT  # the oldest snapshots have gone: undo still reaches 100 back
    for count in range(149, 49, -1):
        assert gen.undo()
        state, logits, rng = seen[count]
        assert gen.count == count
        np.testing.assert_array_equal(gen.state, state)
        np.testing.assert_array_equal(gen.logits, logits)
        assert gen.rng.bit_generator.state == rng
    assert not gen.undo()  # undo_depth steps, no more
    assert gen.settings == plan[90]  # undo leaves the settings in force alone
    gen.settings = plan[40]
    assert [go(i) for i in range(50, 150)] == tokens[50:]


def test_preview_redraws_without_moving(tiny_model):
    gen = make_gen(tiny_model, seed=4)
    state = gen.state.copy()
    cold, raw, _ = gen.preview(SamplingSettings(0.2))
    hot, raw2, _ = gen.preview(SamplingSettings(3.0))
    np.testing.assert_array_equal(raw, raw2)
    assert entropy(cold)[0] < entropy(raw)[0] < entropy(hot)[0]
    np.testing.assert_array_equal(gen.state, state)


def test_batch_rows_are_independent_samples(tiny_model):
    gen = make_gen(tiny_model, seed=9, batch=4)
    rows = np.array([s.tokens for s in gen.stream(60)]).T
    assert len({tuple(r) for r in rows}) == 4
    single = make_gen(tiny_model, seed=9)
    assert single.step().probs.shape == (1, tiny_model.config.vocab_size)


def test_beam_search_finds_likelier_text_than_sampling(tiny_model):
    ids = tiny_model.codec.encode("Alice ")
    plain = []
    for seed in range(8):
        gen = Generator(tiny_model, seed=seed, undo_depth=0)
        gen.feed(ids)
        plain.append(sum(s.logprob[0] for s in gen.stream(40)))
    gen = Generator(tiny_model, seed=0, batch=16, undo_depth=0)
    gen.feed(ids)
    tokens, score = beam_search(gen, 40, beam_size=4, branch_factor=4)
    assert len(tokens) == 40
    assert score > np.median(plain)
    # the score is the model's log-likelihood of the returned tokens
    check = Generator(tiny_model, undo_depth=0)
    check.feed(ids)
    assert sum(check.step(force=t).logprob[0] for t in tokens) == pytest.approx(score, rel=1e-6)


def test_unknown_primer_characters(tiny_model):
    vocab: CharVocab = tiny_model.codec
    with pytest.raises(ValueError, match="'€'"):
        vocab.encode("Alice €")
    with pytest.warns(UserWarning, match="dropped"):
        ids = vocab.encode("Alice €", drop_unknown=True)
    assert vocab.decode(ids) == "Alice "


def test_step_before_feeding_is_an_error(tiny_model):
    with pytest.raises(RuntimeError, match="primer"):
        Generator(tiny_model).step()
    with pytest.raises(ValueError):
        Generator(tiny_model).feed([])
