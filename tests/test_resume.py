"""Save and resume: bit-exact across processes, safe against SIGKILL, strict on mismatches."""

import importlib.util
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from rnnkit.train import Trainer
from rnnkit.train.bptt import TBPTT
from rnnkit.train.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from rnnkit.train.rngstate import rng_state

# The training script the tests run, in new processes and imported in this one.
SCRIPT = r'''
import argparse
import sys

import numpy as np

from rnnkit.train.checkpoint import save_checkpoint
from rnnkit.nn.losses import cross_entropy, mse
from rnnkit.nn.module import Module
from rnnkit.nn import LSTM, Embedding, Linear
from rnnkit.train import Trainer, TrainConfig, minibatches


class Net(Module):
    """Two LSTM layers with dropout and recurrent dropout, regression on the last step."""

    def __init__(self, hidden=8):
        super().__init__()
        self.rnn = self.add_module("rnn", LSTM(3, hidden, 2, dropout=0.25, recurrent_dropout=0.1, dtype="float64",
                                               rng=np.random.default_rng(0)))
        self.head = self.add_module("head", Linear(hidden, 1, dtype="float64", rng=np.random.default_rng(1)))

    def loss_and_grad(self, batch):
        X, y = batch
        out, _, rc = self.rnn.forward(X)
        pred, hc = self.head.forward(out[-1])
        loss, dpred = mse(pred, y)
        dout = np.zeros_like(out)
        dout[-1] = self.head.backward(dpred, hc)
        self.rnn.backward(dout, None, rc)
        return loss

    def evaluate_batch(self, batch):
        X, y = batch
        out, _, _ = self.rnn.forward(X)
        return mse(self.head.forward(out[-1])[0], y)[0] * y.size, y.size


class LM(Module):
    """A stream model for truncated BPTT, with recurrent dropout drawn from its own generator."""

    def __init__(self):
        super().__init__()
        rng = np.random.default_rng(2)
        self.embed = self.add_module("embed", Embedding(5, 4, dtype="float64", rng=rng))
        self.rnn = self.add_module("rnn", LSTM(4, 8, recurrent_dropout=0.2, dtype="float64", rng=rng))
        self.head = self.add_module("head", Linear(8, 5, dtype="float64", rng=rng))

    def init_state(self, B):
        return None

    def chunk_forward(self, x, y, state, loss_mask=None):
        e, ec = self.embed.forward(x)
        o, s, rc = self.rnn.forward(e, state)
        z, hc = self.head.forward(o)
        n = y.size if loss_mask is None else int(loss_mask.sum())
        if n == 0:
            return 0.0, 0, s, (ec, rc, hc, np.zeros_like(z))
        loss, dz = cross_entropy(z, y, mask=loss_mask)
        return loss * n, n, s, (ec, rc, hc, dz * n)

    def chunk_backward(self, cache, scale, dstate):
        ec, rc, hc, dz = cache
        de, ds = self.rnn.backward(self.head.backward(dz * scale, hc), dstate, rc)
        self.embed.backward(de, ec)
        return ds


_rng = np.random.default_rng(42)
X = _rng.normal(size=(6, 40, 3))
Y = np.tanh(X.sum(axis=(0, 2)))[:, None]
VAL = [(X[:, :16], Y[:16])]


def train_batches(epoch, rng):
    """A generator: batches are drawn lazily, in an order shuffled by the trainer's rng."""
    for idx in minibatches(40, 8, rng):
        yield X[:, idx], Y[idx]


def config(**kw):
    base = dict(epochs=6, optimizer="adamw", lr=1e-2, schedule="cosine", schedule_kwargs={"T_max": 9},
                schedule_interval="step", clip_norm=0.5, patience=2, seed=7, progress=False)
    base.update(kw)
    return TrainConfig(**base)


def snapshot(trainer):
    """Everything that must agree between an uninterrupted and a resumed run."""
    arrays = {"model." + k: v for k, v in trainer.model.state_dict().items()}
    arrays.update(("optimizer." + k, v) for k, v in trainer.optimizer.state_dict()["arrays"].items())
    arrays.update(("history." + k, np.asarray(v)) for k, v in trainer.history.steps.items())
    epochs = [{k: v for k, v in e.items() if k != "time"} for e in trainer.history.epochs]
    return arrays, {"step": trainer.step, "lr": trainer.optimizer.lr, "epochs": epochs}


def main(argv):
    p = argparse.ArgumentParser()
    p.add_argument("--steps", type=int, default=None)
    p.add_argument("--resume")
    p.add_argument("--save")
    p.add_argument("--out")
    p.add_argument("--checkpoint-every-step")
    a = p.parse_args(argv)
    if a.resume:
        trainer = Trainer.load(a.resume, Net())
    elif a.checkpoint_every_step:   # train "forever", replacing one checkpoint after every step
        trainer = Trainer(Net(), config(epochs=10**6, patience=None, checkpoint_every=1,
                                        checkpoint_path=a.checkpoint_every_step))
    else:
        trainer = Trainer(Net(), config())
    trainer.fit(train_batches, val=VAL, max_steps=a.steps)
    if a.save:
        trainer.save(a.save)
    if a.out:
        arrays, meta = snapshot(trainer)
        save_checkpoint(a.out, arrays, meta)


if __name__ == "__main__":
    main(sys.argv[1:])
'''


@pytest.fixture()
def script(tmp_path):
    path = tmp_path / "train_script.py"
    path.write_text(SCRIPT)
    spec = importlib.util.spec_from_file_location("train_script", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.path = path
    return module


def run(script, *args, cwd):
    proc = subprocess.run(
        [sys.executable, str(script.path), *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    return proc


def assert_same_run(a, b):
    arrays_a, meta_a = a
    arrays_b, meta_b = b
    assert sorted(arrays_a) == sorted(arrays_b)
    for k in arrays_a:
        np.testing.assert_array_equal(arrays_a[k], arrays_b[k], err_msg=k)
    assert meta_a == meta_b


def test_n_steps_save_load_in_a_new_process_n_more_equals_2n(script, tmp_path):
    n = 7  # 5 steps per epoch: the pause falls in mid-epoch
    run(script, "--steps", 2 * n, "--out", tmp_path / "full.ckpt", cwd=tmp_path)
    run(script, "--steps", n, "--save", tmp_path / "half.ckpt", cwd=tmp_path)
    run(script, "--resume", tmp_path / "half.ckpt", "--steps", 2 * n, "--out", tmp_path / "resumed.ckpt", cwd=tmp_path)
    full, resumed = load_checkpoint(tmp_path / "full.ckpt"), load_checkpoint(tmp_path / "resumed.ckpt")
    assert full[1]["step"] == 2 * n and len(full[1]["epochs"]) == 2
    assert_same_run(full, resumed)
    half = load_checkpoint(tmp_path / "half.ckpt")[0]
    assert not np.array_equal(half["model.head.weight"], full[0]["model.head.weight"])


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX signals")
def test_a_run_killed_while_checkpointing_leaves_a_loadable_checkpoint(script, tmp_path):
    ckpt = tmp_path / "live.ckpt"
    for delay in (0.0, 0.15, 0.4):
        ckpt.unlink(missing_ok=True)
        proc = subprocess.Popen(
            [sys.executable, str(script.path), "--checkpoint-every-step", str(ckpt)],
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            deadline = time.monotonic() + 60
            while not ckpt.exists():
                assert proc.poll() is None, proc.stderr.read().decode()
                assert time.monotonic() < deadline, "no checkpoint within 60 s"
                time.sleep(0.01)
            time.sleep(delay)
        finally:
            proc.kill()  # SIGKILL: no cleanup handlers run
            proc.wait()
            proc.stderr.close()
        assert proc.returncode == -signal.SIGKILL
        trainer = Trainer.load(ckpt, script.Net())
        assert trainer.step >= 1
        trainer.fit(script.train_batches, val=script.VAL, max_steps=trainer.step + 3)
        assert np.all(np.isfinite(trainer.model.state_dict()["head.weight"]))


def test_save_and_load_restore_every_piece_of_state(script, tmp_path):
    trainer = Trainer(script.Net(), script.config())
    trainer.fit(script.train_batches, val=script.VAL, max_steps=12)
    trainer.save(tmp_path / "t.ckpt")
    again = Trainer.load(tmp_path / "t.ckpt", script.Net())
    assert (again.step, again.epoch, again.batch_in_epoch) == (12, 2, 2)
    assert again.config == trainer.config
    assert_same_run(script.snapshot(again), script.snapshot(trainer))
    assert again.schedule.state_dict() == trainer.schedule.state_dict()
    assert rng_state(again.rng) == rng_state(trainer.rng)
    assert rng_state(again.model.rnn.rng) == rng_state(trainer.model.rnn.rng)
    stop_a, stop_b = again.all_callbacks[0], trainer.all_callbacks[0]
    assert (stop_a.best, stop_a.best_epoch, stop_a.wait) == (stop_b.best, stop_b.best_epoch, stop_b.wait)
    for k, v in stop_b.state_dict()["arrays"].items():
        np.testing.assert_array_equal(stop_a.state_dict()["arrays"][k], v)


def test_truncated_bptt_resumes_in_mid_stream_exactly(script, tmp_path):
    ids = np.random.default_rng(3).integers(0, 5, 4 * 61 + 1)

    def make():
        tb = TBPTT(script.LM(), 4, 10)
        return tb, (lambda epoch, rng: tb.stream(ids, 4))

    cfg = script.config(patience=None, schedule=None, schedule_kwargs={}, epochs=3)
    tb, batches = make()
    full = Trainer(tb, cfg)
    full.fit(batches, max_steps=23)  # 15 chunks per epoch: step 23 is in epoch 2
    tb, batches = make()
    first = Trainer(tb, cfg)
    first.fit(batches, max_steps=11)
    first.save(tmp_path / "s.ckpt")
    tb, batches = make()
    second = Trainer.load(tmp_path / "s.ckpt", tb)
    second.fit(batches, max_steps=23)
    assert_same_run(script.snapshot(full), script.snapshot(second))


def test_load_refuses_other_models_and_other_files(script, tmp_path):
    trainer = Trainer(script.Net(), script.config())
    trainer.fit(script.train_batches, max_steps=2)
    path = trainer.save(tmp_path / "t.ckpt")
    with pytest.raises(CheckpointError, match="saved from a Net, got a LM"):
        Trainer.load(path, script.LM())
    with pytest.raises(CheckpointError, match=r"cannot restore into this Net.*rnn.weight_ih_l0.*same sizes"):
        Trainer.load(path, script.Net(hidden=5))
    save_checkpoint(tmp_path / "m.ckpt", {"w": np.zeros(2)}, {"format": "rnnkit-model"})
    with pytest.raises(CheckpointError, match="expected 'rnnkit-trainer'"):
        Trainer.load(tmp_path / "m.ckpt", script.Net())
    with pytest.raises(CheckpointError, match="file not found"):
        Trainer.load(tmp_path / "missing.ckpt", script.Net())


def test_replaying_a_changed_epoch_is_refused(script, tmp_path):
    trainer = Trainer(script.Net(), script.config())
    trainer.fit(script.train_batches, max_steps=4)
    trainer.save(tmp_path / "t.ckpt")
    again = Trainer.load(tmp_path / "t.ckpt", script.Net())
    with pytest.raises(ValueError, match="epoch 0 has only 2 batches, but the run resumes after 4"):
        again.fit(lambda epoch, rng: list(script.train_batches(epoch, rng))[:2])
