"""Experiments (smoke sizes), the monitor attached to other loops, and the diagnose/experiment commands."""

import json
import math

import numpy as np
import pytest

from rnnkit.cli import main
from rnnkit.diagnostics import attach, decay_ratio, detach, spectral_radius, watch_fit
from rnnkit.experiments import EXPERIMENTS, describe, get_config, run_experiment
from rnnkit.experiments._nets import CharFeedForward, CharRNN, LastStepRegressor
from rnnkit.experiments._tasks import words_batch
from rnnkit.experiments.neuron import memoryless_optimum
from rnnkit.experiments.weight_scaling import _build


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_every_experiment_runs_at_smoke_size(name, tmp_path):
    result = run_experiment(name, tmp_path, smoke=True, plots=False)
    folder = tmp_path / name
    assert result.folder == folder and result.rows
    saved = json.loads((folder / "results.json").read_text())
    assert saved["experiment"] == name and len(saved["rows"]) == len(result.rows)
    expected = {**describe(name)["settings"], **describe(name)["smoke"], "plots": False}
    assert saved["config"] == json.loads(json.dumps(expected))
    csv_lines = (folder / "table.csv").read_text().strip().splitlines()
    assert len(csv_lines) == 1 + len(result.rows)
    assert (folder / "table.md").read_text().count("\n|") >= len(result.rows) + 1


def test_weight_scaling_sets_the_spectral_radius_and_orders_the_decay(tmp_path):
    cfg = get_config("weight-scaling", smoke=True)
    for scale in (0.5, 1.5):
        net = _build(cfg, scale, np.random.default_rng(0))
        W = net.parameters()["rnn.weight_hh_l0"]
        assert spectral_radius(W) == pytest.approx(scale, rel=1e-5)
        assert np.allclose(W.T @ W, scale**2 * np.eye(W.shape[0]), atol=1e-5)  # scale x orthogonal
    result = run_experiment(
        "weight-scaling", tmp_path, smoke=True, plots=False, overrides={"scales": "0.3,1,3", "T": 12}
    )
    ratios = [r["decay ratio at init"] for r in result.rows]
    assert ratios[0] < 1e-3 < ratios[1] < ratios[2]  # below 1 vanishes, above grows
    saved = json.loads((tmp_path / "weight-scaling" / "results.json").read_text())
    profile = np.array(saved["curves"]["profile_init"]["0.3"], dtype=float)
    assert ratios[0] == pytest.approx(decay_ratio(profile))


def test_neuron_memoryless_optimum_by_hand():
    inputs, targets, vocab = words_batch(["neuron"])
    assert "".join(vocab[i] for i in inputs[0]) == "^neuron"
    assert "".join(vocab[i] for i in targets[0]) == "neuron$"
    acc, nats = memoryless_optimum(inputs, targets)
    # 7 transitions; only "n" is ambiguous (-> "e" once, -> "$" once): H = 2/7 ln 2
    assert acc == pytest.approx(6 / 7)
    assert nats == pytest.approx(2 / 7 * math.log(2))


def test_feed_forward_cannot_beat_the_memoryless_bound_but_an_rnn_can(tmp_path):
    result = run_experiment(
        "neuron", tmp_path, plots=False, overrides={"models": "feedforward,rnn_tanh", "steps": 150, "hidden_size": 8}
    )
    rows = {r["model"]: r for r in result.rows}
    bound = rows["best memoryless: p(next given current)"]
    assert rows["feedforward"]["nats per char"] >= bound["nats per char"] - 1e-9
    assert rows["feedforward"]["accuracy"] <= bound["accuracy"] + 1e-12
    assert rows["rnn_tanh"]["accuracy"] == 1.0
    assert rows["rnn_tanh"]["nats per char"] < bound["nats per char"] / 4


def test_probe_nets_gradients_match_finite_differences():
    from gradcheck_util import numeric_grad, rel_error

    rng = np.random.default_rng(0)
    inputs, targets, vocab = words_batch(["neuron", "net"])
    nets = [
        LastStepRegressor("gru", 2, 3, dtype="float64", rng=rng),
        CharRNN("lstm", len(vocab), 3, dtype="float64", rng=rng),
        CharFeedForward(len(vocab), 3, dtype="float64", rng=rng),
    ]
    batches = [(rng.standard_normal((2, 4, 2)), rng.standard_normal((2, 1))), (inputs, targets), (inputs, targets)]
    for net, batch in zip(nets, batches, strict=False):
        net.zero_grad()
        net.loss_and_grad(batch)
        for name, p, g in net.named_parameters():
            num = numeric_grad(lambda net=net, batch=batch: np.divide(*net.evaluate_batch(batch)), p)
            assert rel_error(g, num) < 1e-6, (type(net).__name__, name)


def test_overrides_are_checked():
    with pytest.raises(ValueError, match="bogus: not a setting of this experiment; valid settings:"):
        get_config("init", overrides={"bogus": "1"})
    with pytest.raises(ValueError, match=r"T: expected a value like 100, got 'x'"):
        get_config("init", overrides={"T": "x"})
    with pytest.raises(ValueError, match="name: expected one of"):
        get_config("nope")
    assert get_config("weight-scaling", overrides={"scales": "1,2.5"}).scales == (1.0, 2.5)


# -- the monitor on other training loops --------------------------------------------------
def test_attach_records_every_nth_call_and_measures_the_last_update():
    from rnnkit.optim import SGD

    rng = np.random.default_rng(1)
    net = LastStepRegressor("rnn_tanh", 2, 4, dtype="float64", rng=rng)
    batch = (rng.standard_normal((3, 5, 2)), rng.standard_normal((3, 1)))
    monitored = attach(net, every=2, first=False, warn=False)
    mon = monitored.monitor
    with pytest.raises(ValueError, match="net: already monitored"):
        attach(monitored)
    opt = SGD(monitored, lr=0.1)  # the wrapper hands out the network's parameters
    before = net.state_dict()
    for _ in range(4):
        monitored.zero_grad()
        monitored.loss_and_grad(batch)
        assert "loss_and_grad" not in vars(net)  # nothing is set on the network
        opt.step()
    assert detach(monitored) is mon and monitored.calls == 4
    assert not np.array_equal(net.state_dict()["rnn.weight_hh_l0"], before["rnn.weight_hh_l0"])
    with pytest.raises(ValueError, match="net: the monitor was detached"):
        monitored.loss_and_grad(batch)
    assert mon.record.steps == [2, 4] and mon.record.all_steps == [1, 2, 3, 4]
    assert len(mon.record.update_ratios["rnn.weight_hh_l0"]) == 2  # step 4's measured by detach
    assert mon.record.flow.matrix("rnn.h_l0")[1].shape == (2, 5)


def test_watch_fit_on_an_estimator(tmp_path):
    from rnnkit.models import SequenceRegressor

    rng = np.random.default_rng(2)
    X = [rng.standard_normal((int(n), 2)) for n in rng.integers(3, 7, size=24)]
    y = np.array([x[:, 0].sum() for x in X])
    model = SequenceRegressor(cell="gru", hidden_size=4, epochs=2, batch_size=8, seed=0)
    watch = watch_fit(every=2, warn=False)
    model.fit(X, y, callbacks=[watch])
    assert "_train" not in vars(model) and watch.monitor.module is model.net_
    rec = watch.monitor.record
    assert rec.steps[0] == 1 and len(rec.all_steps) == 6 and rec.flow.keys()
    out = watch.monitor.write_report(tmp_path / "r", plots=False)
    assert json.loads((out / "summary.json").read_text())["steps_seen"] == 6


# -- the commands -------------------------------------------------------------------------
def test_experiment_command(tmp_path, capsys):
    assert main(["experiment", "neuron", "--smoke", "--no-plots", "--out", str(tmp_path), "-q"]) == 0
    out = capsys.readouterr().out
    assert "| feedforward |" in out and (tmp_path / "neuron" / "table.md").is_file()
    assert main(["experiment", "--list"]) == 0
    assert "weight-scaling" in capsys.readouterr().out
    assert main(["experiment", "neurons"]) == 2
    assert "unknown name 'neurons'" in capsys.readouterr().err
    assert main(["experiment", "init", "--set", "bogus=1"]) == 2
    assert "bogus: not a setting" in capsys.readouterr().err


def test_diagnose_command_probe(tmp_path, capsys):
    out = tmp_path / "rep"
    code = main(
        [
            "diagnose",
            "--cell",
            "rnn_tanh",
            "-T",
            "25",
            "--hidden-size",
            "8",
            "--steps",
            "3",
            "--every",
            "2",
            "--init",
            "orthogonal",
            "--scale",
            "0.3",
            "--out",
            str(out),
            "--no-plots",
            "-q",
        ]
    )
    assert code == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["verdict"] == "problems found: vanishing" and summary["steps_recorded"] == 2
    assert "vanishing at rnn.h_l0" in capsys.readouterr().out
    assert main(["diagnose", "--every", "0"]) == 2
    assert main(["diagnose", "--data", "x.csv"]) == 2
    assert "only with --task or --run" in capsys.readouterr().err


def test_diagnose_command_on_a_task(tmp_path):
    from rnnkit.cli.tasks import TASKS

    if "classify" not in TASKS:
        pytest.skip("the classify task is not installed")
    out = tmp_path / "task"
    assert (
        main(
            [
                "diagnose",
                "--task",
                "classify",
                "--preset",
                "tiny",
                "--every",
                "3",
                "--out",
                str(out),
                "--no-plots",
                "-q",
            ]
        )
        == 0
    )
    summary = json.loads((out / "summary.json").read_text())
    assert summary["steps_seen"] > 0 and summary["gradient_flow"]


def test_diagnose_cells_of_a_char_model(tmp_path, capsys):
    from rnnkit.models import CharLM

    text = 'print("a", (b + c))\n' * 30
    model = CharLM(cell="lstm", hidden_size=6, embedding_dim=4, k1=10, epochs=1, batch_size=2, seed=0).fit(text)
    model.save(tmp_path / "m.npz")
    assert (
        main(
            [
                "diagnose",
                "--cells",
                str(tmp_path / "m.npz"),
                "--text",
                text[:60],
                "--top",
                "3",
                "--out",
                str(tmp_path / "cells"),
                "-q",
            ]
        )
        == 0
    )
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3 and all(line.startswith("cell ") for line in lines)
    ranking = json.loads((tmp_path / "cells" / "cells.json").read_text())["ranking"]
    assert [abs(r["correlation"]) for r in ranking] == sorted((abs(r["correlation"]) for r in ranking), reverse=True)
    page = (tmp_path / "cells" / "cells.html").read_text()
    assert page.count('title="') == 3 * 60 and "http" not in page
    assert main(["diagnose", "--cells", str(tmp_path / "m.npz")]) == 2


def test_experiment_plots(tmp_path):
    pytest.importorskip("matplotlib", reason="experiment plots need matplotlib")
    for name in ("neuron",):  # bars and lines; the report tests draw the other kinds
        result = run_experiment(name, tmp_path, smoke=True)
        assert result.plots
        for png in result.plots:
            assert (tmp_path / name / png).read_bytes()[:4] == b"\x89PNG", png


def test_regularization_ablation_runs_none_all_and_each_left_out(tmp_path):
    from rnnkit.experiments.regularization import arms, parse_regularizers

    cfg = get_config("regularization", smoke=True, overrides={"regularizers": "weight_drop=0.3,tie_weights=true"})
    assert arms(cfg) == {
        "none": {},
        "all": {"weight_drop": 0.3, "tie_weights": True},
        "all - weight_drop": {"tie_weights": True},
        "all - tie_weights": {"weight_drop": 0.3},
    }
    with pytest.raises(ValueError, match="name=value"):
        parse_regularizers(("weight_drop",))
    with pytest.raises(ValueError, match="twice"):
        parse_regularizers(("ar=1", "ar=2"))
    result = run_experiment("regularization", tmp_path, smoke=True, plots=False, overrides=dataclasses_asdict(cfg))
    rows = {r["run"]: r for r in result.rows}
    assert list(rows) == ["none", "all", "all - weight_drop", "all - tie_weights"]
    for r in rows.values():
        assert r["gap"] == pytest.approx(r["val loss"] - r["train loss"])
        assert r["val - all's val"] == pytest.approx(r["val loss"] - rows["all"]["val loss"])
    assert rows["none"]["val loss"] != rows["all"]["val loss"]  # the regularizers changed the training


def dataclasses_asdict(cfg):
    import dataclasses

    return {k: v for k, v in dataclasses.asdict(cfg).items() if k != "plots"}


def test_regularization_experiment_refuses_an_unknown_regularizer(tmp_path):
    with pytest.raises((ValueError, TypeError), match="bogus"):
        run_experiment("regularization", tmp_path, smoke=True, plots=False, overrides={"regularizers": "bogus=1"})
