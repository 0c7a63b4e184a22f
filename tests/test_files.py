"""Finding and checking input files (sim/files.py): what may be read as a file, names that can
be recorded, scenario files from paths, folders and patterns, and sweep or scenario data."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from sim.files import (
    existing_special_file,
    expand_paths,
    file_problem,
    is_sweep_data,
    name_problem,
    overrides_digest,
    set_folder,
    shown_path,
)
from tests.conftest import SMALL

#: A name with a byte that is not UTF-8, as Python sees it (a lone surrogate).
NOT_UTF8 = os.fsdecode(b"s\xff.yaml")


@pytest.fixture
def two_files(tmp_path) -> list[Path]:
    a = tmp_path / "inputs" / "a.yaml"
    b = tmp_path / "inputs" / "b.yaml"
    a.parent.mkdir()
    a.write_text(SMALL)
    b.write_text(SMALL.replace("name: small", "name: other"))
    return [a, b]


# ---------------------------------------------------------------------------------------- input files


def test_a_regular_file_can_be_read_and_a_missing_one_is_not_found(tmp_path):
    (tmp_path / "ok.csv").write_text("timestamp,eth\n")
    assert file_problem(tmp_path / "ok.csv") is None
    assert file_problem(tmp_path / "nope.csv") == "file not found"


def test_what_is_not_a_regular_file_is_said_without_opening_it(tmp_path):
    os.mkfifo(tmp_path / "fifo")
    assert file_problem(tmp_path / "fifo") == "is not a regular file (a FIFO)"
    assert file_problem(tmp_path) == "is not a regular file (a folder)"
    (tmp_path / "file").write_text("")
    assert file_problem(tmp_path / "file" / "x.yaml") == (
        "file not found (a part of the path is a file, not a folder)"
    )
    assert file_problem(str(tmp_path / "a\0b")) == "not a valid file name"
    if Path("/dev/zero").exists():
        assert file_problem("/dev/zero") == "is not a regular file (a character device)"
    (tmp_path / "link").symlink_to(tmp_path / "file")
    assert file_problem(tmp_path / "link") is None  # symlinks are followed


def test_a_socket_is_not_a_file(tmp_path):
    path = tmp_path / "s.sock"
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(path))
        assert file_problem(path) == "is not a regular file (a socket)"
        assert existing_special_file(path) == "is not a regular file (a socket)"


def test_an_output_path_may_be_missing_a_file_or_a_folder_but_nothing_else(tmp_path):
    (tmp_path / "f").write_text("")
    os.mkfifo(tmp_path / "fifo")
    assert existing_special_file(tmp_path / "missing") is None
    assert existing_special_file(tmp_path / "f") is None
    assert existing_special_file(tmp_path) is None
    assert existing_special_file(tmp_path / "fifo") == "is not a regular file (a FIFO)"


# ---------------------------------------------------------------------------------------- names


def test_a_name_that_is_not_utf8_is_refused_and_shown_escaped(tmp_path):
    assert name_problem(tmp_path / "fine é.yaml") is None
    assert name_problem(NOT_UTF8) == (
        "the name is not UTF-8 text (it has bytes such as 0xff); rename it"
    )
    assert shown_path(NOT_UTF8) == "s\\xff.yaml"
    assert shown_path("plain é") == "plain é"


def test_a_full_path_that_is_not_utf8_names_the_folder(tmp_path, monkeypatch):
    folder = Path(os.fsdecode(os.fsencode(tmp_path) + b"/d\xff"))
    folder.mkdir()
    monkeypatch.chdir(folder)
    problem = name_problem("out")
    assert problem is not None
    assert problem.startswith(f"its full path {shown_path(folder / 'out')} is not UTF-8 text")
    assert problem.endswith("rename the folder")


# ---------------------------------------------------------------------------------------- paths


def test_paths_files_folders_and_globs(two_files, tmp_path):
    folder = two_files[0].parent
    (folder / "notes.txt").write_text("not a scenario")
    files, problems = expand_paths([folder, str(folder / "a.*"), tmp_path / "missing-*.yaml"])
    assert files == two_files  # the glob's a.yaml is already listed once
    assert problems == [f"{tmp_path / 'missing-*.yaml'}: no file matches"]


def test_a_folder_contributes_its_scenario_files_only(tmp_path):
    (tmp_path / "b.yml").write_text(SMALL)
    (tmp_path / "a.yaml").write_text(SMALL)
    (tmp_path / "c.txt").write_text("notes")
    (tmp_path / "sub.yaml").mkdir()  # a folder named like a file
    os.mkfifo(tmp_path / "d.yaml")
    files, problems = expand_paths([tmp_path])
    assert files == [tmp_path / "a.yaml", tmp_path / "b.yml"] and problems == []


def test_paths_that_give_nothing_are_each_reported(tmp_path):
    (tmp_path / "empty").mkdir()
    files, problems = expand_paths(["", "  ", tmp_path / "empty", str(tmp_path / "x*.yaml")])
    assert files == []
    assert problems == [
        "'': an empty path (an unset shell variable?); give a file or folder",
        "'': an empty path (an unset shell variable?); give a file or folder",
        f"{tmp_path / 'empty'}: no scenario files (*.yaml) in this folder",
        f"{tmp_path / 'x*.yaml'}: no file matches",
    ]


def test_a_named_file_is_kept_for_its_reader_to_check_and_a_found_bad_name_is_reported(tmp_path):
    """A file given by name is listed even if missing (its reader says why); a file a folder or
    pattern finds whose name cannot be recorded is reported instead."""
    missing = tmp_path / "missing.yaml"
    files, problems = expand_paths([missing, missing])
    assert files == [missing] and problems == []
    (tmp_path / NOT_UTF8).write_text(SMALL)
    files, problems = expand_paths([tmp_path])
    assert files == []
    assert problems == [
        f"{shown_path(tmp_path / NOT_UTF8)}: the name is not UTF-8 text (it has "
        "bytes such as 0xff); rename it"
    ]


# ---------------------------------------------------------------------------------------- kinds


def test_the_kind_of_a_file_is_decided_on_its_top_level_keys():
    assert is_sweep_data({"base": "b.yaml", "design": {}})
    assert is_sweep_data({"design": {}, "parameters": {}})  # a sweep that forgot its base
    assert not is_sweep_data({"base": "b.yaml", "clock": {}})  # mixed: a scenario, refused
    assert not is_sweep_data({"name": "x", "clock": {}})
    assert not is_sweep_data(["base"])


def test_the_set_digest_ignores_spacing_but_not_order_or_values():
    digest = overrides_digest(["a.b=1", "c=2"])
    assert len(digest) == 6 and int(digest, 16) >= 0
    assert overrides_digest([" a . b = 1 ", "c=2"]) == digest
    assert overrides_digest(["c=2", "a.b=1"]) != digest  # a later one on a path wins
    assert overrides_digest(["a.b=1.5", "c=2"]) != digest
    assert set_folder(Path("runs") / "x", []) == Path("runs") / "x"
    assert (
        set_folder(Path("runs") / "x", ["c=2"])
        == Path("runs") / f"x-set-{overrides_digest(['c=2'])}"
    )
