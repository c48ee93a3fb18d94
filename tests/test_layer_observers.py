"""The observer extension point of the recurrent layers (``layer.observe``), and the diagnostics
going through it: nothing replaces a layer's methods while a training is diagnosed."""

import numpy as np
import pytest

from rnnkit.nn import GRU, LSTM, RNN
from rnnkit.nn.observers import LayerObserver


class Spy(LayerObserver):
    def __init__(self):
        self.calls = []

    def after_forward(self, layer, cache):
        self.calls.append(("forward", layer, cache))

    def after_backward(self, layer, cache, grad_flow):
        self.calls.append(("backward", layer, cache, {k: v.copy() for k, v in grad_flow.items()}))


def _lstm(**kw):
    rng = np.random.default_rng(0)
    layer = LSTM(3, 4, dtype="float64", rng=rng, **kw)
    return layer, rng.standard_normal((5, 2, 3))


def test_a_registered_observer_receives_each_forward_and_backward():
    layer, x = _lstm(bidirectional=True)
    spy = Spy()
    handle = layer.observe(spy)
    assert layer.observers == (spy,) and handle.observer is spy
    out, _, cache = layer.forward(x)
    assert spy.calls == [("forward", layer, cache)]
    layer.backward(np.ones_like(out), None, cache)
    kind, who, seen, flow = spy.calls[1]
    assert (kind, who, seen, flow) == ("backward", layer, cache, {})  # not recording: no flow
    layer.record_grad_flow = True
    layer.backward(np.ones_like(out), None, cache)
    flow = spy.calls[2][3]
    assert sorted(flow) == ["c_l0", "c_l0_reverse", "h_l0", "h_l0_reverse"]
    for key, norms in flow.items():  # the very numbers of this backward call
        np.testing.assert_array_equal(norms, layer.grad_flow[key])
        assert norms.shape == (5,)
    assert len(spy.calls) == 3


def test_a_removed_observer_is_called_no_more_and_others_keep_their_order():
    layer, x = _lstm()
    order = []

    class Named(Spy):
        def __init__(self, name):
            super().__init__()
            self.name = name

        def after_forward(self, layer, cache):
            order.append(self.name)
            super().after_forward(layer, cache)

    first, second = Named(1), Named(2)
    h1, h2 = layer.observe(first), layer.observe(second)
    layer.forward(x)
    assert order == [1, 2]
    h1.remove()
    h1.remove()  # a second remove does nothing
    assert layer.observers == (second,)
    out, _, cache = layer.forward(x)
    layer.backward(np.ones_like(out), None, cache)
    assert order == [1, 2, 2] and len(first.calls) == 1
    assert [c[0] for c in second.calls] == ["forward", "forward", "backward"]
    h2.remove()
    out, _, cache = layer.forward(x)
    layer.backward(np.ones_like(out), None, cache)
    assert order == [1, 2, 2] and len(second.calls) == 3 and layer.observers == ()
    with layer.observe(first) as h:  # as a context manager, removed on exit
        assert h.observer is first and layer.observers == (first,)
        layer.forward(x)
    layer.forward(x)
    assert order == [1, 2, 2, 1] and layer.observers == ()


def test_observers_belong_to_one_layer_and_change_no_number():
    rng = np.random.default_rng(1)
    a = GRU(3, 4, num_layers=2, dtype="float64", rng=np.random.default_rng(2))
    b = GRU(3, 4, num_layers=2, dtype="float64", rng=np.random.default_rng(2))
    x = rng.standard_normal((6, 2, 3))
    spy = Spy()
    a.observe(spy)
    assert b.observers == () and RNN(3, 4).observers == ()
    out_a, h_a, cache_a = a.forward(x)
    out_b, h_b, cache_b = b.forward(x)
    np.testing.assert_array_equal(out_a, out_b)
    dx_a, _ = a.backward(np.ones_like(out_a), None, cache_a)
    dx_b, _ = b.backward(np.ones_like(out_b), None, cache_b)
    np.testing.assert_array_equal(dx_a, dx_b)
    for name, g in a.grads.items():
        np.testing.assert_array_equal(g, b.grads[name])
    assert [c[0] for c in spy.calls] == ["forward", "backward"]
    assert "forward" not in vars(a) and "backward" not in vars(a)
    layer, x = _lstm()
    layer.observe(LayerObserver())  # the base class observes and does nothing
    out, _, cache = layer.forward(x)
    layer.backward(out, None, cache)


def test_observe_refuses_what_cannot_observe_by_name():
    layer, _ = _lstm()
    with pytest.raises(TypeError, match=r"observer: expected an object with methods .* got function without"):
        layer.observe(lambda layer, cache: None)
    assert layer.observers == ()


def _layers(module, found=None):
    found = [] if found is None else found
    if isinstance(module, (RNN, LSTM, GRU)):
        found.append(module)
    for child in module._children.values():
        _layers(child, found)
    return found


def test_nothing_replaces_a_layer_method_while_a_training_is_diagnosed():
    """Checked from the trainer's hooks and from inside every forward and backward call."""
    from rnnkit.diagnostics import watch_fit
    from rnnkit.models import Seq2Seq
    from rnnkit.train.callbacks import LambdaCallback

    layers, monitored, own = [], [], {}

    def unpatched(where):
        for layer in layers:
            patched = sorted(n for n in ("forward", "backward") if n in vars(layer))
            assert not patched, f"{where}: {patched} set on {layer!r}"
            assert (type(layer).forward, type(layer).backward) == own[type(layer)], f"{where}: class patched"

    class Inside(LayerObserver):
        def after_forward(self, layer, cache):
            unpatched("forward")
            monitored.append(len(layer.observers) == 2)  # the monitor's observer beside this one

        def after_backward(self, layer, cache, grad_flow):
            unpatched("backward")
            monitored.append(len(layer.observers) == 2)

    def begin(ctx):
        layers.extend(_layers(ctx.model))
        for layer in layers:
            own[type(layer)] = (type(layer).forward, type(layer).backward)
            layer.observe(Inside())

    watch = watch_fit(every=2, warn=False)
    spy = LambdaCallback(
        on_train_begin=begin,
        on_step_begin=lambda ctx: unpatched("on_step_begin"),
        on_after_backward=lambda ctx: unpatched("on_after_backward"),
        on_step_end=lambda ctx: unpatched("on_step_end"),
        on_train_end=lambda ctx: unpatched("on_train_end"),
    )
    model = Seq2Seq(hidden_size=4, epochs=2, batch_size=2, seed=0)
    model.fit(["ab", "ba", "aab", "bba"], ["ba", "ab", "baa", "abb"], callbacks=[watch, spy])
    assert len(layers) == 2  # the encoder's and the decoder's
    assert watch.monitor.record.steps == [1, 2, 4]  # of 4 steps: the first and every second
    assert any(monitored) and not all(monitored)  # observed on the recorded steps only
    assert all(layer.observers and all(isinstance(o, Inside) for o in layer.observers) for layer in layers)
    assert set(watch.monitor.record.saturation) == {"encoder.l0", "decoder.l0"}


def test_the_observer_base_is_public_in_rnnkit_nn():
    import rnnkit.nn

    assert "LayerObserver" in rnnkit.nn.__all__ and rnnkit.nn.LayerObserver is LayerObserver
