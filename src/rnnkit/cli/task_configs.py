"""The configuration of each ``rnnkit train`` task: typed dataclasses whose fields are the
keys of ``--set``, the flags and the presets (the machinery that reads them is
:mod:`rnnkit.cli.options`). A task's own file may hold its config instead (``tasks/music.py``).

The training keys (optimizer, lr, weight_decay, epochs, batch_size, clip_norm, patience,
seed, dtype, on_divergence) are not written here: :func:`~rnnkit.cli.options.training_keys`
adds them from their declaration (:mod:`rnnkit.train.settings`), each task's defaults
those of the model class it trains (named, so that the models are not imported here)."""

from __future__ import annotations

import dataclasses

from ..nn.cells import CELLS
from .options import ConfigError, option, training_keys

# -- the configuration of each task ------------------------------------------------------
_CELLS = CELLS  # the registries themselves, read live: a cell registered later is offered
_FORMATS = ("text", "csv", "npz", "ts", "conllu", "tsv")


@dataclasses.dataclass
@training_keys()
class CommonConfig:
    """Keys every task has. ``data`` is a shipped set's name or a file path."""

    data: str = option("", "a data set name (rnnkit datasets) or a file path", group="data")
    format: str | None = option(None, "file format; none: from the extension", choices=_FORMATS, group="data")
    val_data: str | None = option(None, "a separate validation file (same format as data)", group="data")
    encoding: str = option("utf-8", "text encoding of the data files (e.g. latin-1, cp1252)", group="data")
    val_fraction: float = option(
        0.1, "share of the training data held out for validation", min=0.0, max=0.5, group="data"
    )
    data_size: int | None = option(
        None, "size of a generated set (sequences, steps or chars); none: the set's default", min=1, group="data"
    )
    cell: str = option("lstm", "recurrent cell", choices=_CELLS)
    hidden_size: int = option(64, "hidden units per layer and direction", min=1)
    num_layers: int = option(1, "stacked recurrent layers", min=1)
    dropout: float = option(0.0, "dropout between stacked layers", min=0.0, max=0.95)
    recurrent_dropout: float = option(0.0, "variational dropout on the recurrent state", min=0.0, max=0.95)


@dataclasses.dataclass
@training_keys("SequenceClassifier")  # SequenceRegressor shares its training defaults
class ClassifyConfig(CommonConfig):
    data: str = option("waveforms", "a data set name (rnnkit datasets) or a file path", group="data")
    id_column: str = option("seq_id", "CSV: the column naming each sequence", group="data")
    time_column: str = option("t", "CSV: the column ordering the steps (optional)", group="data")
    label_column: str = option("label", "CSV: the column with each sequence's label", group="data")
    objective: str = option(
        "auto",
        "classification, regression, or auto (numeric labels: regression)",
        choices=("auto", "classification", "regression"),
        group="run",
    )
    bidirectional: bool = option(False, "read sequences in both directions")
    pooling: str = option("last", "how steps become one vector", choices=("last", "mean", "max"))
    embedding_dim: int = option(32, "text (TSV) inputs: word embedding size", min=1)
    lowercase: bool = option(False, "text inputs: lowercase words before lookup")
    min_freq: int = option(1, "text inputs: words seen fewer times become UNK", min=1)
    word_dropout: float = option(
        0.0, "text inputs: replace training words by UNK with this probability", min=0.0, max=0.95
    )


@dataclasses.dataclass
@training_keys("SequenceTagger")
class TagConfig(CommonConfig):
    data: str = option("tiny-pos", "a data set name (rnnkit datasets) or a file path", group="data")
    bidirectional: bool = option(True, "read sentences in both directions")
    embedding_dim: int = option(64, "word embedding size", min=1)
    lowercase: bool = option(False, "lowercase words before lookup")
    min_freq: int = option(1, "words seen fewer times become UNK", min=1)
    word_dropout: float = option(0.0, "replace training words by UNK with this probability", min=0.0, max=0.95)
    affix_length: int = option(
        0,
        "also embed each word's prefixes and suffixes of 1..N letters (0: off); tags unseen words by their spelling",
        min=0,
    )
    word_shape: bool = option(False, "also embed each word's shape (capitals, digits: 'Xx', 'd.d')")
    feature_dim: int = option(32, "embedding size of the affix and shape features", min=1)


@dataclasses.dataclass
@training_keys("Seq2Seq", batch_size="pairs per batch")
class Seq2SeqConfig(CommonConfig):
    data: str = option("arithmetic", "a data set name (rnnkit datasets) or a file path", group="data")
    hidden_size: int = option(128, "hidden units per layer and direction", min=1)
    bidirectional: bool = option(False, "a bidirectional encoder")
    attention: bool = option(False, "the decoder attends over the encoder's outputs")
    embedding_dim: int = option(32, "token embedding size", min=1)
    reverse_source: bool = option(False, "feed the source reversed (Sutskever et al. 2014)")
    scheduled_sampling: float = option(0.0, "final rate of feeding the model's own predictions", min=0.0, max=1.0)
    beam_size: int = option(1, "beam width when decoding (1: greedy)", min=1)
    lr_schedule: str | None = option(
        None, "cosine: decay the learning rate to lr/20 over training; none: constant", choices=("cosine",)
    )


@dataclasses.dataclass
@training_keys("CharLM", batch_size="parallel streams through the text")
class CharLMConfig(CommonConfig):
    data: str = option("pydoc", "a data set name (rnnkit datasets) or a text file", group="data")
    hidden_size: int = option(128, "hidden units per layer", min=1)
    embedding_dim: int = option(32, "character embedding size", min=1)
    k1: int = option(64, "truncated BPTT: characters per chunk between updates", min=1)
    k2: int | None = option(None, "truncated BPTT: steps back-propagated (>= k1); none: k1", min=1)
    lr_schedule: str | None = option(
        None, "cosine: decay the learning rate to lr/20 over training; none: constant", choices=("cosine",)
    )
    sample_length: int = option(400, "characters sampled after training", min=0, group="run")
    temperature: float = option(0.7, "sampling temperature (lower: more conservative)", min=0.01, group="run")

    def validate(self) -> None:
        if self.k2 is not None and self.k2 < self.k1:
            raise ConfigError(
                f"k2: expected none or a value >= k1 = {self.k1}, got {self.k2}; "
                "hint: k2 is how far back each update looks, k1 how often it happens"
            )


@dataclasses.dataclass
@training_keys("Forecaster", batch_size="windows per batch")
class ForecastConfig(CommonConfig):
    data: str = option("mackey-glass", "a data set name (rnnkit datasets) or a CSV file", group="data")
    layout: str = option(
        "auto",
        "CSV layout: single (one series, its columns the features), "
        "long (id, date, value rows), wide (a column per series); auto: long "
        "with an id column, wide with several value columns",
        choices=("auto", "single", "long", "wide"),
        group="data",
    )
    id_column: str | None = option(
        None,
        "CSV long layout: the series id column; none: unique_id, id, series_id, series or item_id if present",
        group="data",
    )
    value_column: str | None = option(
        None,
        "CSV: the value column(s), comma-separated; none: every column but the id, date and covariates",
        group="data",
    )
    date_column: str | None = option(None, "CSV: the time-stamp column (or year,quarter); none: guessed", group="data")
    date_format: str | None = option(
        None,
        "CSV: how the time stamps are written, in strftime codes such as %d/%m/%Y or '%Y-%m-%d %H:%M'; "
        "none: inferred (ISO 8601, and the day/month order that steps evenly)",
        group="data",
    )
    fill: str | None = option(
        None,
        "fill missing dates (gaps): interpolate, ffill or zero; none: a gap is an error",
        choices=("interpolate", "ffill", "zero"),
        group="data",
    )
    past_covariates: str | None = option(
        None, "CSV: columns known only up to the forecast origin, comma-separated", group="data"
    )
    future_covariates: str | None = option(
        None, "CSV: columns known for the forecast steps too, comma-separated", group="data"
    )
    static_covariates: str | None = option(
        None, "CSV long layout: per-series constant columns, comma-separated", group="data"
    )
    test_fraction: float = option(
        0.2, "share at the end of each series held out for testing", min=0.0, max=0.5, group="data"
    )
    hidden_size: int = option(32, "hidden units per layer", min=1)
    window: int | None = option(
        None, "past steps the model reads for each forecast; none: 2 seasons (1 for periods over 24), else 24", min=1
    )
    horizon: int | None = option(
        None, "steps forecast per pass (direct) and scored per origin; none: the period, else 1", min=1
    )
    strategy: str = option(
        "direct",
        "multi-step forecasts: one head for horizon steps (blocks of them beyond), or feed one-step forecasts back",
        choices=("direct", "recursive"),
    )
    period: int | None = option(
        None, "season length; none: from the dates (monthly 12, quarterly 4, weekly 52, daily 7, hourly 24)", min=1
    )
    scaling: str = option(
        "series",
        "scaling: global, per-series standard, robust median/IQR, "
        "window (changes from the last value), instance (each window), none",
        choices=("global", "series", "robust", "window", "instance", "none"),
    )
    target_transform: str = option(
        "auto",
        "log, diff, seasonal_diff, deseason joined by '+', "
        "or none; auto: deseason when there is a period, then diff "
        "when the series wander",
    )
    loss: str = option(
        "mse",
        "mse (point forecasts), quantile (pinball loss), gaussian (likelihood, DeepAR-style)",
        choices=("mse", "quantile", "gaussian"),
    )
    quantiles: tuple[float, ...] = option(
        (0.025, 0.1, 0.5, 0.9, 0.975), "quantiles learnt with loss quantile (0.5 among them)", min=0.0, max=1.0
    )
    calendar: str | None = option(
        None,
        "calendar features as known-future covariates: auto "
        "(from the frequency) or month,quarter,dayofweek,hour,"
        "dayofyear; none: off",
    )
    num_samples: int = option(200, "sample paths for gaussian intervals (recursive)", min=1)
    ensemble: int = option(
        1,
        "networks trained side by side from different starts; the forecast is their mean (steadier on short series)",
        min=1,
    )
    plot_steps: int = option(100, "steps forecast from the test start for the plot", min=1, group="run")


@dataclasses.dataclass
@training_keys("SequenceGenerator")
class GenerateConfig(CommonConfig):
    data: str = option("waveforms", "a data set name (rnnkit datasets) or a file", group="data")
    id_column: str = option("seq_id", "CSV: the column naming each sequence", group="data")
    time_column: str = option("t", "CSV: the column ordering the steps (optional)", group="data")
    label_column: str = option("label", "CSV: the column with each sequence's condition", group="data")
    embedding_dim: int = option(32, "condition (and token) embedding size", min=1)
    sample_length: int = option(
        0, "steps to generate per condition after training; 0: the training length", min=0, group="run"
    )
    temperature: float = option(0.7, "sampling temperature for tokens", min=0.01, group="run")
