"""Ctrl-C during `promptcheck run` keeps what was scored; running the same command again continues."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from promptcheck.cli.main import app
from promptcheck.models.hf import HFScorer


def test_ctrl_c_keeps_scored_prompts_and_the_rerun_continues(tiny_causal_dir, examples_dir, tmp_path, monkeypatch):
    suite = str(examples_dir / "capitals.yaml")  # 40 items x 13 instructions = 520 prompts
    real_score = HFScorer.score
    calls = {"n": 0, "prompts": 0}

    def interrupted_on_third_call(self, prompts, *, progress=None):
        # KeyboardInterrupt is what SIGINT raises in the main thread, wherever it is.
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        calls["prompts"] += len(prompts)
        return real_score(self, prompts, progress=progress)

    monkeypatch.setattr(HFScorer, "score", interrupted_on_third_call)
    res = CliRunner().invoke(app, ["run", suite, "--model", str(tiny_causal_dir), "--json", str(tmp_path / "r.json")])
    assert res.exit_code == 130
    assert "the prompts scored so far are in the score cache: run the same command to continue" in res.output
    stored = calls["prompts"]
    assert stored == 80  # two chunks: the first two instructions (40 prompts each)

    monkeypatch.setattr(HFScorer, "score", real_score)
    res = CliRunner().invoke(app, ["run", suite, "--model", str(tiny_causal_dir), "--json", str(tmp_path / "r.json")])
    assert res.exit_code == 0, res.output
    assert f"({stored} from the score cache)" in res.output
    resumed = json.loads((tmp_path / "r.json").read_text())["tasks"][0]

    res = CliRunner().invoke(
        app, ["run", suite, "--model", str(tiny_causal_dir), "--json", str(tmp_path / "u.json"), "--no-cache"]
    )
    assert res.exit_code == 0, res.output
    uninterrupted = json.loads((tmp_path / "u.json").read_text())["tasks"][0]
    assert [i["predictions"] for i in resumed["items"]] == [i["predictions"] for i in uninterrupted["items"]]
    assert [i["accuracy"] for i in resumed["instructions"]] == [i["accuracy"] for i in uninterrupted["instructions"]]
