"""``cdpsim export``: a run, batch or sweep folder's tables as CSV files or an Excel workbook.

Kept out of :mod:`sim.cli`, on whose ``main`` it registers itself when :mod:`sim.cli` imports
it; the tables and the writing are :mod:`sim.export`'s.

Exit codes: 0 written; 1 the files could not be written (disk full, no permission); 2 not an
output folder of cdpsim (or a damaged one), or a target that may not be written (a user's file
there without ``--force``).
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from sim.cli import EXIT_BAD_INPUT, EXIT_OK, EXIT_RUN_FAILED, _err, _out, _Path, main


@main.command()
@click.argument("folder", type=_Path(path_type=Path))
@click.option(
    "--to",
    "fmt",
    type=click.Choice(["csv", "xlsx"]),
    default="xlsx",
    show_default=True,
    help="csv: a folder of CSV files (about.csv and one per table); xlsx: one Excel workbook, "
    "an about sheet and a sheet per table.",
)
@click.option(
    "--out",
    type=_Path(path_type=Path),
    default=None,
    help="The workbook (*.xlsx) or the CSV folder. Default: next to FOLDER (not inside it), "
    "FOLDER.xlsx or FOLDER-csv/.",
)
@click.option(
    "--force",
    is_flag=True,
    help="Replace a file (or, for CSV, the files of the same names in a folder) that cdpsim "
    "export did not make. Its own earlier export is replaced without it.",
)
def export(folder: Path, fmt: str, out: Path | None, force: bool) -> None:
    """Export a run, batch or sweep folder's tables with their units in the headers.

    A run gives its KPIs (summary), keepers' profits, time series and auctions; a batch its
    per-scenario statistics (summary) and runs table; a sweep its design points, sensitivity
    indices and runs table. Headers carry units: "bad_debt_max [Dai]". Prints what was written.
    Needs openpyxl for xlsx (a core dependency).
    """
    from sim.export import (
        ExportError,
        ExportWriteError,
        check_target,
        default_output,
        export_tables,
        write_csv,
        write_xlsx,
    )

    try:
        exported = export_tables(folder)
        target = check_target(out or default_output(folder, fmt), fmt, force=force)
        if fmt == "xlsx":
            written = write_xlsx(exported, target)
            sheets = ", ".join(t.name for t in exported.tables)
            _out(f"{written} (sheets: about, {sheets})")
        else:
            files = write_csv(exported, target)
            _out(f"{target}/ ({', '.join(p.name for p in files)})")
    except ExportWriteError as exc:
        _err(str(exc))
        sys.exit(EXIT_RUN_FAILED)
    except ExportError as exc:
        _err(str(exc))
        sys.exit(EXIT_BAD_INPUT)
    sys.exit(EXIT_OK)
