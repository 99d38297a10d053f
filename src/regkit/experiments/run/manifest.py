"""What a study folder holds of regkit's: the manifest of the files and folders it made.

A study folder (`compare(out_dir=...)`) may also hold a user's files, and names alone
cannot tell them apart: a user's `old/seed1/log.csv` looks like a run's log. So the folder
keeps a list of what regkit created in it, `.regkit-manifest.json`, rewritten atomically
as regkit creates things:

- ``folders``: the folders regkit made (`<variant>/`, `<variant>/seed<k>/`, `backup/`,
  `tensorboard/` ...), relative to the study folder;
- ``files``: each file regkit wrote, with its size and modification time (ns) as regkit
  left it;
- ``runs``: the run folders regkit trained in, each ``open`` while a run may still be
  adding files to it (a run killed mid-way stays open: its regkit-named files are its
  own, and are recorded again the next time the study folder is opened).

`--restart` (`restart=True`) removes only what the manifest lists, and only regular files
that still have the recorded size and time; a changed one refuses the restart, naming it.
What the manifest does not list (a user's file, folder or link, under any name) is never
deleted, moved or written through.

A study folder written by regkit 0.3 or earlier has no manifest. It is adopted only where
its run folders prove themselves regkit's: each `<variant>/seed<k>/` whose `settings.json`
is a regkit run's settings (a JSON object naming that variant and seed, format 1) is
recorded with its run files, and the report files beside them; anything else in the folder
stays the user's. A folder holding neither a manifest nor such a run folder, and not
empty, is not a study folder: `compare` refuses it (`ledger.check_before_loading`).

Example:
    >>> manifest = Manifest.open(out_dir)  # doctest: +SKIP
    >>> manifest.matches("baseline/seed0/result.json")  # doctest: +SKIP
    True
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from regkit._io import LOCK_NAME, atomic_write_text, read_regular_text, temp_target
from regkit.experiments.study.specs import REPORT_FILES, folder_name

__all__ = [
    "MANIFEST_NAME",
    "Manifest",
    "ManifestError",
    "describe_kind",
    "is_old_run_settings",
    "lock_file_problem",
]

#: The manifest's file name, at the top of the study folder.
MANIFEST_NAME = ".regkit-manifest.json"
#: The manifest's layout version.
MANIFEST_FORMAT = 1
#: The largest manifest read (about 200,000 recorded files).
MAX_MANIFEST_BYTES = 64 * 2**20
#: The largest `settings.json` read.
MAX_SETTINGS_BYTES = 4 * 2**20

SETTINGS_FILE = "settings.json"
BACKUP_DIR = "backup"
#: What an empty study folder may hold: regkit's lock and manifest.
_OWN_TOP = (LOCK_NAME, MANIFEST_NAME)


class ManifestError(ValueError):
    """The manifest cannot be read (damaged, not a regular file, too large)."""


def describe_kind(path: Path) -> str:
    """What is at `path`, for messages: a symlink, a folder, a FIFO, a file, ..."""
    try:
        mode = os.lstat(path).st_mode
    except OSError:
        return "missing"
    for test, name in (
        (stat.S_ISLNK, "a symlink"),
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISREG, "a file"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
    ):
        if test(mode):
            return name
    return "not a regular file"


def _stamp(path: Path) -> dict[str, int] | None:
    """A regular file's size and modification time (ns); None for anything else."""
    try:
        info = os.lstat(path)
    except OSError:
        return None
    if not stat.S_ISREG(info.st_mode):
        return None
    return {"size": int(info.st_size), "mtime_ns": int(info.st_mtime_ns)}


def _real_dir(path: Path) -> bool:
    return path.is_dir() and not path.is_symlink()


def read_settings(path: Path) -> Any:
    """A run's `settings.json`, parsed (bounded; never blocks on a FIFO).

    Raises:
        ValueError: not a regular file, too large, not UTF-8 or not JSON, or nested
            deeper than Python parses.
        OSError: it cannot be read.
    """
    text = read_regular_text(path, max_bytes=MAX_SETTINGS_BYTES, what="run settings")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"run settings {str(path)!r} are not JSON ({exc})") from None
    except RecursionError:
        raise ValueError(f"run settings {str(path)!r} nest deeper than any run's") from None


def is_old_run_settings(directory: Path) -> bool:
    """Whether `directory` (`<folder>/seed<k>`) holds a regkit run's `settings.json`: a
    JSON object whose `variant` maps to that folder, whose `seed` is k and whose
    `format`, if any, is 1 (what regkit 0.2 and later write)."""
    path = directory / SETTINGS_FILE
    if path.is_symlink() or not path.is_file() or not directory.name.startswith("seed"):
        return False
    try:
        data = read_settings(path)
    except (OSError, ValueError):
        return False
    if not isinstance(data, dict):
        return False
    variant, seed = data.get("variant"), data.get("seed")
    return (
        isinstance(variant, str)
        and folder_name(variant) == directory.parent.name
        and isinstance(seed, int)
        and not isinstance(seed, bool)
        and directory.name == f"seed{seed}"
        and data.get("format", 1) == 1
    )


class Manifest:
    """The files and folders regkit made in one study folder (see the module's text).

    Paths are relative to the study folder, with `/` between parts.

    Args:
        out_dir: The study folder.
        run_files: The names of the files regkit writes in a run folder.
        run_dirs: The names of the folders regkit writes in a run folder.
    """

    def __init__(
        self, out_dir: Path, run_files: tuple[str, ...], run_dirs: tuple[str, ...]
    ) -> None:
        self.out_dir = Path(out_dir)
        self.run_files = tuple(run_files)
        self.run_dirs = tuple(run_dirs)
        self.folders: set[str] = set()
        self.files: dict[str, dict[str, int]] = {}
        self.runs: dict[str, dict[str, Any]] = {}

    @property
    def path(self) -> Path:
        return self.out_dir / MANIFEST_NAME

    # ------------------------------------------------------------------ reading
    @classmethod
    def load(
        cls, out_dir: Path, run_files: tuple[str, ...], run_dirs: tuple[str, ...]
    ) -> Manifest | None:
        """The folder's manifest, or None where it has none.

        Raises:
            ManifestError: the manifest is not a regular file, too large, or damaged.
        """
        manifest = cls(out_dir, run_files, run_dirs)
        path = manifest.path
        if not path.exists() and not path.is_symlink():
            return None
        if path.is_symlink():
            raise ManifestError(f"{path} is a symlink; regkit does not follow it")
        try:
            text = read_regular_text(path, max_bytes=MAX_MANIFEST_BYTES, what="study manifest")
            data = json.loads(text)
        except (OSError, ValueError, RecursionError) as exc:
            raise ManifestError(f"{path} cannot be read ({exc})") from None
        try:
            manifest._take(data)
        except (TypeError, ValueError, KeyError, AttributeError) as exc:
            raise ManifestError(f"{path} is damaged ({exc})") from None
        return manifest

    def _take(self, data: Any) -> None:
        if not isinstance(data, dict) or data.get("regkit_manifest") != MANIFEST_FORMAT:
            raise ValueError(f"not a regkit manifest of format {MANIFEST_FORMAT}")
        folders, files, runs = data["folders"], data["files"], data["runs"]
        if not (isinstance(folders, list) and isinstance(files, dict) and isinstance(runs, dict)):
            raise TypeError("folders, files and runs must be a list and two objects")
        for name in [*folders, *files, *runs]:
            _check_relative(name)
        for name, stamp in files.items():
            if not (
                isinstance(stamp, dict)
                and all(type(stamp.get(k)) is int for k in ("size", "mtime_ns"))
            ):
                raise TypeError(f"the record of {name!r} is not a size and time")
        for name, run in runs.items():
            if not isinstance(run, dict) or type(run.get("open")) is not bool:
                raise TypeError(f"the record of run {name!r} has no open flag")
        self.folders = set(folders)
        self.files = {k: {"size": v["size"], "mtime_ns": v["mtime_ns"]} for k, v in files.items()}
        self.runs = {k: {"open": v["open"]} for k, v in runs.items()}

    @classmethod
    def adopt(
        cls, out_dir: Path, run_files: tuple[str, ...], run_dirs: tuple[str, ...]
    ) -> Manifest | None:
        """A manifest for a study folder regkit 0.3 or earlier wrote (see the module's
        text), or None where no run folder proves the folder regkit's."""
        manifest = cls(out_dir, run_files, run_dirs)
        for variant_dir in sorted(out_dir.iterdir()):
            if not _real_dir(variant_dir):
                continue
            for seed_dir in sorted(variant_dir.glob("seed*")):
                if _real_dir(seed_dir) and is_old_run_settings(seed_dir):
                    rel = manifest.rel(seed_dir)
                    manifest.folders.update({manifest.rel(variant_dir), rel})
                    manifest.runs[rel] = {"open": False}
                    manifest.rescan_run(rel)
        if not manifest.runs:
            return None
        manifest.record_report_files()
        return manifest

    # ------------------------------------------------------------------ queries
    def rel(self, path: Path) -> str:
        return Path(path).relative_to(self.out_dir).as_posix()

    def abs(self, rel: str) -> Path:
        return self.out_dir.joinpath(*rel.split("/"))

    def linked_parent(self, path: Path) -> Path | None:
        """The first symlink among `path` and its folders inside the study folder."""
        chain = [Path(path), *Path(path).parents]
        for folder in reversed(chain[: chain.index(self.out_dir)] if self.out_dir in chain else []):
            if folder.is_symlink():
                return folder
        return None

    def matches(self, rel: str) -> bool:
        """Whether file `rel` is recorded and still the regular file regkit left."""
        recorded = self.files.get(rel)
        return recorded is not None and _stamp(self.abs(rel)) == recorded

    def owns(self, rel: str) -> bool:
        """Whether `rel` is a folder regkit made or holds a file or run regkit recorded."""
        prefix = rel + "/"
        return (
            rel in self.folders
            or rel in self.runs
            or any(name.startswith(prefix) for name in self.files)
        )

    def under(self, rel: str) -> Iterator[str]:
        """The recorded files inside folder `rel`."""
        prefix = rel + "/"
        return (name for name in list(self.files) if name.startswith(prefix))

    # ------------------------------------------------------------------ recording
    def record_file(self, path: Path) -> None:
        """Records the regular file regkit just wrote at `path` (anything else: forgotten)."""
        rel = self.rel(path)
        stamp = _stamp(path)
        if stamp is None:
            self.files.pop(rel, None)
        else:
            self.files[rel] = stamp

    def make_folders(self, path: Path) -> None:
        """Creates folder `path` and its missing parents under the study folder, recording
        each one it creates."""
        missing = []
        current = Path(path)
        while current != self.out_dir and not current.exists() and not current.is_symlink():
            missing.append(current)
            current = current.parent
        for folder in reversed(missing):
            folder.mkdir(exist_ok=True)
            self.folders.add(self.rel(folder))
        Path(path).mkdir(parents=True, exist_ok=True)

    def open_run(self, directory: Path) -> None:
        """Marks a run folder as written into by a run (its files are recorded later)."""
        self.runs[self.rel(directory)] = {"open": True}

    def rescan_run(self, rel: str, *, close: bool = False) -> None:
        """Records what a run left in run folder `rel`: its regkit-named regular files,
        its `backup/` (regkit's backup names only) and `tensorboard/` trees. Files
        recorded before and gone now are forgotten. `close`: the run is over."""
        directory = self.abs(rel)
        depth = rel.count("/") + 1
        for name in list(self.under(rel)):  # what the run removed (e.g. its backup)
            first = name.split("/")[depth]
            if first in (*self.run_files, *self.run_dirs) and _stamp(self.abs(name)) is None:
                self.files.pop(name, None)
        for name in list(self.folders):
            if name.startswith(rel + "/") and not _real_dir(self.abs(name)):
                self.folders.discard(name)
        if not _real_dir(directory):
            self.runs.pop(rel, None)
            return
        for name in self.run_files:
            path = directory / name
            if _stamp(path) is not None:
                self.record_file(path)
        for name in self.run_dirs:
            folder = directory / name
            if not _real_dir(folder):
                continue
            self.folders.add(self.rel(folder))
            for inner in _walk(folder):
                if _real_dir(inner):
                    self.folders.add(self.rel(inner))
                elif _own_run_file(folder, inner):
                    self.record_file(inner)
        if close:
            self.runs[rel] = {"open": False}

    def record_report_files(self) -> None:
        """Records the report files at the top of the study folder as they are now."""
        for name in REPORT_FILES:
            path = self.out_dir / name
            if _stamp(path) is not None:
                self.record_file(path)
            else:
                self.files.pop(name, None)

    def save(self) -> None:
        """Writes the manifest atomically."""
        data = {
            "regkit_manifest": MANIFEST_FORMAT,
            "folders": sorted(self.folders),
            "files": dict(sorted(self.files.items())),
            "runs": dict(sorted(self.runs.items())),
        }
        atomic_write_text(self.path, json.dumps(data, indent=0) + "\n")

    def forget(self, rels: Iterable[str]) -> None:
        for rel in rels:
            self.files.pop(rel, None)
            self.folders.discard(rel)
            self.runs.pop(rel, None)


def _check_relative(name: Any) -> None:
    if not isinstance(name, str) or not name:
        raise TypeError(f"a recorded path is not a non-empty str: {name!r}")
    parts = name.split("/")
    if name.startswith("/") or "\\" in name or any(p in ("", ".", "..") for p in parts):
        raise ValueError(f"a recorded path leaves the study folder: {name!r}")


def _walk(folder: Path) -> Iterator[Path]:
    """Everything under `folder`, never following links."""
    for root, dirs, files in os.walk(folder, followlinks=False):
        for name in [*dirs, *files]:
            yield Path(root) / name


def _own_run_file(top: Path, inner: Path) -> bool:
    """Whether `inner` (in a run's `backup/` or `tensorboard/` folder `top`) is a regular
    file of a name regkit writes there: backup files by `is_backup_file`, any file
    TensorBoard writes."""
    if _stamp(inner) is None:
        return False
    if top.name == BACKUP_DIR:
        from regkit.callbacks.state import is_backup_file  # defers Keras (heavy)

        return inner.parent == top and is_backup_file(inner.name)
    return True


def is_empty_folder(out_dir: Path) -> bool:
    """Whether `out_dir` holds nothing but regkit's lock, manifest and temporary files."""
    for entry in out_dir.iterdir():
        if entry.name == MANIFEST_NAME or lock_file_problem(entry) is None:
            continue
        if temp_target(entry.name) in (*_OWN_TOP, *REPORT_FILES) and _stamp(entry):
            continue
        return False
    return True


def lock_file_problem(path: Path) -> str | None:
    """Why `path` (named `.regkit.lock`) is not the empty lock file regkit keeps, or None.

    The lock holds nothing (the operating system's lock is on the open file), so a file
    of that name with content, or anything else of that name, is not regkit's."""
    if path.name != LOCK_NAME:
        return f"{path} is not regkit's lock file"
    stamp = _stamp(path)
    if stamp is None and describe_kind(path) != "missing":
        return f"{path} is {describe_kind(path)}, where regkit keeps its (empty) lock file"
    if stamp is not None and stamp["size"] != 0:
        return f"{path} holds {stamp['size']} bytes, where regkit keeps its (empty) lock file"
    return None


def _problem_kind(path: Path, want_dir: bool) -> str | None:
    """Why `path` is not what regkit writes there (a link, a FIFO, a folder for a file...),
    or None where it is (or nothing is there)."""
    kind = describe_kind(path)
    if kind == "missing" or kind == ("a folder" if want_dir else "a file"):
        return None
    return f"{path} is {kind}, where regkit writes {'a folder' if want_dir else 'a file'}"


class Cleanup:
    """What `--restart` checks and removes, from a study folder's `Manifest`."""

    def __init__(self, manifest: Manifest) -> None:
        self.manifest = manifest

    def run_problems(self, rel: str) -> list[str]:
        """What in run folder `rel` is not what regkit left there: a link or other kind
        under a name regkit writes, a foreign file in its backup folder, a file regkit
        recorded that has changed since, a regkit-named file it never recorded."""
        m = self.manifest
        directory = m.abs(rel)
        link = m.linked_parent(directory)
        if link is not None:
            return [f"{link} is a symlink, where regkit made a folder"]
        if not _real_dir(directory):
            return []
        problems = []
        for name in m.run_files:
            path = directory / name
            why = _problem_kind(path, want_dir=False)
            if why:
                problems.append(why)
            elif path.exists():
                key = m.rel(path)
                if key not in m.files:
                    problems.append(f"{path} is not a file regkit recorded")
                elif not m.matches(key):
                    problems.append(f"{path} has changed since regkit wrote it")
        for name in m.run_dirs:
            folder = directory / name
            why = _problem_kind(folder, want_dir=True)
            if why:
                problems.append(why)
                continue
            if not folder.exists():
                continue
            for inner in _walk(folder):
                if inner.is_symlink() or not (_real_dir(inner) or _own_run_file(folder, inner)):
                    problems.append(f"{inner} is not a file regkit wrote")
                elif not _real_dir(inner) and not m.matches(m.rel(inner)):
                    problems.append(f"{inner} has changed since regkit wrote it")
        return problems

    def problems(self) -> list[str]:
        """Everything that would make a restart delete or follow what regkit did not write."""
        m = self.manifest
        problems = []
        for name in REPORT_FILES:
            why = _problem_kind(m.out_dir / name, want_dir=False)
            if why:
                problems.append(why)
        for rel in sorted(m.runs):
            problems += self.run_problems(rel)
        return problems

    def discard(self) -> list[Path]:
        """Removes every recorded file that is still as regkit left it, the temporary
        files of regkit's names in its run folders, then the recorded folders left
        empty; forgets the runs. Check `problems` first."""
        m = self.manifest
        removed: list[Path] = []
        for rel in sorted(m.runs):
            if _real_dir(m.abs(rel)):
                removed += _remove_temps(m.abs(rel), m.run_files)
        for rel in sorted(m.files):
            path = m.abs(rel)
            if m.matches(rel) and m.linked_parent(path.parent) is None:
                path.unlink()
                removed.append(path)
            m.files.pop(rel)
        for rel in sorted(m.folders, key=lambda r: -r.count("/")):
            folder = m.abs(rel)
            if _real_dir(folder) and not any(folder.iterdir()):
                folder.rmdir()
                removed.append(folder)
                m.folders.discard(rel)
            elif not _real_dir(folder):
                m.folders.discard(rel)  # gone (a folder holding a user's file stays regkit's)
        m.runs.clear()
        return removed

    def remove_stale_temps(self) -> list[Path]:
        """Removes the temporary files a killed writer left: only regkit's temporary names
        of regkit's files, at the top and in the run folders regkit made."""
        m = self.manifest
        removed = _remove_temps(m.out_dir, (*REPORT_FILES, *_OWN_TOP))
        for rel in m.runs:
            if _real_dir(m.abs(rel)) and not m.abs(rel).parent.is_symlink():
                removed += _remove_temps(m.abs(rel), m.run_files)
        return removed


def _remove_temps(directory: Path, names: tuple[str, ...]) -> list[Path]:
    removed = []
    for entry in directory.iterdir():
        if temp_target(entry.name) in names and _stamp(entry) is not None:
            try:
                entry.unlink()
            except OSError:
                continue
            removed.append(entry)
    return removed


def foreign_entries(manifest: Manifest | None, directory: Path) -> list[str]:
    """The entries of an existing run folder that regkit did not make (all of them when
    the folder is not one regkit made or adopted; none when it is)."""
    if not _real_dir(directory):
        return []
    rel = directory.relative_to(directory.parent.parent).as_posix()
    if manifest is not None and manifest.owns(rel):
        return []
    return sorted(entry.name for entry in directory.iterdir())
