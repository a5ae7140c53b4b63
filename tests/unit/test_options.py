"""One options model: the plugin's and the CLI's options are generated from promptcheck.options."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from _pytest.config.argparsing import Parser

from promptcheck import plugin
from promptcheck.cli.main import app
from promptcheck.errors import InputError
from promptcheck.options import DTYPES, GateOptions, ModelOptions, RunOptions, ServedModelOptions, specs

DOCS = Path(__file__).resolve().parents[2] / "docs"


def _plugin_options() -> dict[str, object]:
    parser = Parser(_ispytest=True)  # the parser pytest hands pytest_addoption
    plugin.pytest_addoption(parser)
    group = parser.getgroup("promptcheck")
    return {name: opt for opt in group.options for name in opt.names()}


def _cli_params(command: str) -> dict[str, object]:
    click_app = typer.main.get_command(app)
    return {p.name: p for p in click_app.commands[command].params}  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("cls", "values", "message"),
    [
        (ModelOptions, {"dtype": "int3"}, f"dtype: must be one of {', '.join(DTYPES)}, got 'int3'"),
        (ModelOptions, {"device": "gpu"}, "device: must be cpu, cuda, cuda:N, mps or auto, got 'gpu'"),
        (ModelOptions, {"device_map": "everywhere"}, "device_map: must be one of auto"),
        (ModelOptions, {"max_concurrency": 0}, "max_concurrency: must be at least 1, got 0"),
        (GateOptions, {"seed": -1}, "seed: must be between 0 and 4294967295, got -1"),
        (RunOptions, {"too_long": "truncate"}, "too_long: must be one of fail, skip, got 'truncate'"),
        (RunOptions, {"projection": "umap"}, "projection: must be one of pca, tsne, got 'umap'"),
    ],
)
def test_options_are_checked_when_built(cls, values, message):
    with pytest.raises(InputError) as err:
        cls(**values)
    assert message in str(err.value)


def test_model_options_split_into_local_and_served_and_load_kwargs():
    opts = ModelOptions(model="http://h:1/v1", served_model="m", max_concurrency=3, dtype="bfloat16")
    assert opts.served().served_model == "m" and opts.served().max_concurrency == 3
    assert opts.local().dtype == "bfloat16"
    assert not hasattr(opts.served(), "dtype") and not hasattr(opts.local(), "served_model")
    kwargs = opts.load_kwargs()
    assert kwargs["cache"] is None and "model" not in kwargs and "score_cache" not in kwargs
    import inspect

    from promptcheck.models.loading import load_model

    assert set(kwargs) <= set(inspect.signature(load_model).parameters)


def test_plugin_and_cli_offer_every_model_option_with_the_same_help_and_default():
    plugin_options = _plugin_options()
    cli = _cli_params("run")
    for spec in specs(ModelOptions, front="plugin"):
        opt = plugin_options[f"--promptcheck-{spec.plugin[0]}"]
        assert (spec.off_help or spec.help) in opt.attrs()["help"]
        if spec.name in cli:
            param = cli[spec.name]
            assert spec.help[1:] in param.help  # the CLI capitalises the first letter
            if spec.name != "model":  # the CLI's one override: it defaults to the packaged model
                assert param.default == spec.default
    assert cli["model"].default == "default"
    # The CLI's score-cache switch and the plugin's folder have distinct names; old spellings work.
    assert {"--score-cache", "--cache"} <= set(cli["score_cache"].opts)
    assert {"--no-score-cache", "--no-cache"} <= set(cli["score_cache"].secondary_opts)
    assert {"--promptcheck-cache-dir", "--promptcheck-cache"} <= set(plugin_options)


def test_fix_options_come_from_fix_config():
    from dataclasses import fields

    from promptcheck.fix.config import FixConfig

    cli = _cli_params("fix")
    for f in fields(FixConfig):
        if f.metadata.get("cli") is False:
            assert f.name not in cli
            continue
        assert f.metadata["help"][1:] in cli[f.name].help
    assert cli["steps"].default == FixConfig().steps
    assert cli["num_virtual_tokens"].opts == ["--virtual-tokens"]


def test_plugin_docs_list_every_generated_option():
    text = (DOCS / "plugin.md").read_text(encoding="utf-8")
    for name in _plugin_options():
        assert f"`{name}" in text, name


def test_plugin_reads_new_and_old_names_from_ini(pytester):
    pytester.makeini("[pytest]\npromptcheck_cache = old-folder\npromptcheck_no_score_cache = true\n")
    pytester.makepyfile(
        "def test_settings(promptcheck_settings):\n"
        "    assert promptcheck_settings.cache_dir == 'old-folder'\n"
        "    assert promptcheck_settings.score_cache is False\n"
    )
    pytester.runpytest().assert_outcomes(passed=1)
    result = pytester.runpytest("--promptcheck-cache-dir=new-folder", "--promptcheck-max-concurrency=0")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*promptcheck: --promptcheck-max-concurrency must be at least 1, got 0*"])


def test_a_backends_options_live_only_in_its_options_class_its_module_and_the_loader():
    """docs/architecture.md, "Adding a backend": the served backend's options touch no front end."""
    root = Path(__file__).resolve().parents[2] / "promptcheck"
    names = [spec.name for spec in specs(ServedModelOptions, front="cli")]
    assert set(names) == {"served_model", "tokenizer", "max_concurrency", "api_key_env"}
    allowed = {"options.py", "models/loading.py", "models/served.py", "models/served_client.py"}
    touching = {
        path.relative_to(root).as_posix()
        for path in root.rglob("*.py")
        if any(n in path.read_text(encoding="utf-8") for n in ("served_model", "max_concurrency", "api_key_env"))
    }
    assert touching <= allowed, touching - allowed


def test_a_confidence_out_of_range_is_refused_with_the_same_message_by_every_front_end(tmp_path, pytester):
    """The allowed range was (0, 1) in two places and (0.5, 1) in three; now one check, one message."""
    import numpy as np
    from typer.testing import CliRunner

    import promptcheck as pc
    from promptcheck.cli.main import app
    from promptcheck.fix.config import FixConfig
    from promptcheck.options import VerdictOptions
    from promptcheck.stats import judge

    message = "must be between 0.5 and 1 (the level of each one-sided test), got 0.3"
    seen = []
    for call in (
        lambda: VerdictOptions(confidence=0.3),
        lambda: judge(np.ones(5, bool), np.ones((2, 5), bool), confidence=0.3),
        lambda: pc.assert_robust(None, pc.Task(name="t", items=(), reference_instruction="r"), confidence=0.3),
        lambda: FixConfig(gate_confidence=0.3),
    ):
        with pytest.raises(pc.InputError) as info:
            call()
        seen.append(info.value.message)
    for command in (
        ["plan", "x.json", "--confidence", "0.3"],
        ["compare", "a.json", "b.json", "--confidence", "0.3"],
        ["run", "x.yaml", "--confidence", "0.3"],
    ):
        res = CliRunner().invoke(app, command)
        assert res.exit_code == 2, res.output
        seen.append(res.output.strip().split("--confidence: ", 1)[1])
    pytester.makepyfile("import pytest\n\n@pytest.mark.promptcheck(confidence=0.3)\ndef test_gate():\n    pass\n")
    out = pytester.runpytest_inprocess()
    assert out.ret == 4
    seen.append(message if message in out.stderr.str() + out.stdout.str() else "the marker said otherwise")
    for given in (["--promptcheck-confidence=0.3"], ["-o", "promptcheck_confidence=0.3"]):
        out = pytester.runpytest_inprocess(*given)
        assert out.ret == 4
        said = out.stderr.str() + out.stdout.str()
        seen.append(message if f"--promptcheck-confidence {message}" in said else said)
    assert seen == [message] * len(seen), seen


def test_session_verdict_options_are_defaults_under_markers_and_arguments(pytester):
    """--promptcheck-max-accuracy-drop (and ini) sets assert_robust's default for the session; a marker
    overrides it for its tests and an explicit argument overrides both; lists are comma-separated."""
    pytester.makepyfile(
        """
        import pytest
        from promptcheck.assertions import _options

        def test_session():
            opts = _options({})
            assert opts["max_accuracy_drop"] == 0.2 and opts["kinds"] == ("observed", "unobserved")
            assert opts["looks"] == (0.5, 1.0) and opts["on_inconclusive"] == "pass"

        @pytest.mark.promptcheck(max_accuracy_drop=0.1)
        def test_marker():
            assert _options({})["max_accuracy_drop"] == 0.1
            assert _options({"max_accuracy_drop": 0.3})["max_accuracy_drop"] == 0.3
        """
    )
    pytester.makeini("[pytest]\npromptcheck_on_inconclusive = pass\n")
    out = pytester.runpytest_inprocess(
        "--promptcheck-max-accuracy-drop=0.2",
        "--promptcheck-kinds=observed, unobserved",
        "--promptcheck-looks=0.5,1.0",
    )
    out.assert_outcomes(passed=2)
    bad = pytester.runpytest_inprocess("--promptcheck-kinds=observed,paraphrased")
    assert bad.ret == 4
    assert "--promptcheck-kinds must be a list of" in bad.stderr.str() + bad.stdout.str()
