"""``cdpsim plot``, ``cdpsim report`` and ``cdpsim dashboard``: the commands that show a folder.

Kept out of :mod:`sim.cli` (which defines the group, the shared options and the commands that
run models); they register themselves on its ``main`` when :mod:`sim.cli` imports this module.
"""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from sim.scenario import ScenarioError

if TYPE_CHECKING:
    pass


from sim.cli import (
    EXIT_BAD_INPUT,
    EXIT_OK,
    EXIT_RUN_FAILED,
    _data_dir_option,
    _err,
    _out,
    _Path,
    _warn,
    main,
)

# ---------------------------------------------------------------------------------------- plots

#: Figure kinds of ``cdpsim plot --kind`` (sim.plots.figures.KINDS, listed here so that the
#: command's help does not import matplotlib).
_PLOT_KINDS = ("overview", "fan", "heatmap", "line", "sobol", "morris", "boxes", "compare")
#: Kinds of ``cdpsim plot --kind`` that were renamed: what each is called now, and why.
_RENAMED_PLOT_KINDS = {
    "dashboard": (
        "overview",
        "the run figure is called overview now (the name dashboard is kept for the web app, "
        "cdpsim dashboard)",
    ),
}


class _PlotKind(click.Choice):
    """:class:`click.Choice` of figure kinds that answers a renamed kind with its new name.

    An old command (``--kind dashboard``) is refused all the same (exit 2), but says what to
    type instead of listing every choice.
    """

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        renamed = _RENAMED_PLOT_KINDS.get(value) if isinstance(value, str) else None
        if renamed is not None:
            new, why = renamed
            self.fail(f"{value!r}: {why}; use --kind {new}", param, ctx)
        return super().convert(value, param, ctx)


@main.command()
@click.argument("folder", type=_Path(path_type=Path))
@click.argument("other", required=False, type=_Path(path_type=Path))
@click.option(
    "--out",
    type=_Path(path_type=Path, dir_okay=False),
    default=None,
    help="Image file; .png, .svg or .pdf by its extension. Default: a PNG next to FOLDER "
    "(not inside it), FOLDER-<kind>.png, or FOLDER-vs-OTHER.png for two folders; a sweep's "
    "heatmap names its KPI and statistic (FOLDER-heatmap-bad_debt_max-mean.png), its line "
    "its KPI, both with --params when given, its sobol, morris or boxes view the KPI given "
    "with --kpi: one file per figure. An existing file there is replaced only if cdpsim made "
    "it. An explicit --out replaces any file. A fan chart of more scenarios than fit one "
    "figure continues in FILE-2.png, FILE-3.png, ...",
)
@click.option(
    "--kind",
    type=_PlotKind(_PLOT_KINDS),
    default=None,
    help="The figure. Run: overview. Batch: fan. Sweep: sobol, morris, heatmap, line, boxes "
    "(default: the first the sweep has). Two folders: compare.",
)
@click.option(
    "--kpi",
    default=None,
    help="Sweep views (heatmap, line, sobol, morris, boxes): the KPI (default: the sweep's "
    "first; sobol, morris and boxes: every KPI).",
)
@click.option(
    "--stat",
    default=None,
    help="Sweep heatmap: the statistic over seeds (mean, std, p05, p50, p95, var95, var99, "
    "es95; default: mean).",
)
@click.option(
    "--params",
    default=None,
    metavar="A[,B]",
    help="Sweep heatmap (two) or line (one): the swept parameters (default: the first).",
)
def plot(
    folder: Path,
    other: Path | None,
    out: Path | None,
    kind: str | None,
    kpi: str | None,
    stat: str | None,
    params: str | None,
) -> None:
    """Draw the figure of a run, batch or sweep folder, or compare two folders.

    FOLDER is a run folder (run overview), a batch folder (fan chart over the seeds) or a
    sweep folder (heatmap, line, Sobol or Morris indices, discovered boxes). With OTHER too,
    the two runs or two batches are overlaid (sweeps are not: their design points are not
    seeds; compare sweeps by their points tables, or plot each on its own). --kpi, --stat and
    --params are for the sweep views that read them; elsewhere they are refused, not ignored.
    Prints the file written.
    """
    from sim.plots.figures import (
        available_kinds,
        check_options,
        comparison,
        default_output,
        fan_warning,
        figures_for,
    )
    from sim.plots.output import (
        FORMATS,
        FileWriteError,
        OutputFileError,
        check_target,
        save_figure,
    )
    from sim.results import FolderError, SweepData, folder_kind, load_folder

    if other is not None and kind not in (None, "compare"):
        raise click.UsageError("two folders give a comparison: leave out --kind or use compare")
    if other is None and kind == "compare":
        raise click.UsageError("--kind compare needs two folders: FOLDER OTHER")
    given = [n for n, v in (("kpi", kpi), ("stat", stat), ("params", params)) if v is not None]
    try:
        ext = ".png" if out is None else out.suffix.lower()
        if ext not in FORMATS:
            raise OutputFileError(
                f"{out}: unknown image extension {ext or '(none)'!r}; use .png, .svg or .pdf"
            )
        if other is not None:
            for path in (folder, other):
                folder_kind(path)  # a missing or foreign folder first: its own message
            check_options("compare", "compare", given)
            target = out or default_output(folder, "compare", other)
            check_target(target, explicit=out is not None)
            named = comparison(load_folder(folder), load_folder(other))
        else:
            what = folder_kind(folder)
            if what != "sweep":  # refused before a batch's runs are read
                check_options(what, kind, given)
            outputs = load_folder(folder, series=kind in (None, "fan"))
            if isinstance(outputs, SweepData):
                found = available_kinds(outputs)
                drawn_kind = kind or (found[0] if found else None)
                if drawn_kind in found:  # else figures_for says which kinds there are
                    check_options("sweep", drawn_kind, given, default=kind is None)
            names = [p.strip() for p in params.split(",") if p.strip()] if params else None
            if params is not None and not names:
                raise click.BadParameter(
                    "give the swept parameters' names, e.g. --params ilks.ETH-A.mat",
                    param_hint="--params",
                )
            drawn = figures_for(outputs, kind, kpi=kpi, stat=stat or "mean", params=names)
            named = drawn[0]
            # a sweep's file names its view, KPI and statistic: one file per figure
            target = out or default_output(
                folder, named.name if isinstance(outputs, SweepData) else named.kind
            )
            check_target(target, explicit=out is not None)
            if named.kind == "fan" and len(drawn) > 1:  # pages of one figure: all written
                pages = [(target, named)] + [
                    (target.with_name(f"{target.stem}-{k}{target.suffix}"), page)
                    for k, page in enumerate(drawn[1:], start=2)
                ]
                for path, _page in pages[1:]:
                    check_target(path, explicit=out is not None)
                for path, page in pages:
                    _out(str(save_figure(page.figure, path, explicit=out is not None)))
                _err(f"note: the fan chart has {len(pages)} pages (too many scenarios for one)")
                if named.note:
                    _err(f"note: {named.note}")
                warning = fan_warning(outputs.runs)  # every page's: the fewest runs
                if warning:
                    _err(f"warning: {warning}")
                sys.exit(EXIT_OK)
            if len(drawn) > 1:
                _err(
                    f"note: {len(drawn)} figures apply; drew {named.name} (narrow with --kpi; "
                    "cdpsim report shows them all)"
                )
        written = save_figure(named.figure, target, explicit=out is not None)
    except FileWriteError as exc:  # disk full, no permission: not the input's fault
        _err(str(exc))
        sys.exit(EXIT_RUN_FAILED)
    except (FolderError, OutputFileError) as exc:
        _err(str(exc))
        sys.exit(EXIT_BAD_INPUT)
    if named.note:
        _err(f"note: {named.note}")
    if named.warning:
        _err(f"warning: {named.warning}")
    _out(str(written))
    sys.exit(EXIT_OK)


@main.command()
@click.argument("folder", type=_Path(path_type=Path))
@click.option(
    "--out",
    type=_Path(path_type=Path, dir_okay=False),
    default=None,
    help="The HTML page. Default: FOLDER-report.html next to FOLDER (not inside it); an "
    "existing file there is replaced only if cdpsim made it. An explicit --out replaces any "
    "file.",
)
def report(folder: Path, out: Path | None) -> None:
    """Write one self-contained HTML page of a run, batch or sweep folder.

    The page holds the scenario (resolved YAML), the KPI table with units (ensemble tables for
    batches and sweeps) and every figure that applies, embedded: it opens offline and can be
    mailed as one file. Prints the file written.
    """
    from sim.plots.output import FileWriteError, OutputFileError
    from sim.report import write_report
    from sim.results import FolderError

    if out is not None and out.suffix.lower() not in (".html", ".htm"):
        _err(f"{out}: a report is an HTML page; name it *.html")
        sys.exit(EXIT_BAD_INPUT)
    try:
        written = write_report(folder, out)
    except FileWriteError as exc:  # disk full, no permission: not the input's fault
        _err(str(exc))
        sys.exit(EXIT_RUN_FAILED)
    except (FolderError, OutputFileError) as exc:
        _err(str(exc))
        sys.exit(EXIT_BAD_INPUT)
    _out(str(written))
    sys.exit(EXIT_OK)


#: What ``cdpsim dashboard`` shows when given nothing.
DEFAULT_DASHBOARD = Path("scenarios/eth_crash_liq2.yaml")


@main.command()
@click.argument("target", required=False, type=click.Path(path_type=Path))
@click.option(
    "--port", type=click.IntRange(1, 65535), default=8765, show_default=True, help="TCP port."
)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="Address to listen on. 127.0.0.1 (or ::1, localhost): this machine only. Any other "
    "address (0.0.0.0: all of them) needs --allow-remote.",
)
@click.option(
    "--allow-remote",
    is_flag=True,
    help="Allow a --host beyond loopback: whoever reaches that address and has the token in the "
    "printed URL can run models here and see the folder shown, over unencrypted HTTP. An SSH "
    "tunnel to the default 127.0.0.1 is safer.",
)
@_data_dir_option
def dashboard(
    target: Path | None, port: int, host: str, allow_remote: bool, data_dirs: tuple[Path, ...]
) -> None:
    """Serve an interactive dashboard in the browser (needs the dashboard extra).

    TARGET is a scenario file, run live (its key parameters as controls; step, play, reset),
    or a run, batch or sweep folder to explore. Default: scenarios/eth_crash_liq2.yaml.
    Prints the address; Ctrl-C stops the server. The server reads files only under TARGET's
    folder and the --data-dir folders, and answers only its own page (Host and Origin checked);
    beyond loopback only with the per-start token of the printed URL.
    """
    from sim.app import missing_extra
    from sim.app.guard import host_names, is_loopback, new_token

    remote = not is_loopback(host)
    if remote and not allow_remote:
        _err(
            f"cdpsim dashboard: --host {host or '(empty)'} is not a loopback address (127.0.0.1, "
            "::1, localhost): anyone who can reach it could run models on this machine and see "
            "the folder shown. Add --allow-remote to do it anyway (a token will guard it), or "
            "keep the default --host 127.0.0.1 and reach it through an SSH tunnel "
            f"(ssh -L {port}:127.0.0.1:{port} THIS_MACHINE)"
        )
        sys.exit(EXIT_BAD_INPUT)
    problem = missing_extra()
    if problem is not None:
        _err(f"cdpsim dashboard: {problem}")
        sys.exit(EXIT_BAD_INPUT)
    from sim.app.server import port_problem, serve, url
    from sim.app.targets import TargetError, resolve

    if target is None:
        if not DEFAULT_DASHBOARD.is_file():
            _err(
                f"cdpsim dashboard: no {DEFAULT_DASHBOARD} here; give a scenario file or a run, "
                "batch or sweep folder"
            )
            sys.exit(EXIT_BAD_INPUT)
        target = DEFAULT_DASHBOARD
    try:
        resolved = resolve(target, data_dirs)
        if resolved.kind == "scenario":
            _warn(target, resolved.scenario())
    except TargetError as exc:
        _err(str(exc))
        sys.exit(EXIT_BAD_INPUT)
    except ScenarioError as exc:
        _err(str(exc))
        sys.exit(EXIT_BAD_INPUT)
    busy = port_problem(host, port)
    if busy is not None:
        _err(f"cdpsim dashboard: {busy}")
        sys.exit(EXIT_BAD_INPUT)
    token = new_token() if remote else None
    names = host_names(host)
    if remote:
        where = "every address of this machine" if names[0] != host else host
        _err(
            f"cdpsim dashboard: WARNING: listening on {where} (port {port}), so other machines "
            "can reach it. Anyone who can reach it and has the token in the URL below can run models here "
            f"and see {target}. The connection is plain HTTP: the token and the pages cross "
            "the network unencrypted. Share the URL with no one; stop the server (Ctrl-C) "
            "when done; on an untrusted network use an SSH tunnel instead."
        )
    _out(
        f"cdpsim dashboard of {target} ({resolved.kind}) at {url(names[0], port, token)} "
        "(Ctrl-C stops it)"
    )
    if remote and len(names) > 1:
        _out("also at: " + " ".join(url(name, port, token) for name in names[1:]))
    with contextlib.suppress(KeyboardInterrupt):
        serve(target, host=host, port=port, data_dirs=data_dirs, token=token)
    sys.exit(EXIT_OK)
