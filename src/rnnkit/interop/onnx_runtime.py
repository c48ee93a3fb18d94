"""A fitted model's ``predict`` run by onnxruntime instead of rnnkit's forward.

``OnnxPredictor(model)`` exports the model's network (:func:`rnnkit.interop.to_onnx`, in
memory), opens one onnxruntime session per graph and keeps the model's own pre- and
post-processing (vocabularies, classes, scalers, padding, greedy and beam search), so
its ``predict`` (and ``predict_proba`` where the model has one) answer as the model's,
to float32 rounding. ``rnnkit predict RUN --engine onnxruntime`` uses it.
Covered: SequenceClassifier, SequenceRegressor, SequenceTagger, Seq2Seq.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Self

import numpy as np

from ..models import BaseEstimator, Seq2Seq, SequenceClassifier, SequenceRegressor, SequenceTagger
from ..models._data import batch_indices, pad_ids
from ..models._inputs import XLike
from ..models.decoding import beam_search, check_beam_size, check_length_penalty, check_max_len, greedy_decode
from ._exporter import require
from .onnx_models import model_graphs


class OnnxPredictor:
    """``predict`` / ``predict_proba`` of ``model`` through onnxruntime (CPU)."""

    def __init__(self, model: BaseEstimator, *, batch_size: int = 256) -> None:
        onnx = require("onnx", "OnnxPredictor", "onnx")
        ort = require("onnxruntime", "OnnxPredictor", "onnx")
        if not isinstance(model, (SequenceClassifier, SequenceRegressor, SequenceTagger, Seq2Seq)):
            raise TypeError(
                f"model: onnxruntime prediction covers SequenceClassifier, SequenceRegressor, "
                f"SequenceTagger and Seq2Seq, got {type(model).__name__}"
            )
        opts = ort.SessionOptions()
        opts.log_severity_level = 3
        self.model, self.batch_size = model, int(batch_size)
        self.sessions = {
            part: ort.InferenceSession(m.SerializeToString(), opts, providers=["CPUExecutionProvider"])
            for part, m in model_graphs(onnx, model).items()
        }
        for name in ("classes_", "input_kind_", "n_features_in_", "vocab_"):
            if hasattr(model, name):
                setattr(self, name, getattr(model, name))

    def set_params(self, **params: Any) -> Self:
        self.model.set_params(**params)
        return self

    # -- many-to-one and tagging ------------------------------------------------------------
    def _outputs(self, X: XLike, output: str) -> list[np.ndarray]:
        """One named graph output per sequence: (K,) or, per step, (T_i, K)."""
        m, sess = self.model, self.sessions[""]
        assert not isinstance(m, Seq2Seq)  # its predict decodes (see _decode)
        inputs = m._encode_inputs(X, fit=False)
        order = np.argsort([len(s) for s in inputs], kind="stable")  # little padding
        results: list = [None] * len(inputs)
        for idx in batch_indices(len(inputs), self.batch_size):
            rows = order[idx]
            batch = m._batch(inputs, rows)
            x = np.swapaxes(batch.inputs, 0, 1)  # batch-first
            if x.dtype != np.int64:
                x = x.astype(np.float32)
            (y,) = sess.run([output], {"input": np.ascontiguousarray(x), "lengths": batch.lengths.astype(np.int32)})
            for j, r in enumerate(rows):
                results[r] = y[j] if y.ndim == 2 else y[j, : batch.lengths[j]]
        return [r.astype(np.float64) for r in results]

    @property
    def predict_proba(self) -> Callable[[XLike], np.ndarray | list[np.ndarray]]:
        """The model's ``predict_proba`` through onnxruntime: (N, K) for a classifier, one
        (T_i, K) array per sentence for a tagger. A regressor or a Seq2Seq has none, so this
        raises AttributeError and ``hasattr(predictor, "predict_proba")`` is False, as it is
        for the model itself."""
        if not isinstance(self.model, (SequenceClassifier, SequenceTagger)):
            raise AttributeError(
                f"predict_proba: {type(self.model).__name__} has no class probabilities; "
                "hint: only a SequenceClassifier or a SequenceTagger has predict_proba"
            )
        return self._predict_proba

    def _predict_proba(self, X):
        proba = self._outputs(X, "probabilities")
        return proba if isinstance(self.model, SequenceTagger) else np.stack(proba)

    def predict(self, X: XLike, **kwargs: Any) -> np.ndarray | list:
        m = self.model
        if isinstance(m, Seq2Seq):
            return self._decode(X, **kwargs)
        if isinstance(m, SequenceClassifier):
            return m.classes_[np.argmax(self._predict_proba(X), axis=-1)]
        if isinstance(m, SequenceTagger):
            return [m.classes_[np.argmax(p, axis=-1)].tolist() for p in self._predict_proba(X)]
        outs = self._outputs(X, "prediction")  # target units already
        if m.y_ndim_ == 1:
            outs = [o[..., 0] for o in outs]
        return outs if m.pooling == "none" else np.stack(outs)

    # -- seq2seq: the model's decoding around two sessions -----------------------------------
    def _decode(self, sources, *, beam_size=None, max_len=None, length_penalty=None):
        m = self.model
        K = check_beam_size(m.beam_size if beam_size is None else beam_size)
        alpha = check_length_penalty(m.length_penalty if length_penalty is None else length_penalty)
        default_len = m.max_len if m.max_len is not None else 2 * m.max_target_len_ + 2
        max_len = check_max_len(default_len if max_len is None else max_len)
        enc, dec = self.sessions["encoder"], self.sessions["decoder"]
        enc_names = [o.name for o in enc.get_outputs()]
        dec_state = [i.name for i in dec.get_inputs()][1:]  # h[, c][, memory, keys, lengths]
        n_rec = len([n for n in dec_state if n in ("h", "c")])

        def step(tokens, state):
            feeds = {"token": np.asarray(tokens, np.int64)}
            for name, value in zip(dec_state, state, strict=False):
                feeds[name] = value[0] if name == "source_lengths" else value  # kept (1, R): rows on axis 1
            logits, *new = dec.run(None, feeds)
            return logits, tuple(new) + tuple(state[n_rec:])

        src_ids, out, V = m._encode_sources(sources), [], m.tgt_vocab_
        for start in range(0, len(src_ids), m.batch_size):
            src, src_len = pad_ids(src_ids[start : start + m.batch_size])
            lens = src_len.astype(np.int32)
            named = dict(
                zip(
                    enc_names,
                    enc.run(None, {"source": np.ascontiguousarray(src.T), "source_lengths": lens}),
                    strict=False,
                )
            )
            named["source_lengths"] = lens[None]
            state = tuple(named[n] for n in dec_state)
            n = src.shape[1]
            if K == 1:
                seqs, _ = greedy_decode(step, state, n, bos=V.bos_id, eos=V.eos_id, max_len=max_len)
            else:
                seqs, _ = beam_search(
                    step, state, n, bos=V.bos_id, eos=V.eos_id, max_len=max_len, beam_size=K, length_penalty=alpha
                )
            for s in seqs:
                toks = V.decode(s)
                out.append("".join(map(str, toks)) if m.target_is_text_ else toks)
        return out
