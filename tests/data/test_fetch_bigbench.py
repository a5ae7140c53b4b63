"""benchmarks/fetch_bigbench.py: BIG-bench task folders from a checkout, its benchmark_tasks folder or the sdist."""

from __future__ import annotations

import json
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest
from conftest import ROOT

import promptcheck as pc

SCRIPT = ROOT / "benchmarks" / "fetch_bigbench.py"
GIVE = "pass a checkout of github.com/google/BIG-bench or a copy of bigbench-1.0.0.tar.gz as the first argument"


def task_json(name, n=3):
    examples = [{"input": f"{name} question {i}?", "target_scores": {"yes": i % 2, "no": 1 - i % 2}} for i in range(n)]
    return json.dumps({"name": name, "description": f"The {name} task.", "examples": examples})


@pytest.fixture(scope="module")
def checkout(tmp_path_factory):
    """A BIG-bench checkout: a JSON task, a parent with two subtasks, a programmatic-only task."""
    repo = tmp_path_factory.mktemp("src") / "BIG-bench"
    tasks = repo / "bigbench" / "benchmark_tasks"
    (tasks / "emoji_movie" / "results").mkdir(parents=True)
    (tasks / "emoji_movie" / "task.json").write_text(task_json("emoji_movie"))
    (tasks / "emoji_movie" / "README.md").write_text("# emoji_movie\n")
    (tasks / "emoji_movie" / "results" / "scores_GPT.json").write_text("{}")
    (tasks / "emoji_movie" / "results" / "README.md").write_text("scores\n")
    (tasks / "logical_deduction").mkdir()
    (tasks / "logical_deduction" / "task.json").write_text(json.dumps({"name": "logical_deduction"}))
    for sub in ("three_objects", "five_objects"):
        (tasks / "logical_deduction" / sub).mkdir()
        (tasks / "logical_deduction" / sub / "task.json").write_text(task_json(f"logical_deduction:{sub}"))
    (tasks / "word_sorting_py").mkdir()
    (tasks / "word_sorting_py" / "task.py").write_text("import bigbench.api.task as task\n")
    (tasks / "word_sorting_py" / "README.md").write_text("# programmatic\n")
    (tasks / "__init__.py").write_text("")
    (repo / "README.md").write_text("BIG-bench\n")
    return repo


@pytest.fixture(scope="module")
def sdist(checkout, tmp_path_factory):
    """The same tasks as ``bigbench-1.0.0.tar.gz`` lays them out."""
    path = tmp_path_factory.mktemp("sdist") / "bigbench-1.0.0.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        tar.add(checkout / "bigbench", arcname="bigbench-1.0.0/bigbench")
        tar.add(checkout / "README.md", arcname="bigbench-1.0.0/README.md")
    return path


def fetch(*args):
    out = subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], capture_output=True, text=True, timeout=60)
    return out.returncode, out.stdout, out.stderr


def one_line_error(args, rc_out_err=None):
    rc, out, err = rc_out_err or fetch(*args)
    assert rc == 2, (out, err)
    assert out == "" and "Traceback" not in err
    assert err.endswith("\n") and err.count("\n") == 1, err
    assert err.startswith("fetch_bigbench.py: ")
    return err.strip()


def check_copied(dest):
    assert sorted(p.name for p in dest.iterdir()) == ["emoji_movie", "logical_deduction"]
    assert sorted(p.name for p in (dest / "emoji_movie").iterdir()) == ["README.md", "task.json"]  # no results/
    assert sorted(p.name for p in (dest / "logical_deduction").iterdir()) == [
        "five_objects",
        "task.json",
        "three_objects",
    ]
    assert [i.id for i in pc.load_task(dest / "emoji_movie").items] != []
    assert len(pc.load_task(dest / "logical_deduction" / "three_objects").items) == 3


@pytest.mark.parametrize("kind", ["checkout", "benchmark_tasks", "sdist"])
def test_named_tasks_are_copied(kind, checkout, sdist, tmp_path):
    src = {"checkout": checkout, "benchmark_tasks": checkout / "bigbench" / "benchmark_tasks", "sdist": sdist}[kind]
    dest = tmp_path / "bb"
    rc, out, err = fetch(src, "emoji_movie", "logical_deduction", "--dest", dest)
    assert rc == 0, err
    assert out.startswith(f"2 task folder(s) copied from {src}") and out.endswith(": emoji_movie, logical_deduction\n")
    assert "bigbench/benchmark_tasks" in out
    check_copied(dest)
    assert not [p for p in dest.iterdir() if p.name.startswith(".")]  # no staging folder left
    # Run again: kept, not copied again; --force copies again.
    (dest / "emoji_movie" / "mark").write_text("")
    rc, out, _ = fetch(src, "emoji_movie", "--dest", dest)
    assert rc == 0 and out.startswith("0 task folder(s)") and "(1 already there)" in out
    assert (dest / "emoji_movie" / "mark").exists()
    assert fetch(src, "emoji_movie", "--dest", dest, "--force")[0] == 0
    assert not (dest / "emoji_movie" / "mark").exists()


def test_zip_of_the_repository(checkout, tmp_path):
    path = tmp_path / "BIG-bench-main.zip"
    with zipfile.ZipFile(path, "w") as zf:
        for f in sorted(checkout.rglob("*")):
            zf.write(f, Path("BIG-bench-main") / f.relative_to(checkout))
    rc, _, err = fetch(path, "emoji_movie", "logical_deduction", "--dest", tmp_path / "bb")
    assert rc == 0, err
    check_copied(tmp_path / "bb")


def test_all_skips_programmatic_tasks(sdist, tmp_path):
    rc, out, err = fetch(sdist, "--all", "--dest", tmp_path / "bb")
    assert rc == 0, err
    assert "skipped 1 programmatic task(s) (task.py, no task.json)" in out
    check_copied(tmp_path / "bb")


def test_no_source(tmp_path):
    err = one_line_error(["--dest", tmp_path / "bb"])
    assert err == (
        f"fetch_bigbench.py: no BIG-bench data given: {GIVE} "
        "(the registry serves only bigbench 0.0.1, which has no task data)"
    )
    assert not (tmp_path / "bb").exists()


def test_missing_path(tmp_path):
    err = one_line_error([tmp_path / "nowhere", "--dest", tmp_path / "bb"])
    assert err == f"fetch_bigbench.py: {tmp_path / 'nowhere'}: no such file or folder: {GIVE}"
    # Task names without a source: the first one is taken for the source, and the line says so.
    err = one_line_error(["emoji_movie", "--dest", tmp_path / "bb"], fetch("emoji_movie", "--dest", tmp_path / "bb"))
    assert err.endswith(f"emoji_movie: no such file or folder: {GIVE} (task names come after it)")


def test_path_without_benchmark_tasks(checkout, tmp_path):
    (tmp_path / "empty").mkdir()
    err = one_line_error([tmp_path / "empty", "--dest", tmp_path / "bb"])
    assert err == (
        f"fetch_bigbench.py: {tmp_path / 'empty'} has no bigbench/benchmark_tasks folder: pass a checkout of "
        "github.com/google/BIG-bench (or its bigbench/benchmark_tasks folder) or a copy of bigbench-1.0.0.tar.gz "
        "as the first argument"
    )
    task = checkout / "bigbench" / "benchmark_tasks" / "emoji_movie"
    assert f"is one task's folder: pass the benchmark_tasks folder that holds it ({task.parent})" in one_line_error(
        [task, "--dest", tmp_path / "bb"]
    )
    junk = tmp_path / "notes.txt"
    junk.write_text("not an archive")
    assert "is neither a folder nor a .tar.gz or .zip archive" in one_line_error([junk])
    tar = tmp_path / "other.tar.gz"
    with tarfile.open(tar, "w:gz") as t:
        t.add(junk, arcname="x/notes.txt")
    assert one_line_error([tar]) == f"fetch_bigbench.py: {tar} holds no benchmark_tasks folder: {GIVE}"


@pytest.mark.parametrize("kind", ["checkout", "sdist"])
def test_named_task_not_in_source(kind, checkout, sdist, tmp_path):
    src = checkout if kind == "checkout" else sdist
    dest = tmp_path / "bb"
    err = one_line_error([src, "emoji_movies", "no_such_task", "--dest", dest])
    assert "not in " in err and "benchmark_tasks: emoji_movies (did you mean emoji_movie?), no_such_task: " in err
    assert err.endswith("name tasks it has (2 with a task.json), or pass a copy of BIG-bench that has them")
    assert not dest.exists()  # nothing copied, no empty folder left
    # The default, BIG-bench Lite: all 24 asked for, 22 of them missing here.
    err = one_line_error([src, "--dest", dest])
    assert "not in " in err and "auto_debugging, bbq_lite_json" in err and "emoji_movie," not in err


def test_programmatic_only_task(checkout, sdist, tmp_path):
    for src in (checkout, sdist):
        err = one_line_error([src, "emoji_movie", "word_sorting_py", "--dest", tmp_path / "bb"])
        assert err.startswith("fetch_bigbench.py: programmatic only in ")
        assert err.endswith(
            "(task.py, no task.json; promptcheck reads task.json files): word_sorting_py: name JSON tasks instead"
        )
        assert not (tmp_path / "bb").exists()
    # Both problems at once: still one line.
    err = one_line_error([checkout, "nope", "word_sorting_py", "--dest", tmp_path / "bb"])
    assert "not in " in err and "; programmatic only in " in err
