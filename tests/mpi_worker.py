"""Programs that tests/test_distributed.py runs alone and under ``mpiexec -n N``.

    python tests/mpi_worker.py CASE OUT        # writes OUT/model.npz and OUT/history.json (rank 0)

The program is the same in both runs; only the launcher differs. Cases:

    classifier-{rnn_tanh,lstm,gru}   SequenceClassifier on 21 variable-length sequences in
                                     float64, batch 5: ranks split 5 rows 3/2 and the last
                                     single-row batch 1/0 (an empty shard)
    tagger                           SequenceTagger (a per-token loss: uneven token shares)
    charlm                           CharLM, truncated BPTT (k1=4, k2=6), 3 streams split 2/1
    seq2seq, generator               Seq2Seq and SequenceGenerator, 7 pairs in batches of 3
    dropout                          a 2-layer LSTM with dropout: each rank its own masks
    awd                              CharLM with every AWD-LSTM regularizer: each rank its own masks
    nan                              rank 1 alone has a NaN loss in its third step
    kill                             rank 1 kills itself with SIGKILL in its third step
    raise                            rank 1 raises in its third step
    disagree                         the ranks hold different data
    disagree-text                    CharLM on a different text per rank (different vocabularies)
"""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path

import numpy as np

from rnnkit.distributed import world
from rnnkit.models import CharLM, Seq2Seq, SequenceClassifier, SequenceGenerator, SequenceTagger

TEXT = "the quick brown fox jumps over the lazy dog; pack my box with five dozen liquor jugs. " * 3


def sequences(seed: int = 0, n: int = 21):
    rng = np.random.default_rng(seed)
    X = [rng.normal(size=(int(rng.integers(3, 9)), 2)) for _ in range(n)]
    y = [int(x[:, 0].sum() > 0) for x in X]
    return X, y


def tagged(n: int = 13):
    rng = np.random.default_rng(1)
    words = ["a", "dog", "runs", "the", "cat", "sleeps", "fast", "home"]
    tags = {"a": "DET", "the": "DET", "dog": "N", "cat": "N", "home": "N", "runs": "V", "sleeps": "V", "fast": "A"}
    X = [[words[int(i)] for i in rng.integers(0, len(words), int(rng.integers(2, 9)))] for _ in range(n)]
    return X, [[tags[w] for w in s] for s in X]


def main(case: str, out: Path) -> None:
    w = world()
    common = dict(hidden_size=6, epochs=2, batch_size=5, seed=3, dtype="float64", lr=0.02)
    if case.startswith("classifier-"):
        X, y = sequences()
        vx, vy = sequences(seed=9, n=7)
        model = SequenceClassifier(cell=case.split("-", 1)[1], **common).fit(X, y, validation_data=(vx, vy))
    elif case == "tagger":
        X, y = tagged()
        model = SequenceTagger(cell="gru", embedding_dim=4, **common).fit(X, y)
    elif case == "charlm":
        model = CharLM(
            cell="lstm",
            hidden_size=8,
            embedding_dim=4,
            k1=4,
            k2=6,
            epochs=2,
            batch_size=3,
            seed=5,
            dtype="float64",
            lr=0.01,
        ).fit(TEXT, validation_data=TEXT[:40])
    elif case == "seq2seq":
        src = ["12+3", "4+56", "7+8", "90+1", "2+22", "33+4", "5+5"]
        tgt = [str(eval(s)) for s in src]
        model = Seq2Seq(
            cell="gru", hidden_size=6, embedding_dim=4, epochs=2, batch_size=3, seed=2, dtype="float64", lr=0.02
        ).fit(src, tgt)
    elif case == "generator":
        rng = np.random.default_rng(4)
        cond = ["up", "down", "up", "down", "up", "down", "up"]
        seqs = [np.cumsum(rng.normal(size=(int(rng.integers(3, 7)), 1)), 0) for _ in cond]
        model = SequenceGenerator(
            cell="lstm", hidden_size=6, epochs=2, batch_size=3, seed=2, dtype="float64", lr=0.02
        ).fit(cond, seqs)
    elif case in ("kill", "raise"):
        from rnnkit.train.callbacks import LambdaCallback

        def fault(ctx):
            if w.rank == 1 and ctx.step == 3:
                if case == "kill":
                    os.kill(os.getpid(), signal.SIGKILL)
                raise RuntimeError("a fault injected on rank 1")

        X, y = sequences()
        model = SequenceClassifier(cell="gru", **dict(common, epochs=50))
        model.fit(X, y, callbacks=[LambdaCallback(on_step_end=fault)])
    elif case == "dropout":
        from rnnkit.distributed import data_digest

        X, y = sequences()
        model = SequenceClassifier(cell="lstm", num_layers=2, dropout=0.3, recurrent_dropout=0.2, **common).fit(X, y)
        digests = w.gather(data_digest(model.net_.state_dict()))
        if w.is_root:
            (out / "digests.json").write_text(json.dumps(digests))
    elif case == "awd":
        from rnnkit.distributed import data_digest

        regs = dict(embedding_dropout=0.2, input_dropout=0.2, output_dropout=0.3, locked_dropout=True, dropout=0.2)
        regs.update(activation_reg=1.0, temporal_activation_reg=0.5, tie_weights=True)
        model = CharLM(hidden_size=6, embedding_dim=6, num_layers=2, k1=4, batch_size=3, epochs=2, seed=5, **regs)
        model.fit(TEXT)
        digests = w.gather(data_digest(model.net_.state_dict()))
        if w.is_root:
            (out / "digests.json").write_text(json.dumps(digests))
    elif case == "nan":
        from rnnkit.train import TrainingError
        from rnnkit.train.callbacks import Callback

        seen = {}

        class NanOnRank1(Callback):
            """Rank 1 alone sees a NaN loss in its third step (a fault injected into the network)."""

            def on_train_begin(self, ctx):
                self.trainer, net = ctx.trainer, ctx.trainer.model
                calls, inner = [0], net.loss_and_grad

                def loss_and_grad(batch):
                    calls[0] += 1
                    loss = inner(batch)
                    return float("nan") if w.rank == 1 and calls[0] == 3 else loss

                net.loss_and_grad = loss_and_grad

        X, y = sequences()
        model = SequenceClassifier(cell="gru", **common)
        injected = NanOnRank1()
        try:
            model.fit(X, y, callbacks=[injected])
        except TrainingError as exc:
            seen["error_step"] = exc.step
        seen["steps_done"] = injected.trainer.step
        everyone = w.gather(seen)
        if w.is_root:
            (out / "nan.json").write_text(json.dumps(everyone))
        return
    elif case == "disagree":
        X, y = sequences(seed=w.rank)
        model = SequenceClassifier(**common).fit(X, y)
    elif case == "disagree-text":
        text = ("abcdefgh " if w.rank == 0 else "abcdefxyz ") * 30
        model = CharLM(hidden_size=4, embedding_dim=3, k1=4, batch_size=2, epochs=1, seed=3).fit(text)
    else:
        raise SystemExit(f"unknown case {case!r}")
    model.save(out / "model.npz")  # rank 0 alone writes (the others return at once)
    h = model.history_
    record = {
        "size": w.size,
        "step_loss": h.steps["loss"],
        "epoch_loss": h["loss"],
        "val_loss": h["val_loss"] if "val_loss" in h.epochs[0] else None,
    }
    if w.is_root:
        (out / "history.json").write_text(json.dumps(record))


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]))
