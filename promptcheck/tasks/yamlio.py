"""YAML reading that remembers the line of every key, so errors can name it.

PyYAML drops positions once a document is constructed; these subclasses keep them on the
mappings and lists they build. Only safe construction is used: suite files are user data.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from promptcheck.errors import InputError


class LineDict(dict):
    """A dict that knows the 1-based line of each key (``.lines``) and of itself (``.line``)."""

    line: int = 0
    lines: dict[Any, int]


class LineList(list):
    """A list that knows the 1-based line of each element."""

    line: int = 0
    lines: list[int]


class _LineLoader(yaml.SafeLoader):
    pass


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> LineDict:
    out = LineDict()
    out.line = node.start_mark.line + 1
    out.lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        try:
            hash(key)
        except TypeError:
            raise InputError("mapping keys must be plain values", line=key_node.start_mark.line + 1) from None
        if key in out:
            raise InputError("duplicate key", line=key_node.start_mark.line + 1, field=str(key))
        out[key] = loader.construct_object(value_node, deep=True)
        out.lines[key] = key_node.start_mark.line + 1
    return out


def _construct_sequence(loader: _LineLoader, node: yaml.SequenceNode) -> LineList:
    out = LineList(loader.construct_object(child, deep=True) for child in node.value)
    out.line = node.start_mark.line + 1
    out.lines = [child.start_mark.line + 1 for child in node.value]
    return out


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


def load_yaml(path: Path, text: str) -> Any:
    """Parse ``text`` (read from ``path``) into LineDict/LineList values, or raise InputError."""
    try:
        return yaml.load(text, Loader=_LineLoader)
    except InputError as exc:
        exc.file = str(path)
        raise
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = exc.problem or exc.context or "invalid YAML"
        if exc.context and exc.problem and exc.problem.startswith("but "):
            problem = f"{exc.context} {exc.problem}"  # "expected ... but found ..." reads as one sentence
        raise InputError(f"invalid YAML: {problem}", file=path, line=line) from None
    except yaml.YAMLError as exc:
        raise InputError(f"invalid YAML: {exc}", file=path) from None
    except RecursionError:
        raise InputError("invalid YAML: nested too deeply", file=path) from None
