"""``cdpsim examples``: list the shipped example scenarios and sweeps, or copy them out.

Kept out of :mod:`sim.cli`, on whose ``main`` it registers itself when :mod:`sim.cli` imports
it. The files are :mod:`sim.examples`'s; ``cdpsim run NAME`` finds one by name through
:func:`scenario_path`.

Exit codes: 0 listed or copied; 2 the folder cannot take the examples (a file there, a file of
the user's that differs, without ``--force``) or cannot be written.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from sim.cli import EXIT_BAD_INPUT, EXIT_OK, _err, _out, _Path, main


def scenario_path(path: Path) -> Path:
    """The scenario file ``cdpsim run`` reads for its argument.

    ``path`` itself, unless it is a bare name (:func:`sim.examples.is_bare_name`) that is no
    file or folder here: then the shipped example scenario of that name, said on stderr
    (``note: running the shipped example .../eth_crash_liq2.yaml``).

    Raises:
        SystemExit: exit 2 for a bare name that is neither a file here nor a shipped example,
            listing the examples.
    """
    from sim.examples import ExamplesError, find_example, is_bare_name, list_examples

    if path.exists() or path.is_symlink() or not is_bare_name(path):
        return path
    example = find_example(str(path))
    if example is None:
        try:
            names = ", ".join(e.name for e in list_examples() if e.kind == "scenario")
        except ExamplesError:  # an installation without examples: no list to offer
            names = ""
        _err(
            f"{path}: no such file, and no shipped example scenario of that name"
            + (f" (examples: {names}; cdpsim examples lists them)" if names else "")
        )
        sys.exit(EXIT_BAD_INPUT)
    _err(f"note: {path} is no file here; running the shipped example {example.path}")
    return example.path


@main.command()
@click.argument("folder", required=False, type=_Path(path_type=Path))
@click.option(
    "--force",
    is_flag=True,
    help="Replace files in FOLDER that differ from the shipped ones (by default nothing is "
    "copied when one differs).",
)
def examples(folder: Path | None, force: bool) -> None:
    """List the shipped example scenarios and sweeps, or copy them all into FOLDER.

    Without FOLDER, lists each example's name, kind and description; `cdpsim run NAME` runs a
    shipped scenario by its name. With FOLDER, copies every example (scenarios, sweeps,
    calibrations, event cases and their data files, in their folders) into it, made if missing.
    Files already there with the same content are left as they are; a file that differs (your
    edit) is never replaced without --force, and then nothing is copied. Other files in FOLDER
    are not touched.
    """
    from sim.examples import ExamplesError, copy_examples, examples_root, list_examples

    try:
        if folder is None:
            found = list_examples()
            width = max((len(e.name) for e in found), default=0)
            for example in found:
                where = (
                    "" if example.relative.parent == Path() else f" ({example.relative.parent}/)"
                )
                _out(f"{example.name.ljust(width)}  {example.kind:<8}  {example.about}{where}")
            _out(f"({len(found)} examples in {examples_root()}; copy them: cdpsim examples DIR)")
            sys.exit(EXIT_OK)
        written, unchanged = copy_examples(folder, force=force)
    except ExamplesError as exc:
        _err(str(exc))
        sys.exit(EXIT_BAD_INPUT)
    kept = f" ({len(unchanged)} already there, unchanged)" if unchanged else ""
    _out(f"copied {len(written)} files into {folder}{kept}")
    _out(f"run one: cdpsim run {folder / 'eth_crash_liq2.yaml'}")
    sys.exit(EXIT_OK)
