"""Truncated BPTT(k1, k2) over streams: exactness, windowed gradients, state carry, resets."""

import tracemalloc

import numpy as np
import pytest
from gradcheck_util import numeric_grad, rel_error

from rnnkit.nn import GRU, LSTM, Embedding, Linear
from rnnkit.nn.losses import cross_entropy
from rnnkit.nn.module import Module
from rnnkit.optim import SGD
from rnnkit.train.bptt import TBPTT, Chunk, Stream


class StreamLM(Module):
    """Reference stream model: Embedding -> LSTM/GRU -> Linear -> cross-entropy (sum)."""

    def __init__(self, V=5, E=3, H=4, cell="lstm", num_layers=1, dtype="float64", seed=0):
        super().__init__()
        rng = np.random.default_rng(seed)
        self.embed = self.add_module("embed", Embedding(V, E, dtype=dtype, rng=rng))
        layer = {"lstm": LSTM, "gru": GRU}[cell]
        self.rnn = self.add_module("rnn", layer(E, H, num_layers, dtype=dtype, rng=rng))
        self.head = self.add_module("head", Linear(H, V, dtype=dtype, rng=rng))

    def init_state(self, B):
        return None

    def chunk_forward(self, inputs, targets, state, loss_mask=None):
        emb, ec = self.embed.forward(inputs)  # (k, B, E)
        out, new_state, rc = self.rnn.forward(emb, state)  # (k, B, H)
        logits, hc = self.head.forward(out)  # (k, B, V)
        count = targets.size if loss_mask is None else int(np.sum(loss_mask))
        if count == 0:
            return 0.0, 0, new_state, (ec, rc, hc, np.zeros_like(logits))
        loss, dlogits = cross_entropy(logits, targets, mask=loss_mask)
        return loss * count, count, new_state, (ec, rc, hc, dlogits * count)

    def chunk_backward(self, cache, dloss_scale, dstate):
        ec, rc, hc, dlogits_sum = cache
        dout = self.head.backward(dlogits_sum * dloss_scale, hc)
        demb, dstate0 = self.rnn.backward(dout, dstate, rc)
        self.embed.backward(demb, ec)
        return dstate0


def full_bptt(model, x, y):
    """Mean cross-entropy over (T, B) and its gradients, straight through the engine."""
    model.zero_grad()
    emb, ec = model.embed.forward(x)
    out, _, rc = model.rnn.forward(emb)
    logits, hc = model.head.forward(out)
    loss, dlogits = cross_entropy(logits, y)
    demb, _ = model.rnn.backward(model.head.backward(dlogits, hc), None, rc)
    model.embed.backward(demb, ec)
    return loss, {k: g.copy() for k, g in model.grads.items()}


def rows_matrix(data, B, T):
    """(T, B) matrix of B contiguous rows of T steps, as Stream cuts an array."""
    return data[np.arange(T)[:, None] + np.arange(B) * T]


def zero_rows(state, rows):
    if state is None:
        return None
    if isinstance(state, tuple):
        return tuple(zero_rows(s, rows) for s in state)
    s = state.copy()
    s[:, rows] = 0
    return s


def stepwise_loss(model, x, y, state, counted, resets):
    """Reference windowed loss: one step at a time, zeroing reset rows by hand."""
    total, count = 0.0, 0
    for t in range(x.shape[0]):
        if resets[t].any():
            state = zero_rows(state, np.flatnonzero(resets[t]))
        ls, c, state, _ = model.chunk_forward(x[t : t + 1], y[t : t + 1], state, loss_mask=counted[t : t + 1])
        total, count = total + ls, count + c
    return total / count


# -- exactness ---------------------------------------------------------------------------
@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_one_chunk_with_k1_equal_k2_equal_T_is_full_bptt(cell):
    rng = np.random.default_rng(1)
    T, B, V = 9, 3, 5
    model = StreamLM(V=V, cell=cell)
    x, y = rng.integers(0, V, (T, B)), rng.integers(0, V, (T, B))
    ref_loss, ref = full_bptt(model, x, y)
    model.zero_grad()
    loss = TBPTT(model, T, T).loss_and_grad(Chunk(x, y, None, None, 0))
    assert abs(loss - ref_loss) <= 1e-12 * abs(ref_loss)
    for name, g in model.grads.items():
        assert np.max(np.abs(g - ref[name])) <= 1e-12 * max(np.max(np.abs(ref[name])), 1e-300), name


@pytest.mark.parametrize("with_resets", [False, True])
def test_k2_twice_k1_gradient_equals_central_differences_of_the_windowed_loss(with_resets):
    rng = np.random.default_rng(2)
    k1, B, V = 3, 2, 5
    model = StreamLM(V=V)
    data = rng.integers(0, V, 3 * k1 * B + 1)
    resets = None
    if with_resets:  # boundaries inside the history part and inside the new part of window 3
        resets = np.zeros(data.shape, bool)
        resets[[k1 + 1, 2 * k1 + 1 + 3 * k1]] = True
    tb = TBPTT(model, k1, 2 * k1)
    chunks = list(tb.stream(data, B, resets=resets))
    assert len(chunks) == 3
    for c in chunks[:2]:
        model.zero_grad()
        tb.loss_and_grad(c)
    model.zero_grad()
    tb.loss_and_grad(chunks[2])
    grads = {k: g.copy() for k, g in model.grads.items()}

    # The window of update 3 is steps [k1, 3 k1); its start state is a constant.
    X, Y = rows_matrix(data, B, 3 * k1), rows_matrix(data[1:], B, 3 * k1)
    R = np.zeros((3 * k1, B), bool) if resets is None else rows_matrix(resets, B, 3 * k1)
    s0 = None
    for t in range(k1):
        s0 = zero_rows(s0, np.flatnonzero(R[t]))
        _, _, s0, _ = model.chunk_forward(X[t : t + 1], Y[t : t + 1], s0)
    counted = np.zeros((2 * k1, B), bool)
    counted[k1:] = True

    def f():
        return stepwise_loss(model, X[k1:], Y[k1:], s0, counted, R[k1:])

    for name, p, _ in model.named_parameters():
        num = numeric_grad(f, p)
        assert rel_error(grads[name], num) < 1e-7, name


def test_window_gradient_differs_from_chunked_when_k2_exceeds_k1():
    """k2 > k1 really back-propagates further: the gradient is not the chunked one."""
    rng = np.random.default_rng(3)
    model = StreamLM()
    data = rng.integers(0, 5, 41)
    grads = []
    for k2 in (4, 8):
        tb = TBPTT(model, 4, k2)
        for c in tb.stream(data, 2):
            model.zero_grad()
            tb.loss_and_grad(c)
        grads.append(model.grads["rnn.weight_hh_l0"].copy())
    assert rel_error(grads[0], grads[1]) > 1e-3


@pytest.mark.parametrize("k1,k2", [(5, 5), (4, 9), (3, 6)])
def test_state_carried_equals_one_long_forward(k1, k2):
    rng = np.random.default_rng(4)
    B, V = 3, 5
    model = StreamLM(V=V, num_layers=2)
    data = rng.integers(0, V, 3 * 17 + 2)
    R = (data.size - 1) // B
    X, Y = rows_matrix(data, B, R), rows_matrix(data[1:], B, R)
    ref_sum, ref_count, ref_state, _ = model.chunk_forward(X, Y, None)
    tb = TBPTT(model, k1, k2)
    total, count = 0.0, 0
    for c in tb.stream(data, B):
        model.zero_grad()
        tb.loss_and_grad(c)
        s, n = tb.evaluate_batch(c)
        total, count = total + s, count + n
    for got, want in zip(tb.state, ref_state, strict=False):
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)
    assert count == ref_count
    assert abs(total - ref_sum) < 1e-10


def test_resets_make_documents_independent_in_loss_gradient_and_state():
    rng = np.random.default_rng(5)
    model = StreamLM()
    docs = [rng.integers(0, 5, n) for n in (6, 4, 9, 3, 7)]
    stream = Stream(docs, 2, 40)  # one chunk: rows switch documents mid-chunk
    (chunk,) = list(stream)
    assert chunk.resets is not None and chunk.valid is not None
    tb = TBPTT(model, 40)
    model.zero_grad()
    loss = tb.loss_and_grad(chunk)
    got = {k: g.copy() for k, g in model.grads.items()}

    count = sum(len(d) - 1 for d in docs)
    model.zero_grad()
    ref_sum = 0.0
    for d in docs:  # each document alone, from the zero state
        ls, n, _, cache = model.chunk_forward(d[:-1, None], d[1:, None], None)
        model.chunk_backward(cache, 1.0 / count, None)
        ref_sum += ls
    assert abs(loss - ref_sum / count) < 1e-12
    for name, g in model.grads.items():
        assert rel_error(got[name], g) < 1e-12, name


def test_evaluation_over_documents_with_small_chunks_matches_documents_alone():
    rng = np.random.default_rng(6)
    model = StreamLM(cell="gru")
    docs = [rng.integers(0, 5, n) for n in (8, 3, 11, 5, 2, 9)]
    tb = TBPTT(model, 3)
    total, count = 0.0, 0
    for c in Stream(iter(docs), 2, 3):
        s, n = tb.evaluate_batch(c)
        total, count = total + s, count + n
    ref = [model.chunk_forward(d[:-1, None], d[1:, None], None)[:2] for d in docs]
    assert count == sum(n for _, n in ref)
    assert abs(total - sum(s for s, _ in ref)) < 1e-10


def test_a_new_stream_starts_from_the_initial_state():
    rng = np.random.default_rng(7)
    model = StreamLM()
    data = rng.integers(0, 5, 31)
    tb = TBPTT(model, 5)
    first = list(tb.stream(data, 2))
    for c in first:
        tb.loss_and_grad(c)
    model.zero_grad()
    again = tb.loss_and_grad(first[0])  # index 0: nothing carried over
    fresh = TBPTT(model, 5)
    model.zero_grad()
    assert fresh.loss_and_grad(first[0]) == again


@pytest.mark.parametrize("k1,k2", [(4, 4), (3, 7)])
def test_training_matches_pytorch_truncated_bptt_with_detach(k1, k2):
    torch = pytest.importorskip("torch", reason="PyTorch autograd is the oracle for the TBPTT window")
    rng = np.random.default_rng(10)
    B, V, lr = 3, 5, 0.5
    model = StreamLM(V=V, H=6)
    data = rng.integers(0, V, 3 * 20 + 1)
    R = (data.size - 1) // B
    X = torch.from_numpy(rows_matrix(data, B, R))
    Y = torch.from_numpy(rows_matrix(data[1:], B, R))
    emb = torch.nn.Embedding(V, 3).double()
    lstm = torch.nn.LSTM(3, 6).double()
    head = torch.nn.Linear(6, V).double()
    sd = model.state_dict()
    with torch.no_grad():
        for prefix, mod in (("embed.", emb), ("rnn.", lstm), ("head.", head)):
            for name, p in mod.named_parameters():
                p.copy_(torch.from_numpy(sd[prefix + name]))
    opt = torch.optim.SGD([*emb.parameters(), *lstm.parameters(), *head.parameters()], lr=lr)
    starts = {0: None}  # window start position -> detached (h, c)
    for s in range(0, R, k1):
        e = min(s + k1, R)
        a, nxt = max(0, s - (k2 - k1)), max(0, e - (k2 - k1))  # this window's start, the next one's
        state = starts.pop(a)
        out1, mid = lstm(emb(X[a:nxt]), state) if nxt > a else (None, state)
        starts[nxt] = None if mid is None else tuple(t.detach() for t in mid)
        out2 = lstm(emb(X[nxt:e]), mid)[0] if e > nxt else None
        out = torch.cat([o for o in (out1, out2) if o is not None])
        logits = head(out[s - a :])  # the new steps only
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, V), Y[s:e].reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
    tb, ours = TBPTT(model, k1, k2), SGD(model, lr=lr)
    for chunk in tb.stream(data, B):
        model.zero_grad()
        tb.loss_and_grad(chunk)
        ours.step()
    got = model.state_dict()
    for prefix, mod in (("embed.", emb), ("rnn.", lstm), ("head.", head)):
        for name, p in mod.named_parameters():
            assert rel_error(got[prefix + name], p.detach().numpy()) < 1e-10, prefix + name


# -- streams -----------------------------------------------------------------------------
def test_array_stream_cuts_contiguous_rows_with_next_step_targets(tmp_path):
    data = np.arange(23)
    s = Stream(data, 3, 4)
    chunks = list(s)
    assert len(s) == len(chunks) == 2  # R = (23 - 1) // 3 = 7 steps per row
    X = np.concatenate([c.inputs for c in chunks])  # (7, 3)
    Y = np.concatenate([c.targets for c in chunks])
    np.testing.assert_array_equal(X, np.arange(7)[:, None] + np.array([0, 7, 14]))
    np.testing.assert_array_equal(Y, X + 1)
    assert [c.index for c in chunks] == [0, 1] and [len(c) for c in chunks] == [4, 3]
    mm = np.lib.format.open_memmap(tmp_path / "ids.npy", mode="w+", dtype=np.int32, shape=(23,))
    mm[:] = data
    mm.flush()
    ro = np.load(tmp_path / "ids.npy", mmap_mode="r")
    for a, b in zip(Stream(ro, 3, 4), chunks, strict=False):
        np.testing.assert_array_equal(a.inputs, b.inputs)
        assert type(a.inputs) is np.ndarray


def test_array_stream_with_aligned_targets_and_features():
    rng = np.random.default_rng(8)
    x, y = rng.normal(size=(20, 2)), rng.normal(size=(20, 1))
    chunks = list(Stream(x, 4, 3, targets=y))  # R = 5
    assert [c.inputs.shape for c in chunks] == [(3, 4, 2), (2, 4, 2)]
    np.testing.assert_array_equal(chunks[1].targets[1, 2], y[2 * 5 + 4])


def test_document_stream_pads_finished_rows_and_marks_resets():
    docs = [np.array([1, 2, 3]), np.array([4, 5, 6, 7, 8]), (np.array([9, 9]), np.array([0, 1]))]
    chunks = list(Stream(docs, 2, 3))
    X = np.concatenate([c.inputs for c in chunks])
    valid = np.concatenate([c.valid if c.valid is not None else np.ones(c.inputs.shape, bool) for c in chunks])
    # row 0: doc 0 (2 steps) then doc 2 (2 steps); row 1: doc 1 (4 steps)
    np.testing.assert_array_equal(X[:, 0][valid[:, 0]], [1, 2, 9, 9])
    np.testing.assert_array_equal(X[:, 1][valid[:, 1]], [4, 5, 6, 7])
    assert valid.sum() == 8
    assert chunks[0].resets[0].all() and chunks[0].resets[2, 0] and not chunks[0].resets[2, 1]


# -- errors ------------------------------------------------------------------------------
def test_k2_smaller_than_k1_is_refused_with_the_reason():
    with pytest.raises(ValueError, match=r"k2: expected k2 >= k1 = 8, got 4.*no gradient"):
        TBPTT(StreamLM(), 8, 4)
    with pytest.raises(ValueError, match="k1: expected an int >= 1, got 0"):
        TBPTT(StreamLM(), 0)
    with pytest.raises(TypeError, match="k2: expected an int"):
        TBPTT(StreamLM(), 4, 4.5)
    with pytest.raises(TypeError, match="lacking"):
        TBPTT(Linear(2, 2), 4)


@pytest.mark.parametrize(
    "data,match",
    [
        (np.array([], dtype=int), "non-empty stream"),
        (np.arange(3), "too short for batch_size=4"),
        ([], "at least one document"),
        ("some text", "encode the text"),
        (np.array(["a", "b"]), "numeric"),
    ],
)
def test_bad_streams_are_refused(data, match):
    with pytest.raises((ValueError, TypeError), match=match):
        Stream(data, 4, 5)


def test_an_empty_document_iterator_fails_when_read():
    with pytest.raises(ValueError, match="the stream is empty"):
        list(Stream(iter([np.array([3])]), 2, 4))
    with pytest.raises(ValueError, match="resets: expected"):
        Stream(np.arange(10), 2, 3, resets=np.zeros(4, bool))
    with pytest.raises(ValueError, match="targets: expected one target per step"):
        Stream(np.arange(10), 2, 3, targets=np.arange(9))


def test_chunks_longer_than_k1_are_refused():
    tb = TBPTT(StreamLM(), 4)
    x = np.zeros((6, 2), int)
    with pytest.raises(ValueError, match="at most k1 = 4 steps, got 6"):
        tb.loss_and_grad(Chunk(x, x, None, None, 0))
    with pytest.raises(TypeError, match="expected a rnnkit.train.bptt.Chunk"):
        tb.loss_and_grad((x, x))


# -- memory ------------------------------------------------------------------------------
def _peak_training_memory(path, n, B=128):
    ids = np.load(path, mmap_mode="r")[:n]
    model = StreamLM(V=7, E=4, H=8, dtype="float32")
    tb = TBPTT(model, 8, 12)
    opt = SGD(model, lr=0.1)
    tracemalloc.start()
    try:
        for chunk in tb.stream(ids, B):
            model.zero_grad()
            tb.loss_and_grad(chunk)
            opt.step()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_does_not_grow_with_stream_length(tmp_path):
    """Peak traced memory over a 10x longer memmapped stream stays the same.

    The long stream (240 steps x 128 rows of int64, 246 kB) is a third of the peak, so
    holding a copy of it, or anything per update, would show.
    """
    rng = np.random.default_rng(9)
    path = tmp_path / "ids.npy"
    np.save(path, rng.integers(0, 7, 240 * 128 + 1))
    short = _peak_training_memory(path, 24 * 128 + 1)
    long = _peak_training_memory(path, 240 * 128 + 1)
    assert long < 1.1 * short + 16_000, (short, long)
