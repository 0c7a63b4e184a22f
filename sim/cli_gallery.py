"""``cdpsim validate --gallery``: the validation gallery on the command line (sim/gallery.py).

Kept out of :mod:`sim.cli`, which only adds these options to its ``validate`` command
(:func:`gallery_options`) and hands over to :func:`validate_gallery` when one is given.

Exit codes: 0 every exact case passes; 1 an exact case fails (or the document cannot be
written); 2 the options do not fit together (``--write`` without ``--gallery``, files with
``--gallery``). A throughput case outside its band is reported on stderr; it does not change the
exit code: its band is a judgement, an exact case's tolerance is not.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

#: Most ``--workers`` for the gallery (its groups of cases are few).
MAX_GALLERY_WORKERS = 64


def gallery_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Add ``--gallery``, ``--write`` and ``--workers`` to a click command."""
    options = (
        click.option(
            "--gallery",
            is_flag=True,
            help="Compute the validation gallery's exact and throughput cases against their "
            "published figures and print the table (instead of validating files); exit 1 if "
            "an exact case fails.",
        ),
        click.option(
            "--write",
            is_flag=True,
            help="With --gallery, also write the table into docs/VALIDATION.md (between its "
            "gallery markers).",
        ),
        click.option(
            "--events",
            is_flag=True,
            help="With --gallery, also the events: Black Thursday in sample (from its committed "
            "calibration, docs/calibrations/) and every case of scenarios/cases/ (out of "
            "sample), run over their seeds (minutes).",
        ),
        click.option(
            "--workers",
            type=click.IntRange(0, MAX_GALLERY_WORKERS),
            default=None,
            help="With --gallery, worker processes for its cases (default: this process).",
        ),
    )
    for option in reversed(options):
        command = option(command)
    return command


def wants_gallery(gallery: bool, write: bool, workers: int | None, events: bool = False) -> bool:
    """Whether any gallery option was given (then :func:`validate_gallery` takes over)."""
    return gallery or write or events or workers is not None


def event_rows(workers: int | None) -> list[object]:
    """The in-sample and out-of-sample rows: committed calibrations and every case file."""
    from sim.calibrate.cases import calibration_rows
    from sim.calibrate.cases import event_rows as case_rows
    from sim.gallery import ROOT

    calibrations = ROOT / "docs" / "calibrations"
    rows: list[object] = []
    for folder in sorted(p for p in calibrations.glob("*") if (p / "summary.json").is_file()):
        calibration_file = ROOT / "scenarios" / "calibrations" / f"{folder.name}.yaml"
        rows += calibration_rows(folder, calibration_file, folder.name)
    cases, _ = case_rows(ROOT / "scenarios" / "cases", calibrations, workers)
    return rows + cases


def write_calibration_summaries(doc: Path) -> None:
    """Each committed calibration's summary.md into ``doc``, between its own markers.

    The markers are ``<!-- calibration:NAME:begin -->`` and ``<!-- calibration:NAME:end -->``;
    a calibration without them in the document is left out. The summary's title is dropped.
    """
    from sim import gallery as g
    from sim.atomic import write_text

    text = doc.read_text(encoding="utf-8")
    new = text
    for folder in sorted((g.ROOT / "docs" / "calibrations").glob("*")):
        summary = folder / "summary.md"
        begin = f"<!-- calibration:{folder.name}:begin -->"
        if not summary.is_file() or begin not in new:
            continue
        body = summary.read_text(encoding="utf-8").split("\n", 1)[1].strip()
        body = body.replace("\n## ", "\n#### ")
        new = g.replace_between_markers(new, body, begin, f"<!-- calibration:{folder.name}:end -->")
    if new != text:
        write_text(doc, new)


def validate_gallery(
    *,
    paths: tuple[str, ...],
    gallery: bool,
    write: bool,
    workers: int | None,
    others: dict[str, object],
    doc: Path | None = None,
    events: bool = False,
) -> int:
    """Run ``cdpsim validate --gallery [--write] [--workers N]``; return the exit code.

    Args:
        paths: file arguments (none allowed with ``--gallery``).
        gallery: ``--gallery``.
        write: ``--write``.
        workers: ``--workers``.
        others: the command's other options that do not apply (name → value, falsy when unset).
        doc: the document to write (default: :data:`sim.gallery.DOC`).
        events: ``--events`` (the in-sample and out-of-sample rows too).

    Raises:
        click.UsageError: the options do not fit together (exit 2).
    """
    from sim.cli import EXIT_OK, EXIT_RUN_FAILED, _err, _out

    if not gallery:
        raise click.UsageError("--write, --events and --workers need --gallery")
    if paths:
        raise click.UsageError("--gallery takes no files: validate them in another call")
    given = [name for name, value in others.items() if value]
    if given:
        raise click.UsageError(f"{', '.join(given)} do not apply to --gallery")
    from sim import gallery as g

    started = time.perf_counter()
    try:
        rows = g.gallery_rows(event_rows(workers) if events else (), workers=workers)
    except g.GalleryError as exc:
        _err(f"cdpsim validate --gallery: {exc}")
        return EXIT_RUN_FAILED
    table = g.gallery(rows)
    _out(table)
    failed = g.exact_failures(rows)
    outside = [r for r in rows if r.kind == "throughput" and r.passed is False]
    exact = [r for r in rows if r.kind == "exact"]
    for row in failed:
        _err(f"exact case failed: {row.name}: record {row.record}, model {row.result}")
    for row in outside:
        _err(f"warning: throughput case outside its band: {row.name}: {row.result}")
    _err(
        f"{len(exact) - len(failed)} of {len(exact)} exact cases pass; "
        f"{len(rows)} cases in {time.perf_counter() - started:.1f} s"
    )
    if write:
        target = g.DOC if doc is None else doc
        try:
            g.write_gallery(table, target)
            if events:
                write_calibration_summaries(target)
        except (g.GalleryError, OSError) as exc:
            _err(f"cdpsim validate --gallery: {exc}")
            return EXIT_RUN_FAILED
        _err(f"written into {target}")
    return EXIT_RUN_FAILED if failed else EXIT_OK
