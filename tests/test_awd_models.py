"""The AWD-LSTM regularizers in the models: declared once (rnnkit.train.regularizers), honoured
by the models that can and refused by those that cannot; gradients of whole networks under
held masks; truncated BPTT, save/load, resume, the torch and ONNX exports of a tied model,
and the command line."""

import inspect

import numpy as np
import pytest
from gradcheck_util import numeric_grad, rel_error

from rnnkit.models import CharLM, FeedForward, SequenceClassifier, SequenceTagger
from rnnkit.models._data import Batch, step_mask
from rnnkit.models.charlm import CharLMNet
from rnnkit.models.network import SequenceNet
from rnnkit.train import ResumeFrom
from rnnkit.train.callbacks import CheckpointEvery
from rnnkit.train.regularizers import MODEL_REGULARIZERS, REGULARIZERS

ALL = dict(
    embedding_dropout=0.2,
    input_dropout=0.2,
    locked_dropout=True,
    dropout=0.3,
    output_dropout=0.3,
    activation_reg=1.0,
    temporal_activation_reg=0.5,
)
TEXT = "the cat sat on the mat; the dog sat on the log. " * 12


def _reseed(net, seed=7):
    gen = np.random.default_rng(seed)  # one generator, as the estimators share theirs
    net.embed.rng = gen
    net.rnn.rng = gen


def _charlm_net(tie=True):
    net = CharLMNet(
        7, hidden_size=5, embedding_dim=5, num_layers=2, tie_weights=tie, dtype="float64", rng=np.random.default_rng(0)
    )
    for name in ("input_dropout", "output_dropout", "locked_dropout", "dropout"):
        setattr(net.rnn, name, ALL[name])  # what the estimator sets on every recurrent layer
    net.embed.dropout = ALL["embedding_dropout"]
    net.reg.alpha, net.reg.beta = ALL["activation_reg"], ALL["temporal_activation_reg"]
    return net


@pytest.mark.parametrize("tie", [True, False])
def test_charlm_network_gradient_matches_central_differences_with_every_regularizer(tie):
    net = _charlm_net(tie).train()
    rng = np.random.default_rng(1)
    inputs, targets = rng.integers(0, 7, (6, 3)), rng.integers(0, 7, (6, 3))
    mask = np.ones((6, 3), bool)
    mask[4:, 1] = False  # padded steps: neither the loss nor AR/TAR count them
    h0 = 0.3 * rng.standard_normal((2, 3, 5))
    state = (h0, h0.copy())
    S = [rng.standard_normal((2, 3, 5)) for _ in range(2)]

    def f():
        _reseed(net)
        ls, _, (h, c), _ = net.chunk_forward(inputs, targets, state, loss_mask=mask)
        return ls + np.sum(h * S[0]) + np.sum(c * S[1])

    net.zero_grad()
    _reseed(net)
    ls, count, _, cache = net.chunk_forward(inputs, targets, state, loss_mask=mask)
    assert cache[-1] is not None  # the AR/TAR cache
    net.chunk_backward(cache, 1.0, (S[0], S[1]))
    assert ("head.weight" in net.grads) is not tie
    errors = {n: rel_error(net.grads[n], numeric_grad(f, p)) for n, p in net.parameters().items()}
    worst = max(errors, key=errors.get)
    assert errors[worst] < 1e-6, f"worst relative error {errors[worst]:.2e} in {worst}"
    # the objective is the cross-entropy plus the penalty; evaluation has neither noise nor penalty
    net.eval()
    ls_eval, _, _, c_eval = net.chunk_forward(inputs, targets, state, loss_mask=mask)
    assert c_eval[-1] is None and c_eval[0][1] is None


def test_sequence_net_gradient_matches_central_differences_with_padding():
    net = SequenceNet(
        kind="tokens",
        input_size=9,
        output_size=3,
        hidden_size=4,
        num_layers=2,
        embedding_dim=3,
        pooling="mean",
        embedding_dropout=0.3,
        activation_reg=2.0,
        temporal_activation_reg=1.0,
        dtype="float64",
        rng=np.random.default_rng(0),
    )
    for name in ("input_dropout", "output_dropout", "locked_dropout", "dropout"):
        setattr(net.rnn, name, ALL[name])
    rng = np.random.default_rng(2)
    lengths = np.array([5, 3, 2, 4])
    ids = rng.integers(1, 9, (5, 4)) * step_mask(lengths, 5)
    batch = Batch(ids, lengths, rng.integers(0, 3, 4), None)

    def reseed():
        gen = np.random.default_rng(9)
        net.rng = net.rnn.rng = net.embedding.rng = gen

    def f():
        reseed()
        y, cache = net.forward(batch.inputs, batch.lengths)
        return net._loss(y, batch)[0] + net._penalty(cache)

    net.train().zero_grad()
    reseed()
    loss = net.loss_and_grad(batch)
    assert loss == pytest.approx(f(), abs=1e-12) and loss > net.evaluate_batch(batch)[0] / 4 - 1e-12
    errors = {n: rel_error(net.grads[n], numeric_grad(f, p)) for n, p in net.parameters().items()}
    worst = max(errors, key=errors.get)
    assert errors[worst] < 1e-6, f"worst relative error {errors[worst]:.2e} in {worst}"


# -- declared once -----------------------------------------------------------------------------
def test_every_estimator_takes_every_regularizer_with_its_declared_default():
    from rnnkit.forecast import Forecaster
    from rnnkit.models import MusicModel, Seq2Seq, SequenceGenerator, SequenceRegressor

    for cls in (
        CharLM,
        SequenceClassifier,
        SequenceRegressor,
        SequenceTagger,
        Seq2Seq,
        SequenceGenerator,
        MusicModel,
        Forecaster,
        FeedForward,
    ):
        sig = inspect.signature(cls)
        for r in REGULARIZERS.values():
            assert sig.parameters[r.name].default == r.default, (cls.__name__, r.name)
            assert sig.parameters[r.name].kind is inspect.Parameter.KEYWORD_ONLY
        assert cls(**{"input_dropout": 0.25}).get_params()["input_dropout"] == 0.25


@pytest.mark.parametrize(
    "make,name",
    [
        (lambda: FeedForward(input_dropout=0.2, epochs=1), "input_dropout"),
        (lambda: SequenceClassifier(tie_weights=True, epochs=1), "tie_weights"),
        (lambda: SequenceTagger(tie_weights=True, epochs=1), "tie_weights"),
    ],
)
def test_a_model_that_cannot_honour_a_regularizer_refuses_it_by_name(make, name):
    X = np.random.default_rng(0).standard_normal((8, 5, 2))
    with pytest.raises(ValueError, match=rf"{name}: \w+ cannot apply it .*hint: leave it at"):
        make().fit(X, np.arange(8) % 2)


def test_generator_and_forecaster_refuse_what_they_cannot_and_honour_the_locked_dropouts():
    from rnnkit.forecast import Forecaster
    from rnnkit.models import SequenceGenerator

    with pytest.raises(ValueError, match="activation_reg: SequenceGenerator cannot apply it"):
        SequenceGenerator(activation_reg=1.0)._validate_params()  # what fit checks first
    series = np.sin(np.arange(120) / 5.0)
    f = Forecaster(hidden_size=4, window=8, epochs=1, input_dropout=0.2, output_dropout=0.1, locked_dropout=True)
    f.fit(series)
    rnn = f.net_.rnn if hasattr(f.net_, "rnn") else f.net_.members[0].rnn
    assert (rnn.input_dropout, rnn.output_dropout, rnn.locked_dropout) == (0.2, 0.1, True)


@pytest.mark.parametrize(
    "name,bad,exc",
    [("embedding_dropout", 1.0, ValueError), ("activation_reg", -1.0, ValueError), ("tie_weights", 1, TypeError)],
)
def test_bad_values_are_refused_naming_the_regularizer(name, bad, exc):
    with pytest.raises(exc, match=name):
        CharLM(**{name: bad}, epochs=1).fit(TEXT)


def test_tie_weights_needs_embedding_dim_equal_to_hidden_size():
    with pytest.raises(
        ValueError, match=r"tie_weights: .*hidden_size = 16 .*embedding_dim = 8.*hint: set embedding_dim=16"
    ):
        CharLM(hidden_size=16, embedding_dim=8, tie_weights=True, epochs=1).fit(TEXT)


def test_the_table_of_models_names_only_declared_regularizers():
    for model, names in MODEL_REGULARIZERS.items():
        assert set(names) <= set(REGULARIZERS), model
    assert set(MODEL_REGULARIZERS["CharLM"]) == set(REGULARIZERS)


# -- training, save/load, resume -------------------------------------------------------------
def test_charlm_trains_with_every_regularizer_under_truncated_bptt_and_round_trips(tmp_path):
    kw = dict(hidden_size=16, embedding_dim=16, num_layers=2, k1=8, k2=12, batch_size=4, epochs=4, lr=0.01, seed=0)
    model = CharLM(tie_weights=True, **ALL, **kw).fit(TEXT, validation_data=TEXT[:200])
    net = model.net_
    assert (net.rnn.input_dropout, net.rnn.output_dropout, net.rnn.locked_dropout) == (0.2, 0.3, True)
    assert net.embed.dropout == 0.2 and (net.reg.alpha, net.reg.beta) == (1.0, 0.5)
    assert "head.weight" not in net.state_dict() and net.head.weight is net.embed.parameters()["weight"]
    losses = model.history_["loss"]
    assert losses[-1] < 0.8 * losses[0], losses
    path = model.save(tmp_path / "lm.npz")
    loaded = CharLM.load(path)
    assert loaded.get_params() == model.get_params()
    assert loaded.evaluate(TEXT[:300]) == model.evaluate(TEXT[:300])  # evaluation: no noise
    assert loaded.generate("the", 20, seed=1) == model.generate("the", 20, seed=1)


def test_resume_with_the_regularizers_equals_one_run_bit_for_bit(tmp_path):
    kw = dict(hidden_size=8, embedding_dim=8, k1=8, batch_size=4, seed=1, dtype="float64", tie_weights=True, **ALL)
    whole = CharLM(epochs=2, **kw).fit(TEXT)
    path = tmp_path / "t.npz"
    CharLM(epochs=1, **kw).fit(TEXT, callbacks=[CheckpointEvery(path, every_epochs=1)])
    resumed = CharLM(epochs=1, **kw).fit(TEXT, callbacks=[ResumeFrom(path)])
    for k, v in whole.net_.state_dict().items():
        np.testing.assert_array_equal(resumed.net_.state_dict()[k], v, err_msg=k)


def test_classifier_and_tagger_on_text_train_with_the_regularizers():
    docs = [d.split() for d in ["good fine nice great", "bad awful poor sad", "nice good great", "poor bad sad"] * 8]
    y = [1, 0, 1, 0] * 8
    clf = SequenceClassifier(hidden_size=8, epochs=20, batch_size=8, seed=0, **ALL).fit(docs, y)
    assert clf.net_.embedding.dropout == 0.2 and clf.net_.rnn.output_dropout == 0.3
    assert clf.score(docs, y) == 1.0
    sents = [["the", "dog", "runs"], ["a", "cat", "sleeps"]] * 8
    tags = [["D", "N", "V"]] * 16
    tagger = SequenceTagger(hidden_size=8, epochs=20, batch_size=8, seed=0, **ALL).fit(sents, tags)
    assert tagger.net_.reg.beta == 0.5 and tagger.score(sents, tags) == 1.0


# -- exports of a tied model -------------------------------------------------------------------
def _tied_model():
    return CharLM(hidden_size=8, embedding_dim=8, k1=8, batch_size=4, epochs=1, seed=0, tie_weights=True, **ALL).fit(
        TEXT
    )


def test_a_tied_charlm_exports_to_torch_with_one_shared_weight_and_the_same_gradient():
    torch = pytest.importorskip("torch")
    from rnnkit.interop import to_torch

    model = CharLM(
        hidden_size=6, embedding_dim=6, k1=8, batch_size=2, epochs=1, seed=0, dtype="float64", tie_weights=True
    )
    model.fit(TEXT[:120])
    twin = to_torch(model)
    assert twin.head.weight is twin.embed.weight
    ids = model.vocab_.encode("the cat sat")
    net = model.net_.eval()
    net.zero_grad()
    ls, count, _, cache = net.chunk_forward(ids[:-1, None], ids[1:, None], None)
    net.chunk_backward(cache, 1.0 / count, None)
    state, logits = None, []
    for i in ids[:-1]:
        out, state = twin(torch.tensor([i]), state)
        logits.append(out)
    loss = torch.nn.functional.cross_entropy(torch.cat(logits), torch.tensor(ids[1:]))
    loss.backward()
    assert abs(loss.item() - ls / count) < 1e-10
    # the shared weight's gradient: the embedding's use plus the projection's
    np.testing.assert_allclose(net.grads["embed.weight"], twin.embed.weight.grad.numpy(), rtol=0, atol=1e-10)
    np.testing.assert_allclose(net.grads["head.bias"], twin.head.bias.grad.numpy(), rtol=0, atol=1e-10)


def test_a_tied_charlm_exports_to_onnx_with_the_same_logits(tmp_path):
    pytest.importorskip("onnxruntime")
    from interop_util import onnx_session

    from rnnkit.interop import to_onnx

    model = _tied_model()
    sess = onnx_session(to_onnx(model, tmp_path / "lm.onnx"))
    names = [i.name for i in sess.get_inputs()]
    feeds = {n: np.zeros((1, 1, 8), np.float32) for n in names[1:]}
    state = model.net_.init_state(1)
    for i in model.vocab_.encode("the dog"):
        tok = np.array([i], np.int64)
        logits, *new = sess.run(None, {"token": tok, **feeds})
        want, state = model.net_.step(tok, state)
        np.testing.assert_allclose(logits, want, rtol=1e-5, atol=1e-5)
        feeds = dict(zip(names[1:], new, strict=False))


# -- the command line --------------------------------------------------------------------------
def test_cli_keys_reach_the_model_and_an_unhonoured_key_is_unknown(tmp_path, capsys):
    from rnnkit.cli import main

    folder = tmp_path / "lm"
    args = ["train", "charlm", "--preset", "tiny", "--out", str(folder), "--no-plots", "--set", "embedding_dim=16"]
    args += ["--set", "input_dropout=0.2", "--set", "embedding_dropout=0.1", "--set", "tie_weights=true"]
    args += ["--set", "activation_reg=2", "--temporal-activation-reg", "1", "--locked-dropout"]
    assert main(args) == 0
    model = CharLM.load(folder / "model.npz")
    p = model.get_params()
    assert (p["input_dropout"], p["embedding_dropout"], p["tie_weights"], p["activation_reg"]) == (0.2, 0.1, True, 2.0)
    assert p["temporal_activation_reg"] == 1.0 and p["locked_dropout"] is True
    assert "input_dropout = 0.2" in (folder / "config.toml").read_text()
    capsys.readouterr()
    bad = ["train", "classify", "--preset", "tiny", "--out", str(tmp_path / "c"), "--set", "tie_weights=true"]
    assert main(bad) != 0
    assert "tie_weights" in capsys.readouterr().err


def test_diagnostics_watch_a_regularized_tied_model(tmp_path):
    from rnnkit.diagnostics import watch_fit

    watch = watch_fit(every=1, warn=False)
    kw = dict(hidden_size=8, embedding_dim=8, num_layers=2, k1=8, batch_size=4, epochs=1, seed=0, tie_weights=True)
    CharLM(**kw, **ALL).fit(TEXT, callbacks=[watch])
    assert len(watch.monitor.record.steps) >= 2  # every step recorded, the flows through the masks
    watch.monitor.write_report(tmp_path / "report")
    assert any((tmp_path / "report").iterdir())


def test_under_mpi_with_every_regularizer_the_ranks_stay_identical_and_a_run_is_reproducible(tmp_path):
    import json

    from test_distributed import _mpiexec, run_case

    from rnnkit.train.checkpoint import load_checkpoint

    _mpiexec()
    runs = [run_case("awd", tmp_path / str(i), 2) for i in range(2)]
    assert all(r.returncode == 0 for r in runs), runs[0].stderr
    digests = json.loads((tmp_path / "0" / "digests.json").read_text())
    assert digests[0] == digests[1]  # every rank holds the same parameters
    a, _ = load_checkpoint(tmp_path / "0" / "model.npz")
    b, _ = load_checkpoint(tmp_path / "1" / "model.npz")
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])  # same seed, same N: the same run


def test_a_model_saved_before_the_regularizers_existed_loads_with_their_defaults(tmp_path):
    from fault_util import edit_manifest

    docs = [["good", "day"], ["bad", "day"]] * 4
    model = SequenceClassifier(hidden_size=4, epochs=1, seed=0).fit(docs, [1, 0] * 4)
    path = model.save(tmp_path / "m.npz")

    def drop(m):
        for name in REGULARIZERS:
            del m["meta"]["params"][name]

    edit_manifest(path, drop)
    loaded = SequenceClassifier.load(path)
    assert {n: loaded.get_params()[n] for n in REGULARIZERS} == {n: r.default for n, r in REGULARIZERS.items()}
    np.testing.assert_array_equal(loaded.predict_proba(docs), model.predict_proba(docs))
