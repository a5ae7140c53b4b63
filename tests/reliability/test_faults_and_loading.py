"""Faults (interrupted writes) and safe loading (pickles, remote code, missing pad token, plugin options)."""

from __future__ import annotations

import dataclasses
import json
import os
import shutil

import pytest

import promptcheck as pc
from promptcheck.errors import InputError
from promptcheck.fileio import atomic_write_json

pytest_plugins = ["pytester"]


@pytest.mark.parametrize("fault", ["KeyboardInterrupt at rename", "disk error at fsync"])
def test_an_interrupted_report_write_never_replaces_the_good_report(tmp_path, monkeypatch, fault):
    report = tmp_path / "results.json"
    atomic_write_json(report, {"good": True})
    good = report.read_bytes()
    if fault.startswith("KeyboardInterrupt"):

        def boom(*_args):
            raise KeyboardInterrupt

        monkeypatch.setattr(os, "replace", boom)
        expected: type[BaseException] = KeyboardInterrupt
    else:

        def boom(*_args):
            raise OSError(28, "No space left on device")

        monkeypatch.setattr(os, "fsync", boom)
        expected = InputError
    with pytest.raises(expected):
        atomic_write_json(report, {"good": False, "big": ["x" * 1000] * 1000})
    assert report.read_bytes() == good
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"], "no temp file is left behind"


@pytest.fixture(scope="module")
def small_task(examples_dir):
    task = pc.load_task(examples_dir / "capitals.yaml")
    return dataclasses.replace(task, items=task.items[:4], observed=task.observed[:1], unobserved=())


def _logprobs(model, task) -> list:
    result = pc.evaluate(model, task)
    return [x for r in result.instructions for lp in r.logprobs for x in lp]


def test_tokenizer_without_pad_token_is_given_one_and_scores_the_same(tiny_causal_dir, tmp_path, small_task):
    no_pad = shutil.copytree(tiny_causal_dir, tmp_path / "no-pad")
    config = json.loads((no_pad / "tokenizer_config.json").read_text())
    config.pop("pad_token", None)
    (no_pad / "tokenizer_config.json").write_text(json.dumps(config))
    model_config = json.loads((no_pad / "config.json").read_text())
    model_config["pad_token_id"] = None
    (no_pad / "config.json").write_text(json.dumps(model_config))
    from transformers import AutoTokenizer

    assert AutoTokenizer.from_pretrained(no_pad).pad_token is None, "test premise: no pad token"
    fixed = pc.load_model(str(no_pad), batch_size=4)
    assert fixed.tokenizer.pad_token_id is not None
    reference = pc.load_model(str(tiny_causal_dir), batch_size=4)
    assert _logprobs(fixed, small_task) == pytest.approx(_logprobs(reference, small_task), abs=1e-4)


def test_pickle_only_checkpoint_loads_with_allow_pickle_and_matches_safetensors(tiny_causal_dir, tmp_path, small_task):
    import torch
    from safetensors.torch import load_file

    pickled = shutil.copytree(tiny_causal_dir, tmp_path / "pickled")
    torch.save(load_file(pickled / "model.safetensors"), pickled / "pytorch_model.bin")
    (pickled / "model.safetensors").unlink()
    with pytest.raises(pc.ModelLoadError, match="--allow-pickle"):
        pc.load_model(str(pickled))
    loaded = pc.load_model(str(pickled), allow_pickle=True)
    reference = pc.load_model(str(tiny_causal_dir))
    assert _logprobs(loaded, small_task) == pytest.approx(_logprobs(reference, small_task), abs=1e-6)


def test_remote_code_is_refused_unless_trusted_and_never_runs(tiny_causal_dir, tmp_path):
    folder = shutil.copytree(tiny_causal_dir, tmp_path / "custom")
    config = json.loads((folder / "config.json").read_text())
    config["auto_map"] = {"AutoModelForCausalLM": "custom.Model"}
    (folder / "config.json").write_text(json.dumps(config))
    marker = tmp_path / "ran"
    (folder / "custom.py").write_text(f"open({str(marker)!r}, 'w').write('x')\n")
    with pytest.raises(pc.ModelLoadError, match="--trust-remote-code"):
        pc.load_model(str(folder))
    assert not marker.exists()


def test_plugin_refuses_a_bad_dtype_before_any_test_runs(pytester):
    pytester.makepyfile("def test_x():\n    pass\n")
    result = pytester.runpytest("--promptcheck-dtype=int3")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*promptcheck: --promptcheck-dtype must be one of float32, bfloat16, float16, auto*"])


def test_plugin_unwritable_json_report_is_one_line_and_exit_7(pytester, tiny_causal_dir, examples_dir):
    shutil.copytree(examples_dir, pytester.path / "suites")
    pytester.makepyfile("""
        import pytest
        import promptcheck as pc

        @pytest.mark.promptcheck(on_inconclusive="pass", n_boot=300)
        def test_gate(promptcheck_model, promptcheck_suite):
            task = promptcheck_suite("suites/yesno.yaml")
            task = pc.Task(**{**task.__dict__, "items": task.items[:6]})
            pc.assert_robust(promptcheck_model, task, max_accuracy_drop=0.9)
    """)
    (pytester.path / "out").mkdir()
    result = pytester.runpytest(f"--promptcheck-model={tiny_causal_dir}", "--promptcheck-json=out")
    assert result.ret == 7
    result.stdout.fnmatch_lines(["promptcheck: error: out: cannot write here*"])
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()
