"""Quality benchmark: polyphonic music, Bach chorales, tanh RNN vs LSTM vs GRU.

The data is the chorale set that ships with rnnkit (``rnnkit.data.pianoroll.jsb_chorales``:
347 four-part chorales of music21's corpus, split by a hash of the piece name into 213
train / 63 valid / 71 test pieces), as quarter-note piano rolls over the 46 pitches the
set uses (MIDI 36..81). Each cell is given (nearly) the same number of parameters and the
same training (Adam, transposition by up to the preset's ``transpose`` semitones, early
stopping with the epoch of the best validation NLL kept), three seeds each by default, then
scored on the test pieces:

- NLL per frame: -log p(frame_t | frames_<t) in nats, summed over the test frames and
  divided by their number (the frame's notes are independent sigmoids given the past);
- frame-level accuracy TP / (TP + FP + FN) (Bay, Ehmann and Downie 2009) and F1, of the
  notes predicted for each frame (probability > 0.5) from the true frames before it.

Baselines: independent Bernoulli notes with the training frequency of each pitch (a
model without memory; NLL), and "the next frame repeats this one" (accuracy and F1).

Reference (the ordering, not the values, is comparable): Chung, Gulcehre, Cho and Bengio
2014, "Empirical Evaluation of Gated Recurrent Neural Networks on Sequence Modeling",
JSB Chorales test NLL: GRU 8.54, LSTM 8.67, tanh 8.82. Their data differs from this one:
the Boulanger-Lewandowski et al. 2012 JSB files (382 chorales split 229/76/77, a split of
their own), quarter-note frames over 88 piano keys (MIDI 21..108); here 347 chorales
(exact duplicates removed), a hash split, 46 pitches, and frames sampled at each quarter
beat from music21's MusicXML rather than their MIDI conversion. Pitches outside 36..81
never sound, so the extra 42 keys of an 88-key roll add almost nothing to their NLL.

Run from the repository root::

    OPENBLAS_NUM_THREADS=1 python benchmarks/music.py [--preset quick|default] [--cells gru,lstm,rnn_tanh] [--seeds 3]
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from rnnkit.data import music
from rnnkit.models.music_model import MusicModel, bay_scores, frequency_nll, repeat_scores

PRESETS = {
    # params: the parameter budget of every cell (the GRU's at H = 64 is about 27k)
    "quick": dict(params=27_000, epochs=200, lr=0.005, batch_size=8, transpose=3, patience=10),
    "default": dict(params=100_000, epochs=300, lr=0.003, batch_size=8, transpose=4, patience=15),
}
GATES = {"rnn_tanh": 1, "lstm": 4, "gru": 3}
CHUNG_2014 = {"gru": 8.54, "lstm": 8.67, "rnn_tanh": 8.82}
NAMES = {"rnn_tanh": "tanh RNN", "lstm": "LSTM", "gru": "GRU"}


def n_params(cell: str, hidden: int, n_in: int, n_out: int) -> int:
    g = GATES[cell] * hidden
    return g * (n_in + hidden + 2) + hidden * n_out + n_out


def hidden_for(cell: str, budget: int, n_in: int, n_out: int) -> int:
    """The hidden size whose parameter count is closest to ``budget``."""
    sizes = np.arange(1, 2000)
    counts = np.array([n_params(cell, int(h), n_in, n_out) for h in sizes])
    return int(sizes[np.argmin(np.abs(counts - budget))])


def fit_one(cell, hidden, cfg, seed, data):
    """Train one model; returns its row of numbers."""
    train, valid, test, low, high = data
    model = MusicModel(
        cell=cell,
        hidden_size=hidden,
        low=low,
        high=high,
        transpose=cfg["transpose"],
        epochs=cfg["epochs"],
        lr=cfg["lr"],
        batch_size=cfg["batch_size"],
        patience=cfg["patience"],
        seed=seed,
    )
    start = time.perf_counter()
    model.fit(train, validation_data=valid)
    seconds = time.perf_counter() - start
    scores = model.frame_scores(test)
    return dict(
        params=model.net_.num_parameters(),
        valid=min(e["val_loss"] for e in model.history_.epochs),
        test=model.evaluate(test),
        accuracy=scores["accuracy"],
        f1=scores["f1"],
        epochs=len(model.history_.epochs),
        seconds=seconds,
    )


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--preset", choices=sorted(PRESETS), default="quick")
    ap.add_argument("--cells", default="rnn_tanh,lstm,gru")
    ap.add_argument("--epochs", type=int, default=None, help="override the preset's epochs")
    ap.add_argument("--seeds", type=int, default=3, help="training runs per cell (seeds 0..N-1)")
    args = ap.parse_args(argv)
    cells = [c.strip() for c in args.cells.split(",") if c.strip()]
    bad = [c for c in cells if c not in GATES]
    if bad or args.seeds < 1:
        print(
            f"error: --cells: expected names among {', '.join(GATES)} and --seeds >= 1, got "
            f"{', '.join(bad) or args.seeds}",
            file=sys.stderr,
        )
        return 2
    cfg = dict(PRESETS[args.preset])
    if args.epochs is not None:
        cfg["epochs"] = args.epochs

    data = music.jsb_chorales()
    train, valid, test = (data.part(s).rolls(1) for s in music.SPLITS)
    low, high = data.pitch_range()
    P = high - low + 1
    print(
        f"JSB chorales (music21 corpus): {len(train)}/{len(valid)}/{len(test)} pieces, "
        f"{sum(map(len, test)):,} test frames, quarter-note frames, MIDI {low}..{high} ({P} pitches)"
    )
    print(f"preset {args.preset}: {cfg}, seeds 0..{args.seeds - 1}")

    rows = []
    for cell in cells:
        hidden = hidden_for(cell, cfg["params"], P + 1, P)
        runs = []
        for seed in range(args.seeds):
            runs.append(fit_one(cell, hidden, cfg, seed, (train, valid, test, low, high)))
            r = runs[-1]
            print(
                f"  {NAMES[cell]:<9} H={hidden:<4} seed {seed}: valid {r['valid']:.3f}  test {r['test']:.3f}  "
                f"accuracy {r['accuracy']:.3f}  {r['epochs']} epochs, {r['seconds']:.0f} s",
                flush=True,
            )
        mean = {k: float(np.mean([r[k] for r in runs])) for k in runs[0]}
        rows.append((NAMES[cell], hidden, runs[0]["params"], mean, [r["test"] for r in runs], CHUNG_2014[cell]))

    rep = repeat_scores(test, low, high)
    b_nll = frequency_nll(train, test, low, high)
    freq = np.concatenate(train)[:, low : high + 1].mean(axis=0)  # (P,) training frequencies
    b_scores = bay_scores(
        [np.broadcast_to(freq > 0.5, t[:, low : high + 1].shape) for t in test], [t[:, low : high + 1] for t in test]
    )
    print()
    print(
        f"| model | hidden | parameters | test NLL/frame, mean of {args.seeds} (each) | test accuracy (Bay) "
        "| test F1 | epochs | train time | Chung et al. 2014 NLL |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for name, h, n, m, each, ref in rows:
        print(
            f"| {name} | {h} | {n:,} | **{m['test']:.3f}** ({', '.join(f'{v:.3f}' for v in each)}) "
            f"| {m['accuracy']:.3f} | {m['f1']:.3f} | {m['epochs']:.0f} | {m['seconds']:.0f} s | {ref} |"
        )
    print(
        f"| independent Bernoulli (training note frequencies, highest {freq.max():.2f}) | | {P} | {b_nll:.3f} "
        f"| {b_scores['accuracy']:.3f} | {b_scores['f1']:.3f} | | | |"
    )
    print(f"| repeat the previous frame | | 0 | | {rep['accuracy']:.3f} | {rep['f1']:.3f} | | | |")
    order = sorted(rows, key=lambda r: r[3]["test"])
    print(
        "\nordering by mean test NLL here: "
        + " < ".join(r[0] for r in order)
        + "; Chung et al. 2014: GRU < LSTM < tanh RNN"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
