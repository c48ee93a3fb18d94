"""Configuration (typed keys, presets, overrides), run folders, plots and gradcheck."""

import dataclasses
import json
import subprocess
import sys

import numpy as np
import pytest

from rnnkit.cli import options as cfg
from rnnkit.cli import task_configs as tc
from rnnkit.cli.gradcheck import check_layer
from rnnkit.cli.runs import Run, RunError
from rnnkit.cli.tasks import TASKS
from rnnkit.utils.atomic import write_text_atomic


# -- configuration -----------------------------------------------------------------------
def test_every_task_has_tiny_and_default_presets_that_resolve():
    for name, task in TASKS.items():
        presets = cfg.preset_names(name)
        assert "tiny" in presets and "default" in presets, name
        for preset in presets:
            config = cfg.resolve(task.config_class, name, preset_name=preset)
            assert isinstance(config, task.config_class)
            assert cfg.preset_description(name, preset), (name, preset)


def test_model_keys_are_hyper_parameters_of_the_task_model():
    """A config key in the "model" group that the model does not take would be dropped."""
    import importlib

    for name, task in TASKS.items():
        module = importlib.import_module(task.model_module)
        for model_name in task.model_names:
            params = set(getattr(module, model_name)().get_params(deep=False))
            keys = set(cfg.keys_in_group(task.config_class, "model"))
            missing = keys - params
            # bidirectional/embedding_dim/pooling exist only where the model has them
            assert missing <= {"bidirectional", "embedding_dim", "pooling"}, (name, missing)


def test_values_are_parsed_and_checked_by_type():
    C = tc.ForecastConfig
    assert cfg.coerce(C, "hidden_size", "12") == 12
    assert cfg.coerce(C, "hidden-size", 12) == 12  # dashes as in the flags
    assert cfg.coerce(C, "lr", "1e-3") == 0.001
    assert cfg.coerce(C, "lr", 1) == 1.0  # an int for a float is fine
    assert cfg.coerce(C, "period", "none") is None
    assert cfg.coerce(C, "clip_norm", None) is None
    assert cfg.coerce(tc.TagConfig, "lowercase", "yes") is True
    for key, bad in [
        ("hidden_size", "1.5"),
        ("hidden_size", True),
        ("hidden_size", 2.0),
        ("lr", "fast"),
        ("lr", "nan"),
        ("cell", 3),
        ("batch_size", "none"),
    ]:
        with pytest.raises(cfg.ConfigError, match=key.replace("_", "_")):
            cfg.coerce(C, key, bad)
    with pytest.raises(cfg.ConfigError, match="expected a value >= 1, got 0"):
        cfg.coerce(C, "window", 0)
    with pytest.raises(cfg.ConfigError, match="unknown key 'widow'; did you mean 'window'"):
        cfg.coerce(C, "widow", 3)
    # the key is named once: a command-line source names it already, a file does not
    for source, where in [("--set lr", "--set lr"), ("--lr", "--lr"), ("--set hidden-size", "--set hidden-size")]:
        key = source.rsplit(" ", 1)[-1].lstrip("-")
        with pytest.raises(cfg.ConfigError) as err:
            cfg.coerce(C, key, -1, source=source)
        assert str(err.value).startswith(f"{where}: expected"), str(err.value)
    with pytest.raises(cfg.ConfigError, match=r"^run\.toml: lr: expected a value > 0"):
        cfg.coerce(C, "lr", -1, source="run.toml")


def test_layers_apply_in_order_and_unknown_keys_in_files_are_refused(tmp_path):
    (tmp_path / "mine.toml").write_text('hidden_size = 7\ncell = "gru"\n')
    config = cfg.resolve(
        tc.TagConfig,
        "tag",
        preset_name="tiny",
        files=[tmp_path / "mine.toml"],
        overrides=[("hidden_size", "9", "--hidden-size")],
    )
    assert (config.hidden_size, config.cell, config.epochs) == (9, "gru", 1)
    (tmp_path / "bad.toml").write_text("hidden = 7\n")
    with pytest.raises(cfg.ConfigError, match="unknown key 'hidden'.*valid keys: data, format"):
        cfg.resolve(tc.TagConfig, "tag", files=[tmp_path / "bad.toml"])
    (tmp_path / "other.toml").write_text('task = "forecast"\n')
    with pytest.raises(cfg.ConfigError, match="written for task 'forecast', not 'tag'"):
        cfg.resolve(tc.TagConfig, "tag", files=[tmp_path / "other.toml"])
    (tmp_path / "broken.toml").write_text("hidden_size = \n")
    with pytest.raises(cfg.ConfigError, match="not valid TOML"):
        cfg.resolve(tc.TagConfig, "tag", files=[tmp_path / "broken.toml"])


@pytest.mark.parametrize("name", list(TASKS))
def test_saved_toml_round_trips_exactly(tmp_path, name):
    cls = TASKS[name].config_class
    config = cfg.resolve(
        cls,
        name,
        preset_name="tiny",
        overrides=[("clip_norm", "none", "x"), ("lr", "0.00123", "x"), ("data", 'a "quoted" path\\x.txt', "x")],
    )
    path = write_text_atomic(tmp_path / "c.toml", cfg.to_toml(config, name, "a header\nof two lines"))
    assert cfg.resolve(cls, name, files=[path]) == config


# -- run folders -------------------------------------------------------------------------
def test_run_folder_files_are_written_atomically(tmp_path):
    run = Run.create("tag", tmp_path / "r")
    config = tc.TagConfig()
    run.write_config(config, "tag")
    run.write_metrics(
        [{"epoch": 1, "loss": 0.5}, {"epoch": 2, "loss": 0.25, "val_loss": float("nan")}],
        {"loss": [1.0, 0.5]},
        {"model": 0.9},
    )
    assert sorted(p.name for p in run.path.iterdir()) == [
        "config.json",
        "config.toml",
        "metrics.csv",
        "metrics.json",
        "plots",
        "run.json",
    ]
    assert (run.path / "metrics.csv").read_text() == "epoch,loss,val_loss\n1,0.5,\n2,0.25,nan\n"
    metrics = json.loads((run.path / "metrics.json").read_text())
    assert metrics["epochs"][1]["val_loss"] is None  # strict JSON: NaN becomes null
    assert Run.open(run.path, tasks=("tag",)).read_config() == cfg.to_dict(config)
    with pytest.raises(RunError, match="is a tag run; rnnkit generate needs a charlm run"):
        Run.open(run.path, tasks=("charlm",), command="rnnkit generate")
    with pytest.raises(RunError, match="not a run folder"):
        Run.open(tmp_path)


def test_a_failed_write_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    import os

    target = write_text_atomic(tmp_path / "f.txt", "old")

    def broken(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken)
    with pytest.raises(OSError, match="disk full"):
        write_text_atomic(target, "new")
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["f.txt"]


# -- importing stays cheap ---------------------------------------------------------------
def test_importing_the_cli_loads_no_optional_package():
    code = (
        "import sys, rnnkit, rnnkit.cli, rnnkit.cli.options, rnnkit.cli.runs, rnnkit.utils.plots\n"
        "from rnnkit.cli import build_parser; build_parser()\n"
        "bad = [m for m in ('matplotlib', 'torch', 'sklearn') if m in sys.modules]\n"
        "print(bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


# -- plots -------------------------------------------------------------------------------
def test_each_plot_writes_a_png(tmp_path):
    pytest.importorskip("matplotlib", reason="plots need matplotlib")
    from rnnkit.utils import plots

    paths = [
        plots.loss_curves(
            [{"epoch": 1, "loss": 1.0, "val_loss": 1.2}, {"epoch": 2, "loss": 0.5}],
            {"loss": [1.2, 0.9, 0.6, 0.4]},
            tmp_path / "loss.png",
        ),
        plots.forecast_plot(
            np.arange(30.0), np.arange(30.0, 35.0), {"model": np.arange(30.0, 35.0)}, tmp_path / "f.png"
        ),
        plots.confusion_plot(np.array([[3, 1], [0, 4]]), ["a", "b"], tmp_path / "c.png"),
        plots.text_image("hello\nworld", tmp_path / "t.png"),
        plots.series_plot({"a": np.sin(np.arange(20.0))}, tmp_path / "s.png"),
    ]
    for path in paths:
        assert path.read_bytes()[:4] == b"\x89PNG"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.png", "f.png", "loss.png", "s.png", "t.png"]


# -- gradcheck ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "cell, kw",
    [
        ("lstm", dict(num_layers=2, bidirectional=True, lengths=[4, 2, 1], steps=4)),
        ("gru", dict(batch_first=True, lengths=[3, 1])),
        ("rnn_relu", dict(bias=False, steps=3)),
    ],
)
def test_gradcheck_passes_on_correct_layers(cell, kw):
    results = check_layer(cell, hidden_size=3, input_size=2, **kw)
    names = {r.name for r in results}
    assert {"input", "h0", "weight_ih_l0", "weight_hh_l0"} <= names
    assert ("c0" in names) == (cell == "lstm")
    assert max(r.rel_error for r in results) < 1e-6


def test_gradcheck_catches_a_wrong_backward(monkeypatch):
    """The check can fail: a backward whose weight gradient is 1% off is reported."""
    from rnnkit.nn import GRU

    original = GRU.backward

    def off_by_one_percent(self, dout, dstate, cache):
        out = original(self, dout, dstate, cache)
        self.grads["weight_hh_l0"] *= 1.01
        return out

    monkeypatch.setattr(GRU, "backward", off_by_one_percent)
    results = {r.name: r.rel_error for r in check_layer("gru", hidden_size=3, input_size=2, steps=3)}
    assert results["weight_hh_l0"] > 1e-3 and results["weight_ih_l0"] < 1e-6


def test_gradcheck_command_exit_codes(capsys):
    from rnnkit.cli import main

    assert main(["gradcheck", "--cell", "lstm", "--hidden", "2", "--steps", "3"]) == 0
    out = capsys.readouterr().out
    assert "PASS: worst relative error" in out and "weight_hh_l0" in out and "c0" in out
    assert main(["gradcheck", "--cell", "rnn", "--hidden", "2", "--steps", "2", "--tol", "1e-30"]) == 1
    assert "FAIL: worst relative error" in capsys.readouterr().out


def test_every_task_config_field_has_help_and_a_group():
    for task in TASKS.values():
        for f in dataclasses.fields(task.config_class):
            assert f.metadata.get("help") and f.metadata.get("group") in ("model", "data", "run"), f.name


def test_atomic_writes_get_the_mode_a_plain_open_would(tmp_path):
    import os

    from rnnkit.utils.atomic import write_bytes_atomic

    umask = os.umask(0o022)
    try:
        path = write_bytes_atomic(tmp_path / "f.bin", b"data")
    finally:
        os.umask(umask)
    assert path.read_bytes() == b"data"
    assert oct(path.stat().st_mode & 0o777) == oct(0o644)
    assert [p.name for p in tmp_path.iterdir()] == ["f.bin"]  # no temporary file left behind


def test_a_forecast_plot_with_dates_draws_them_on_its_x_axis(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib", reason="plots need matplotlib")
    from rnnkit.utils import plots

    figures = []
    monkeypatch.setattr(plots, "_save", lambda fig, path: figures.append(fig) or path)
    dates = np.datetime64("2020-01", "M") + np.arange(35)
    plots.forecast_plot(np.arange(30.0), None, {"model": np.arange(30.0, 35.0)}, tmp_path / "d.png", dates=dates)
    plots.forecast_plot(np.arange(30.0), None, {"model": np.arange(30.0, 35.0)}, tmp_path / "n.png")
    with_dates, without = (f.axes[0] for f in figures)
    assert with_dates.get_xlabel() == "date" and without.get_xlabel() == "time step"
    history = with_dates.get_lines()[0].get_xdata()
    assert np.asarray(history).dtype.kind == "M" and np.asarray(history)[-1] == dates[29]
    assert np.asarray(with_dates.get_lines()[1].get_xdata())[0] == dates[30]  # the forecast starts after the last value
