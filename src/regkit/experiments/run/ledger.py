"""A study folder is a ledger: each run folder records the settings it ran with.

`compare(out_dir=...)` writes every run into `out_dir/<variant>/seed<k>/`: first
`settings.json` (the run's full settings), then the checkpoint, CSV log and backup while
it trains, and `result.json` (its `RunResult`) when it finishes. Rerunning into the same
folder therefore knows what each run folder holds:

- same settings and `result.json`: the run is **reused** (not trained again);
- same settings, no `result.json`: an interrupted run, **resumed** from its backup;
- other settings: the study is **refused before any training**, naming the settings that
  differ; `restart=True` (`--restart`) discards the earlier runs first.

`Study` also holds the folder's lock (`regkit._io.FolderLock`) for as long as the study
runs, so a second process is refused at once, and refuses run folders reached through
symlinks: regkit never writes through a link planted in its output.

Example:
    >>> study = Study(plan, restart=False)  # doctest: +SKIP
    >>> with study:  # lock, check every run folder, before any training
    ...     slots = study.slots()
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import shutil
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from regkit._io import LOCK_NAME, FolderBusyError, FolderLock, atomic_write_text, temp_target
from regkit.config import Regularization
from regkit.experiments.study.config import StudyConfig
from regkit.experiments.study.records import RunResult, Variant, jsonable
from regkit.experiments.study.specs import CHECKPOINT_NAME, REPORT_FILES, folder_name

__all__ = [
    "BACKUP_DIR",
    "CHECKPOINT_NAME",
    "ERROR_FILE",
    "LOG_FILE",
    "REPORT_FILES",
    "RESULT_FILE",
    "RUN_FILES",
    "SETTINGS_FILE",
    "RunSlot",
    "Study",
    "StudyFolderError",
    "remove_partial_files",
    "run_folder",
    "run_settings",
    "write_result",
]

SETTINGS_FILE = "settings.json"
RESULT_FILE = "result.json"
ERROR_FILE = "error.txt"
LOG_FILE = "log.csv"
BACKUP_DIR = "backup"
#: The folders regkit writes in a run folder: the backup, TensorBoard's logs.
RUN_DIRS = (BACKUP_DIR, "tensorboard")
#: The files regkit writes in a run folder (besides `BACKUP_DIR`).
RUN_FILES = (SETTINGS_FILE, RESULT_FILE, ERROR_FILE, LOG_FILE, CHECKPOINT_NAME, "model.keras")
#: The version of the settings.json layout.
SETTINGS_FORMAT = 1


class StudyFolderError(ValueError):
    """The study folder cannot be used as asked (busy, other settings, a symlink).

    A `ValueError` naming `out_dir`; the command line turns it into exit status 2.
    """


def _refuse(out_dir: Path, why: str, how: str = "") -> StudyFolderError:
    return StudyFolderError(
        f"Invalid value for argument `out_dir`: {why}.{' ' + how if how else ''} "
        f"Received: out_dir={str(out_dir)!r}"
    )


def check_before_loading(study: Any, variants: Any, checked: Any) -> None:
    """The study-folder checks `plan_study` runs before the data set loads (see below)."""


def run_folder(out_dir: Path, name: str, seed: int) -> Path:
    """Where the run of variant `name` with `seed` lives: `out_dir/<folder>/seed<k>`."""
    return Path(out_dir) / folder_name(name) / f"seed{int(seed)}"


def run_settings(plan: Any, name: str, variant: Variant, seed: int) -> dict[str, Any]:
    """Everything that determines one run's figures, as JSON-ready data.

    The variant's `Regularization` (BatchNorm momentum included), every study setting
    whose change invalidates finished runs (`StudyConfig.invalidating()`, as the report's
    config records it, with the variant's own optimizer, learning rate and augmentation
    where it has them), the model's input and the splits' sizes, and the seed. Progress
    output, plots and the distribution strategy are left out: they do not change the
    figures.
    """
    config = plan.config
    settings = {
        "format": SETTINGS_FORMAT,
        "variant": name,
        "seed": int(seed),
        "regularization": variant.reg.to_dict(),
        "input_shape": config["input_shape"],
        "num_classes": config["num_classes"],
        "split_sizes": dict(getattr(plan.splits, "num_examples", None) or {}),
        "image_shape": config["image_shape"],
        **{key: config[key] for key in StudyConfig.invalidating()},
        **plan.run_values(name),
    }
    return json.loads(json.dumps(jsonable(settings)))  # as it reads back from disk


def setting_defaults() -> dict[str, Any]:
    """What a run folder written before a setting or field existed counts it as.

    A 0.2 run folder's settings lack the 0.3 `Regularization` fields and any newer study
    setting: those count as their defaults, so its finished runs are reused.
    """
    return json.loads(
        json.dumps(
            jsonable(
                {
                    **{
                        f.name: f.default
                        if f.metadata["absent"] is dataclasses.MISSING
                        else f.metadata["absent"]
                        for f in dataclasses.fields(StudyConfig)
                    },
                    "regularization": Regularization().to_dict(),
                }
            )
        )
    )


def with_defaults(old: Any, defaults: Any) -> Any:
    """`old` settings with every key it lacks taken from `defaults` (recursively)."""
    if not isinstance(old, dict) or not isinstance(defaults, dict):
        return old
    filled = {k: with_defaults(v, defaults.get(k)) for k, v in old.items()}
    for key, value in defaults.items():
        filled.setdefault(key, value)
    return filled


def _differences(old: Any, new: Any, prefix: str = "") -> list[str]:
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for key in [*old, *(k for k in new if k not in old)]:
            out += _differences(old.get(key), new.get(key), f"{prefix}{key}.")
        return out
    if old == new or (_number(old) and _number(new) and math.isclose(old, new, rel_tol=1e-12)):
        return []
    return [f"{prefix[:-1]} {old!r} -> {new!r}"]


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def write_result(directory: Path, result: RunResult) -> None:
    """Records a finished run (atomically; a run without it counts as unfinished)."""
    text = json.dumps(result.to_dict(), indent=1, allow_nan=False)
    atomic_write_text(directory / RESULT_FILE, text + "\n")


@dataclasses.dataclass
class RunSlot:
    """One planned run and what its folder already holds.

    Attributes:
        name: The variant's name.
        variant: The variant.
        seed: The seed.
        directory: The run folder.
        settings: The run's settings (`run_settings`).
        previous: The finished run with the same settings, to reuse; else None.
    """

    name: str
    variant: Variant
    seed: int
    directory: Path
    settings: dict[str, Any]
    previous: RunResult | None = None


class Study:
    """The runs of a plan in their study folder: lock, checks, restart, reuse.

    Args:
        plan: The checked `Plan`; with `plan.study.out_dir` None the runs go to a fresh
            temporary folder (nothing is kept, nothing is checked).
        restart: Discard the folder's earlier runs (only files regkit wrote) first.
        workdir: The folder to use when `plan.study.out_dir` is None.

    Raises:
        StudyFolderError: (on entering) the folder is in use by another live process,
            holds runs with other settings (named, with how to proceed), or a run
            folder is or holds a symlink.
    """

    def __init__(self, plan: Any, *, restart: bool = False, workdir: Path | None = None):
        self.plan = plan
        self.restart = bool(restart)
        self.out_dir = Path(plan.study.out_dir) if plan.study.out_dir is not None else workdir
        self.kept = plan.study.out_dir is not None
        self._lock: FolderLock | None = None
        self._slots: list[RunSlot] = []

    # ------------------------------------------------------------------ lifetime
    def __enter__(self) -> Study:
        self.open()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def open(self) -> list[RunSlot]:
        """Locks the folder, restarts it if asked, and checks every run folder."""
        if self.out_dir is None:
            raise ValueError("Study needs plan.study.out_dir or a workdir")
        if self.kept:
            self._lock = FolderLock(self.out_dir)
            try:
                self._lock.acquire()
            except FolderBusyError as exc:
                self._lock = None
                raise _refuse(
                    self.out_dir,
                    f"a study folder no other live process is using ({exc})",
                    "Wait for the other study to finish, or choose another folder.",
                ) from None
        try:
            if self.kept:
                self.remove_stale_temps()  # a killed run's half-written files
            if self.restart and self.kept:
                self.discard()
            self._slots = self._check()
        except BaseException:
            self.close()
            raise
        return self._slots

    def close(self) -> None:
        """Releases the folder's lock."""
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def slots(self) -> list[RunSlot]:
        """The planned runs in order (seed-major), each with its folder's state."""
        return list(self._slots)

    # ------------------------------------------------------------------ checks
    def add(self, pairs: Sequence[tuple[str, int]]) -> list[RunSlot]:
        """The slots of `(variant, seed)` runs planned after the study opened (a later round
        of adaptive seeds, a tuned arm's runs), each checked as `open` checks the first
        ones (settings compared, links refused); runs planned already keep their slot.

        Raises:
            StudyFolderError: a run folder holds a run with other settings, or a link.
        """
        known = {(slot.name, slot.seed): slot for slot in self._slots}
        added = self._check([pair for pair in dict.fromkeys(pairs) if pair not in known])
        self._slots.extend(added)
        known.update({(slot.name, slot.seed): slot for slot in added})
        return [known[pair] for pair in pairs]

    def _check(self, pairs: Sequence[tuple[str, int]] | None = None) -> list[RunSlot]:
        out_dir = self.out_dir
        if out_dir is None:  # pragma: no cover - open() checked it
            return []
        if pairs is None:  # the plan's seeds, seed-major
            pairs = [(name, seed) for seed in self.plan.study.seeds for name in self.plan.variants]
        slots = []
        differing: list[str] = []
        for name, seed in pairs:
            variant = self.plan.variants[name]
            directory = run_folder(out_dir, name, seed)
            settings = run_settings(self.plan, name, variant, seed)
            slot = RunSlot(name, variant, seed, directory, settings)
            if self.kept:
                self._check_links(directory)
                diff = self._compare(slot)
                if diff:
                    differing.append(f"{name} seed {seed}: {'; '.join(diff)}")
            slots.append(slot)
        if differing:
            shown = differing[:8] + (
                [f"... and {len(differing) - 8} more"] if differing[8:] else []
            )
            raise _refuse(
                out_dir,
                "a study folder whose earlier runs match these settings; these differ: "
                + " | ".join(shown),
                "Rerun with --restart (Python: restart=True) to discard the earlier runs, "
                "or write to another folder (--out / out_dir).",
            )
        return slots

    def _check_links(self, directory: Path) -> None:
        for path in (directory.parent, directory):
            if path.is_symlink():
                raise _refuse(
                    self.out_dir or path,
                    f"run folders that are not symlinks ({path} is one; regkit does not "
                    "write through links)",
                )
        if directory.is_dir():
            for entry in directory.iterdir():
                if entry.is_symlink():
                    raise _refuse(
                        self.out_dir or entry,
                        f"run folders without symlinks ({entry} is one; regkit does not "
                        "write through links)",
                        "Remove the link, or rerun with --restart (restart=True).",
                    )

    def _compare(self, slot: RunSlot) -> list[str]:
        directory = slot.directory
        settings_path = directory / SETTINGS_FILE
        if not settings_path.exists():
            ours = [n for n in (*RUN_FILES, BACKUP_DIR) if (directory / n).exists()]
            if ours:  # files of a run whose settings regkit cannot verify
                return [f"no {SETTINGS_FILE} beside {', '.join(ours)} (an older regkit's run)"]
            return []
        try:
            old = json.loads(settings_path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
            return [f"{settings_path} is unreadable ({type(exc).__name__})"]
        try:
            if isinstance(old, dict):
                defaults = setting_defaults()
                kept = {k: v for k, v in defaults.items() if k in slot.settings}
                old = with_defaults(old, kept)
            diff = _differences(old, slot.settings)
        except RecursionError:
            return [f"{settings_path} nests deeper than any run's settings"]
        if diff:
            return diff
        result_path = directory / RESULT_FILE
        if result_path.is_file():
            try:
                data = json.loads(result_path.read_text(encoding="utf-8"))
                previous = RunResult.from_dict(data)
            except (OSError, ValueError, TypeError, KeyError, AttributeError, RecursionError):
                return []  # unreadable: the run is trained again
            previous.origin = "reused"
            slot.previous = previous
        return []

    # ------------------------------------------------------------------ writing
    def begin(self, slot: RunSlot) -> None:
        """Creates the run folder and records its settings (before any training)."""
        slot.directory.mkdir(parents=True, exist_ok=True)
        text = json.dumps(slot.settings, indent=1, sort_keys=True)
        atomic_write_text(slot.directory / SETTINGS_FILE, text + "\n")

    def discard(self) -> list[Path]:
        """Deletes the earlier runs' files regkit wrote (and nothing else).

        Removes, in each `<variant>/seed<k>/` folder that holds a `settings.json` or
        regkit's run files: those files, the backup folder and regkit's temporary
        files; then the folders left empty; then the report files. A user's own files
        (and symlinks) stay where they are.

        Everything is checked before anything is deleted: a run folder that is not
        exactly what regkit left there (a link where regkit writes a file or folder, a
        folder where it writes a file, a foreign file inside regkit's backup folder)
        refuses the restart and nothing is removed.

        Returns:
            The paths removed.

        Raises:
            StudyFolderError: the folder holds something regkit did not write where
                regkit would delete (named, with what to do).
        """
        out_dir = self.out_dir
        removed: list[Path] = []
        if out_dir is None or not out_dir.is_dir():
            return removed
        problems = self.discard_problems()
        if problems:
            shown = problems[:8] + ([f"... and {len(problems) - 8} more"] if problems[8:] else [])
            raise _refuse(
                out_dir,
                "a study folder whose earlier runs hold only what regkit wrote, to discard "
                "them; nothing was deleted, because: " + " | ".join(shown),
                "Move those files away (or choose another folder with --out / out_dir) and "
                "restart again.",
            )
        for variant_dir in sorted(p for p in out_dir.iterdir() if _real_dir(p)):
            for seed_dir in sorted(variant_dir.glob("seed*")):
                if _real_dir(seed_dir) and _is_run_folder(seed_dir):
                    removed += _discard_run(seed_dir)
            if not any(variant_dir.iterdir()):
                variant_dir.rmdir()
                removed.append(variant_dir)
        for name in REPORT_FILES:
            path = out_dir / name
            if path.is_file() and not path.is_symlink():
                path.unlink()
                removed.append(path)
        return removed

    def discard_problems(self) -> list[str]:
        """What would make `discard` delete or follow something regkit did not write."""
        out_dir = self.out_dir
        problems: list[str] = []
        if out_dir is None or not out_dir.is_dir():
            return problems
        planned = {folder_name(name) for name in self.plan.variants}
        for name in REPORT_FILES:
            path = out_dir / name
            if path.is_symlink() or (path.exists() and not path.is_file()):
                problems.append(f"{path} is {_kind(path)}, where regkit writes a file")
        for variant_dir in sorted(out_dir.iterdir()):
            if variant_dir.is_symlink() and variant_dir.name in planned:
                problems.append(f"{variant_dir} is a symlink, where regkit writes run folders")
            if not _real_dir(variant_dir):
                continue
            for seed_dir in sorted(variant_dir.glob("seed*")):
                if seed_dir.is_symlink():
                    problems.append(f"{seed_dir} is a symlink, where regkit writes a run folder")
                elif _real_dir(seed_dir) and _is_run_folder(seed_dir):
                    problems += _run_folder_problems(seed_dir)
        return problems

    def remove_stale_temps(self) -> list[Path]:
        """Removes the temporary files a killed writer left (only regkit's temp names of
        regkit's files, never through links) in the study folder and its run folders."""
        out_dir = self.out_dir
        removed: list[Path] = []
        if out_dir is None or not _real_dir(out_dir):
            return removed
        removed += _remove_temps(out_dir, (*REPORT_FILES, LOCK_NAME))
        for variant_dir in out_dir.iterdir():
            if _real_dir(variant_dir):
                for seed_dir in variant_dir.glob("seed*"):
                    if _real_dir(seed_dir):
                        removed += _remove_temps(seed_dir, RUN_FILES)
        return removed


def _kind(path: Path) -> str:
    if path.is_symlink():
        return "a symlink"
    return "a folder" if path.is_dir() else "a file"


def _remove_temps(directory: Path, names: tuple[str, ...]) -> list[Path]:
    removed = []
    for entry in directory.iterdir():
        if temp_target(entry.name) in names and entry.is_file() and not entry.is_symlink():
            with contextlib.suppress(OSError):
                entry.unlink()
                removed.append(entry)
    return removed


def _run_folder_problems(directory: Path) -> list[str]:
    """Where a run folder holds, under a name regkit deletes, something regkit did not
    write (a link, a folder for a file, a file for a folder, a foreign file in regkit's
    backup or log folder)."""
    from regkit.callbacks.state import is_backup_file  # defers Keras (heavy)

    problems = []
    for entry in sorted(directory.iterdir()):
        name = entry.name
        if name in RUN_FILES or temp_target(name) in RUN_FILES:
            if entry.is_symlink() or not entry.is_file():
                problems.append(f"{entry} is {_kind(entry)}, where regkit writes a file")
        elif name in RUN_DIRS:
            if entry.is_symlink() or not entry.is_dir():
                problems.append(f"{entry} is {_kind(entry)}, where regkit writes a folder")
                continue
            for inner in entry.rglob("*"):
                own = name != BACKUP_DIR or is_backup_file(inner.name)
                if inner.is_symlink() or not own:
                    problems.append(f"{inner} is not a file regkit wrote")
    return problems  # other files are the user's: they stay where they are


def _real_dir(path: Path) -> bool:
    return path.is_dir() and not path.is_symlink()


def _is_run_folder(directory: Path) -> bool:
    return any(
        (directory / n).exists() or (directory / n).is_symlink() for n in (*RUN_FILES, *RUN_DIRS)
    )


def _discard_run(directory: Path) -> list[Path]:
    removed = []
    for name in RUN_FILES:
        path = directory / name
        if path.is_file() and not path.is_symlink():
            path.unlink()
            removed.append(path)
    for name in RUN_DIRS:
        folder = directory / name
        if _real_dir(folder):
            shutil.rmtree(folder)
            removed.append(folder)
    removed += _remove_temps(directory, RUN_FILES)
    if not any(directory.iterdir()):
        directory.rmdir()
        removed.append(directory)
    return removed


def remove_partial_files(directory: Path) -> None:
    """After a failed write: drops regkit's temporary files left in a run folder."""
    if _real_dir(directory):
        _remove_temps(directory, RUN_FILES)
