"""A free-form task's accepted answers, checked against its matching once the task is built.

Every loader (suite, items file, BIG-bench folder, dataset, lm-eval task) ends here, so an
accepted answer that the task's normalisers would empty is refused at the item's file and line,
before any model loads, whichever format it came in.
"""

from __future__ import annotations

from promptcheck.tasks.records import Task


def check_targets(task: Task) -> Task:
    """A free-form task's accepted answers checked against its matching, before any model loads: an
    answer the normalisers empty ("...", "A" with articles) would be found in every output."""
    if task.generative:
        spec = task.match_spec()
        for item in task.items:
            file, _, line = item.source.rpartition(":")
            at = int(line) if line.isdigit() else None
            spec.check_answers(
                getattr(item, "targets", ()),
                source=file if at else item.source or task.source,
                line=at,
                field="targets",
            )
    return task
