"""Generated data sets, the built-in corpus, the shipped files and the registry."""

import string

import numpy as np
import pytest

from rnnkit import data
from rnnkit.data import (
    DATASETS,
    adding_problem,
    arithmetic_pairs,
    copy_memory,
    load_dataset,
    mackey_glass,
    noisy_seasonal,
    python_docs_corpus,
    running_sum,
    tagged_sentences,
    waveform_classes,
)

UPOS = {
    "ADJ",
    "ADP",
    "ADV",
    "AUX",
    "CCONJ",
    "DET",
    "INTJ",
    "NOUN",
    "NUM",
    "PART",
    "PRON",
    "PROPN",
    "PUNCT",
    "SCONJ",
    "SYM",
    "VERB",
    "X",
}


# -- seeding -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "make",
    [
        lambda **kw: adding_problem(20, 10, **kw),
        lambda **kw: copy_memory(20, 10, **kw),
        lambda **kw: running_sum(20, 10, **kw),
        lambda **kw: arithmetic_pairs(20, **kw),
        lambda **kw: noisy_seasonal(20, **kw),
        lambda **kw: tagged_sentences(5, **kw),
        lambda **kw: waveform_classes(3, **kw),
    ],
)
def test_generators_are_deterministic_and_demand_a_seed(make):
    a = make(seed=3)
    b = make(rng=np.random.default_rng(3))
    c = make(seed=4)
    assert repr(a) == repr(b) and repr(a) != repr(c)
    with pytest.raises(TypeError, match="expected rng=numpy.random.Generator or seed=int"):
        make()
    with pytest.raises(TypeError, match="not both"):
        make(seed=1, rng=np.random.default_rng(1))
    with pytest.raises(TypeError, match="rng: expected a numpy.random.Generator, got RandomState"):
        make(rng=np.random.RandomState(0))


def test_argument_errors_name_the_argument():
    with pytest.raises(ValueError, match="T: expected an integer >= 2, got 1"):
        adding_problem(5, 1, seed=0)
    with pytest.raises(TypeError, match="n: expected an integer >= 1, got 2.5"):
        running_sum(2.5, 3, seed=0)
    with pytest.raises(ValueError, match="op: expected one or more distinct operators"):
        arithmetic_pairs(5, op="/", seed=0)
    with pytest.raises(ValueError, match="n: expected at most 100 .*hint: increase max_digits"):
        arithmetic_pairs(101, max_digits=1, seed=0)
    with pytest.raises(ValueError, match="tau: expected at least .* hint: increase substeps"):
        mackey_glass(10, tau=0.05)
    with pytest.raises(ValueError, match="amplitude: expected one value or one per period"):
        noisy_seasonal(10, period=(24, 168), amplitude=(1, 2, 3), seed=0)


# -- memory tasks --------------------------------------------------------------------------
def test_adding_problem():
    X, y = adding_problem(20000, 30, seed=0)
    assert X.shape == (20000, 30, 2) and y.shape == (20000, 1)
    values, markers = X[..., 0], X[..., 1]
    assert np.all((values >= 0) & (values < 1))
    assert np.all(markers.sum(axis=1) == 2) and set(np.unique(markers)) == {0.0, 1.0}
    assert np.all(markers[:, :15].sum(axis=1) == 1) and np.all(markers[:, 15:].sum(axis=1) == 1)
    np.testing.assert_allclose(y[:, 0], (values * markers).sum(axis=1), rtol=0, atol=1e-15)
    # Always guessing 1 scores Var(u1 + u2) = 1/6: the baseline a model must beat.
    assert abs(np.mean((y - 1.0) ** 2) - 1 / 6) < 0.005


def test_copy_memory():
    K, T = 10, 15
    inputs, targets = copy_memory(50, T, n_symbols=8, copy_len=K, seed=0)
    assert inputs.shape == targets.shape == (50, T + 2 * K) and inputs.dtype == np.int64
    symbols = inputs[:, :K]
    assert symbols.min() >= 1 and symbols.max() <= 8
    np.testing.assert_array_equal(targets[:, T + K :], symbols)
    assert np.all(targets[:, : T + K] == 0)
    assert np.all(inputs[:, K + T - 1] == 9)  # the delimiter, once
    assert np.all((inputs == 9).sum(axis=1) == 1)
    assert np.all(inputs[:, K : K + T - 1] == 0) and np.all(inputs[:, K + T :] == 0)


def test_running_sum():
    X, Y = running_sum(100, 12, max_value=3, seed=0)
    assert X.shape == Y.shape == (100, 12, 1)
    assert set(np.unique(X)) <= {0.0, 1.0, 2.0, 3.0}
    for t in range(12):
        np.testing.assert_array_equal(Y[:, t], X[:, : t + 1].sum(axis=1))
    ones = running_sum(1, 3, seed=0)[0]
    assert set(np.unique(ones)) <= {0.0, 1.0}


@pytest.mark.parametrize("op", ["+", "-", "*", "+-*"])
def test_arithmetic_pairs(op):
    pairs = arithmetic_pairs(3000, max_digits=3, op=op, seed=0)
    sources = [s for s, _ in pairs]
    assert len(pairs) == 3000 and len(set(sources)) == 3000
    for source, target in pairs:
        assert set(source) <= set("0123456789+-*") and str(eval(source)) == target
    lengths = {len(s.split(o)[0]) for s in sources for o in op if o in s[1:]}
    assert lengths == {1, 2, 3}  # short and long operands both occur


def test_arithmetic_pairs_can_exhaust_small_spaces():
    pairs = arithmetic_pairs(100, max_digits=1, seed=0)
    assert sorted(s for s, _ in pairs) == sorted(f"{a}+{b}" for a in range(10) for b in range(10))


# -- series --------------------------------------------------------------------------------
def test_mackey_glass_range_and_chaos():
    x = mackey_glass(1500)
    assert x.shape == (1500,) and x.dtype == np.float64
    assert 0.2 < x.min() < 0.6 and 1.1 < x.max() < 1.4  # the known attractor range
    assert x.std() > 0.15
    np.testing.assert_array_equal(x, mackey_glass(1500))  # deterministic
    # Chaos: a 1e-3 change of the initial value grows to an O(1) difference.
    y = mackey_glass(1500, x0=1.2 + 1e-3)
    assert np.abs(x[:50] - y[:50]).max() < 0.05 and np.abs(x - y).max() > 0.2
    # The delay matters: a short delay gives a fixed point, not chaos.
    assert mackey_glass(200, tau=2).std() < 1e-3


def test_noisy_seasonal():
    n = 24 * 40
    clean = noisy_seasonal(n, period=24, trend=0.0, noise=0.0, seed=0)
    np.testing.assert_allclose(clean, np.sin(2 * np.pi * np.arange(n) / 24), atol=1e-12)
    x = noisy_seasonal(n, period=24, trend=0.05, noise=0.3, level=2.0, seed=0)
    resid = x - clean - 2.0 - 0.05 * np.arange(n)
    assert abs(resid.std() - 0.3) < 0.03 and abs(resid.mean()) < 0.05
    two = noisy_seasonal(n, period=(24, 168), amplitude=(1.0, 0.5), trend=0, noise=0, seed=0)
    np.testing.assert_allclose(two - clean, 0.5 * np.sin(2 * np.pi * np.arange(n) / 168), atol=1e-12)


# -- text ----------------------------------------------------------------------------------
def test_python_docs_corpus():
    text = python_docs_corpus()
    assert len(text) > 100_000
    assert set(text) <= set(string.printable) - set("\t\r\x0b\x0c")
    assert "lambda" in text and "def " in text
    assert python_docs_corpus(max_chars=1000) == text[:1000]
    with pytest.raises(ValueError, match="max_chars"):
        python_docs_corpus(max_chars=0)


def test_normalize_ascii():
    assert data.normalize_ascii("\u201cdon\u2019t\u201d \u2014 caf\u00e9\r\n") == '"don\'t" -- cafe\n'
    assert data.normalize_ascii("ab\tc\n\u00e9\td\x07") == "ab      c\ne       d"


def test_tagged_sentences():
    sentences = tagged_sentences(300, seed=0)
    assert len({tuple(s) for s in sentences}) == 300
    tags = {t for s in sentences for _, t in s}
    assert tags <= UPOS and len(tags) >= 12
    assert all(s[-1][1] == "PUNCT" and s[0][0][0].isupper() for s in sentences)
    by_word = {}
    for s in sentences:
        for w, t in s:
            by_word.setdefault(w.lower(), set()).add(t)
    for word in ("book", "like", "that", "to"):  # context decides the tag
        assert len(by_word[word]) >= 2, word


def test_waveform_classes():
    X, labels = waveform_classes(50, T=64, seed=0)
    assert X.shape == (200, 64) and len(labels) == 200
    assert {c: labels.count(c) for c in set(labels)} == {c: 50 for c in data.wave_shapes.CLASSES}
    # Square waves spend their time near the extremes; sines do not.
    y = np.array(labels)
    centred = X - X.mean(axis=1, keepdims=True)
    kurt = (centred**4).mean(axis=1) / (centred**2).mean(axis=1) ** 2
    assert kurt[y == "square"].mean() < kurt[y == "sine"].mean() < kurt[y == "sawtooth"].mean()


# -- shipped files and registry ------------------------------------------------------------
def test_shipped_files_are_reproducible(tmp_path):
    for path in data.write_shipped_files(tmp_path):
        shipped = data.shipped_path(path.name)
        if path.suffix == ".conllu":
            assert path.read_bytes() == shipped.read_bytes(), path.name
        else:  # rounded floats: compare values, allowing a last-digit rounding difference
            (xa, ya), (xb, yb) = data.read_ts(path), data.read_ts(shipped)
            assert ya == yb
            np.testing.assert_allclose(np.stack(xa), np.stack(xb), rtol=2e-3, atol=1e-3)


def test_shipped_sets():
    train, test = data.tiny_pos("train"), data.tiny_pos("test")
    assert len(train) == 200 and len(test) == 60
    assert not {tuple(s) for s in train} & {tuple(s) for s in test}
    assert {t for s in train for _, t in s} <= UPOS
    X, y = data.waveforms("train")
    assert len(X) == 120 and all(x.shape == (64, 1) for x in X)
    assert sorted(set(y)) == sorted(data.wave_shapes.CLASSES)
    assert len(data.waveforms("test")[0]) == 80
    with pytest.raises(ValueError, match=r"split: expected one of \['train', 'test'\], got 'dev'"):
        data.tiny_pos("dev")


def test_registry_lists_every_set_and_loads_it():
    expected = {
        "pydoc": "charlm",
        "mackey-glass": "forecast",
        "seasonal": "forecast",
        "adding": "seq2seq",
        "running-sum": "seq2seq",
        "copy-memory": "seq2seq",
        "arithmetic": "seq2seq",
        "tiny-pos": "tag",
        "waveforms": "classify",
        "jsb": "music",
    }
    assert {name: d.task for name, d in DATASETS.items()} == expected
    small = {
        "pydoc": {"max_chars": 500},
        "mackey-glass": {"n": 50},
        "seasonal": {"n": 50},
        "adding": {"n": 4},
        "running-sum": {"n": 4},
        "copy-memory": {"n": 4},
        "arithmetic": {"n": 4},
        "tiny-pos": {},
        "waveforms": {"split": "test"},
        "jsb": {"split": "test"},
    }
    for name, d in DATASETS.items():
        assert d.description and d.source and d.returns
        first, again = load_dataset(name, **small[name]), load_dataset(name, **small[name])
        assert repr(first) == repr(again), name  # seeded by default
    assert load_dataset("mackey-glass", n=50).shape == (50, 1)
    assert load_dataset("seasonal", n=50).shape == (50, 1)
    X, y = load_dataset("adding", n=4, T=8, rng=np.random.default_rng(1))
    assert X.shape == (4, 8, 2)


def test_unknown_dataset_lists_valid_names():
    with pytest.raises(ValueError, match=r"name: expected one of \['adding', .*'waveforms'\], got 'mnist'"):
        load_dataset("mnist")
