"""Each task carries its own facts (formats, data sets, readers, command, help); the command
line reads them from the one table of tasks, ``rnnkit.cli.task_registry.TASKS``, and keeps no
table of its own keyed by task names and no branch on a task's name."""

import ast
import re
from pathlib import Path

import pytest

import rnnkit.cli
from rnnkit import data
from rnnkit.cli import sources, task_registry
from rnnkit.cli._base import CliError
from rnnkit.cli.runs import Run, RunError
from rnnkit.cli.sources import FORMATS, DataSet
from rnnkit.cli.tasks import TASKS, Task
from rnnkit.cli.tasks.classify import ClassifyTask

CLI = Path(rnnkit.cli.__file__).parent


def test_the_tasks_package_fills_the_one_registry():
    assert TASKS is task_registry.TASKS
    assert list(TASKS) == ["charlm", "forecast", "classify", "tag", "seq2seq", "generate", "music"]
    assert all(isinstance(task, Task) and TASKS[task.name] is task for task in TASKS.values())
    with pytest.raises(CliError, match="unknown task 'nope'; expected one of charlm, forecast"):
        task_registry.get_task("nope")


@pytest.mark.parametrize("name", list(TASKS))
def test_every_task_declares_what_it_reads_and_how_it_is_used(name):
    task = TASKS[name]
    assert task.formats and set(task.formats) <= set(FORMATS)
    assert set(task.readers) <= set(task.formats)
    assert task.default_data in task.datasets  # the config's default names a set the task offers
    for ds in task.datasets.values():
        assert isinstance(ds, DataSet) and ds.registry_name in data.DATASETS
    assert task.help and task.about and task.examples
    assert all(f"rnnkit train {name}" in e or task.command in e for e in task.examples)
    assert task.command.split()[1] in rnnkit.cli.commands()


@pytest.fixture
def toy_task(monkeypatch):
    class ToyTask(ClassifyTask):
        name = "toytask"
        formats = ("csv", "tsv")
        readers = {"csv": lambda path, config, notes: ("read by the toy", notes.append("toy note"))[0]}
        datasets = {"toy-waves": DataSet("waveforms", "labelled", train_kw={"split": "train"})}
        command = "rnnkit predict"

    task = ToyTask()
    monkeypatch.setitem(TASKS, task.name, task)
    return task


def test_the_sources_read_with_the_task_s_own_facts(tmp_path, toy_task):
    path = tmp_path / "x.csv"
    path.write_text("a,b\n1,2\n", encoding="utf-8")
    config = toy_task.config_class(data=str(path))
    loaded = sources.load(toy_task, config)
    assert (loaded.train, loaded.kind, loaded.notes) == ("read by the toy", "csv", ["toy note"])
    waves = sources.load(toy_task, toy_task.config_class(data="toy-waves"))
    assert len(waves.train[0]) == len(waves.train[1]) > 0 and waves.test is None
    with pytest.raises(CliError, match="the toytask task ships toy-waves"):
        sources.load(toy_task, toy_task.config_class(data="waveforms"))
    # the hint of a format a task does not read names every registered task that reads it
    with pytest.raises(CliError, match=r"csv files are for the forecast and classify and generate and toytask task"):
        sources.detect_format(path, None, TASKS["tag"])


def test_a_run_of_the_wrong_task_is_pointed_to_its_task_s_command(tmp_path, toy_task):
    run = Run.create("toytask", tmp_path / "r")
    with pytest.raises(
        RunError, match=r"is a toytask run; rnnkit forecast needs a forecast run; hint: use 'rnnkit pre"
    ):
        Run.open(run.path, tasks=("forecast",), command="rnnkit forecast")


# -- the command line keeps no per-task table and no task-name branch -----------------------------
def _cli_modules():
    return sorted(CLI.rglob("*.py"))


def test_no_verb_branches_on_a_task_name():
    branch = re.compile(r"""task(_name)?\s*(==|!=)\s*["']""")
    found = [
        f"{p.relative_to(CLI)}:{i}"
        for p in _cli_modules()
        for i, line in enumerate(p.read_text().splitlines(), 1)
        if branch.search(line)
    ]
    assert not found, found


def test_no_table_in_cli_is_keyed_by_task_names():
    names = set(TASKS)
    tables = []
    for path in _cli_modules():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Dict) and len(node.keys) >= 2:
                keys = [k.value if isinstance(k, ast.Constant) else k for k in node.keys]
                keys = [
                    k.elts[0].value if isinstance(k, ast.Tuple) and isinstance(k.elts[0], ast.Constant) else k
                    for k in keys
                ]
                if all(k in names for k in keys if isinstance(k, str)) and sum(isinstance(k, str) for k in keys) >= 2:
                    tables.append(f"{path.relative_to(CLI)}:{node.lineno}")
    assert not tables, f"tables keyed by task names (a task's facts belong to its Task class): {tables}"


def test_the_checks_see_a_table_keyed_by_task_names_and_a_branch(tmp_path, monkeypatch):
    (tmp_path / "bad.py").write_text(
        'X = {"charlm": 1, "tag": 2}\nY = {("tag", "tsv"): 1, ("classify", "csv"): 2}\nok = task == "tag"\n'
    )
    monkeypatch.setitem(globals(), "CLI", tmp_path)
    with pytest.raises(AssertionError, match=r"bad.py:3"):
        test_no_verb_branches_on_a_task_name()
    with pytest.raises(AssertionError, match=r"bad.py:1', 'bad.py:2'"):
        test_no_table_in_cli_is_keyed_by_task_names()
