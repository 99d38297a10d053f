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

import dataclasses
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from regkit._io import (
    LOCK_NAME,
    FolderBusyError,
    FolderLock,
    atomic_write_text,
    read_regular_text,
    temp_target,
)
from regkit.config import Regularization
from regkit.experiments.run.manifest import (
    MANIFEST_NAME,
    Cleanup,
    Manifest,
    ManifestError,
    describe_kind,
    foreign_entries,
    is_empty_folder,
    lock_file_problem,
    read_settings,
)
from regkit.experiments.run.preflight import (
    check_combinations,
    check_executor,
    early_settings,
    out_dir_path,
)
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
    "check_before_loading",
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
#: The largest `result.json` read back (a run's history of 100,000 epochs fits).
MAX_RESULT_BYTES = 256 * 2**20


class StudyFolderError(ValueError):
    """The study folder cannot be used as asked (busy, other settings, a symlink).

    A `ValueError` naming `out_dir`; the command line turns it into exit status 2.
    """


def _refuse(out_dir: Path, why: str, how: str = "") -> StudyFolderError:
    return StudyFolderError(
        f"Invalid value for argument `out_dir`: {why}.{' ' + how if how else ''} "
        f"Received: out_dir={str(out_dir)!r}"
    )


def check_before_loading(
    study: StudyConfig, variants: Mapping[str, Variant], checked: Mapping[str, Any]
) -> None:
    """The checks `plan_study` runs before the data set loads, so a refusal comes at once.

    - `out_dir` is None, a non-empty path (str or `os.PathLike`): anything else is named;
    - each variant's fields go together (`ema` with `swa` is refused, by the rule the
      averaging callbacks apply when a run starts);
    - an existing `out_dir` is empty or a study folder (`Manifest`): a folder of other
      files is refused rather than written into;
    - without `restart`, every planned run folder regkit made holds a run of these
      settings, as far as they are known before the data loads (every setting but the
      data set's sizes and what depends on them): one line per differing setting, with
      the runs it affects.

    Args:
        study: The study's settings as given.
        variants: The planned variants.
        checked: Each setting after its own check (`StudyConfig.checked`).

    Raises:
        TypeError: `out_dir` has the wrong type.
        ValueError: `out_dir` is empty text; a variant combines fields that exclude each
            other; the folder is not a study folder or its runs have other settings
            (`StudyFolderError`).
    """
    out_dir = out_dir_path(study.out_dir)
    check_combinations(variants)
    check_executor(study.executor)
    if out_dir is None or not out_dir.is_dir():
        return  # created by the plan (or refused there: a file in the way)
    manifest = study_manifest(out_dir)
    differing: dict[str, list[str]] = {}
    for seed in checked["seeds"]:
        for name, variant in variants.items():
            directory = run_folder(out_dir, name, seed)
            if directory.is_symlink() or directory.parent.is_symlink():
                continue  # refused with the folder locked (Study.open)
            foreign = foreign_entries(manifest, directory)
            if foreign:
                raise _foreign(out_dir, directory, foreign)
            settings_path = directory / SETTINGS_FILE
            if study.restart or not settings_path.is_file() or settings_path.is_symlink():
                continue
            try:
                old = read_settings(settings_path)
            except (OSError, ValueError):
                continue  # named with the folder locked (Study.open)
            new = early_settings(study, name, variant, seed, checked)
            for line in _compared(old, new):
                differing.setdefault(line, []).append(f"{name} seed {seed}")
    if differing:
        raise _refuse_differences(out_dir, differing)


def _compared(old: Any, new: dict[str, Any]) -> list[str]:
    """How the settings `old` (as read) differ from `new`, on `new`'s keys only."""
    if not isinstance(old, dict):
        return ["the run's settings are not a JSON object"]
    filled = with_defaults(old, {k: v for k, v in setting_defaults().items() if k in new})
    try:
        return _differences(_on_keys_of(filled, new), new)
    except RecursionError:
        return ["the run's settings nest deeper than any run's"]


def _on_keys_of(old: Any, new: Any) -> Any:
    """`old` with only the keys `new` has, at every level of nesting."""
    if not isinstance(old, dict) or not isinstance(new, dict):
        return old
    return {k: _on_keys_of(old.get(k), v) for k, v in new.items()}


def _refuse_differences(out_dir: Path, differing: Mapping[str, list[str]]) -> StudyFolderError:
    """The refusal of a folder whose runs have other settings: one line per difference,
    with the runs it affects counted (the first three named)."""
    lines = []
    for what, runs in list(differing.items())[:12]:
        named = ", ".join(runs[:3]) + (f" and {len(runs) - 3} more" if len(runs) > 3 else "")
        lines.append(f"  {what}: {len(runs)} run{'s' if len(runs) != 1 else ''} ({named})")
    if len(differing) > 12:
        lines.append(f"  ... and {len(differing) - 12} more differences")
    return StudyFolderError(
        "Invalid value for argument `out_dir`: the runs already in this study folder were "
        "made with other settings (theirs -> these):\n" + "\n".join(lines) + "\nRerun with "
        "--restart (Python: restart=True) to discard them, or write to another folder "
        f"(--out / out_dir). Received: out_dir={str(out_dir)!r}"
    )


def _foreign(out_dir: Path, directory: Path, names: list[str]) -> StudyFolderError:
    shown = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
    return _refuse(
        out_dir,
        f"run folders that regkit made or is to make; {directory} holds files regkit did "
        f"not make ({shown})",
        "Move them away, or write to another folder (--out / out_dir).",
    )


def study_manifest(out_dir: Path) -> Manifest | None:
    """The manifest of study folder `out_dir` (adopted for a folder of regkit 0.3 or
    earlier), or None for an empty folder.

    Raises:
        StudyFolderError: the folder holds other files and is no study folder, or its
            manifest is damaged.
    """
    try:
        manifest = Manifest.load(out_dir, RUN_FILES, RUN_DIRS)
    except ManifestError as exc:
        raise _refuse(
            out_dir,
            f"a study folder whose manifest regkit can read ({exc})",
            "Without it regkit cannot tell its files from yours: move the files you keep, "
            "or write to another folder (--out / out_dir).",
        ) from None
    if manifest is not None or is_empty_folder(out_dir):
        return manifest
    adopted = Manifest.adopt(out_dir, RUN_FILES, RUN_DIRS)
    if adopted is None:
        shown = sorted(p.name for p in out_dir.iterdir())
        raise _refuse(
            out_dir,
            "an empty folder or a regkit study folder; it holds other files ("
            + ", ".join(shown[:5])
            + (f" and {len(shown) - 5} more" if len(shown) > 5 else "")
            + f") and no {MANIFEST_NAME} or run of regkit's, and regkit would write over them",
            "Choose a new or empty folder (--out / out_dir).",
        )
    return adopted


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
        self.manifest: Manifest | None = None  # what regkit made in the folder (kept only)
        self._begun: set[str] = set()

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
            problem = lock_file_problem(self.out_dir / LOCK_NAME)
            if problem:  # a user's file of that name: opening it to lock would truncate it
                raise _refuse(self.out_dir, f"a study folder ({problem})", "Move it away.")
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
                self._open_manifest()
                self.remove_stale_temps()  # a killed run's half-written files
            if self.restart and self.kept:
                self.discard()
            self._slots = self._check()
            if self.manifest is not None:
                self.manifest.save()
        except BaseException:
            self.close()
            raise
        return self._slots

    def _open_manifest(self) -> None:
        """Reads (or adopts, or starts) the folder's manifest; records what the runs a
        killed study left open wrote; refuses report files regkit did not write."""
        out_dir = self.out_dir
        if out_dir is None:  # pragma: no cover - open() checked it
            return
        manifest = study_manifest(out_dir) or Manifest(out_dir, RUN_FILES, RUN_DIRS)
        killed = [rel for rel, run in manifest.runs.items() if run["open"]]
        for rel in killed:  # a study killed mid-run: what its runs wrote is regkit's
            manifest.rescan_run(rel, close=(manifest.abs(rel) / RESULT_FILE).is_file())
        if killed:  # so is the partial report it rewrote after each run
            manifest.record_report_files()
        for name in REPORT_FILES:
            path = out_dir / name
            kind = describe_kind(path)
            if kind == "missing" or (kind == "a file" and manifest.matches(name)):
                continue
            if kind != "a file":
                why = f"{kind}, where regkit writes a file"
            elif name in manifest.files:
                why = "changed since regkit wrote it"
            else:
                why = "a file that regkit did not write"
            raise _refuse(
                out_dir,
                f"a study folder whose report files are regkit's to rewrite; {path} is {why}",
                "Move it away (or write to another folder with --out / out_dir).",
            )
        self.manifest = manifest

    def close(self) -> None:
        """Records what this study's runs and report wrote, and releases the lock."""
        manifest = self.manifest
        if manifest is not None and self._lock is not None and self._slots:  # opened
            try:
                for rel in sorted(self._begun):  # over, finished or failed: only a killed
                    manifest.rescan_run(rel, close=True)  # study leaves its runs open
                manifest.record_report_files()
                manifest.save()
            except OSError:  # a full disk: the next study records them (runs left open)
                pass
            self._begun.clear()
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
        differing: dict[str, list[str]] = {}
        for name, seed in pairs:
            variant = self.plan.variants[name]
            directory = run_folder(out_dir, name, seed)
            settings = run_settings(self.plan, name, variant, seed)
            slot = RunSlot(name, variant, seed, directory, settings)
            if self.kept:
                self._check_links(directory)
                diff = self._compare(slot)
                for line in diff:
                    differing.setdefault(line, []).append(f"{name} seed {seed}")
            slots.append(slot)
        if differing:
            raise _refuse_differences(out_dir, differing)
        return slots

    def _check_links(self, directory: Path) -> None:
        out_dir = self.out_dir or directory
        for path in (directory.parent, directory):
            if path.is_symlink():
                raise _refuse(
                    out_dir,
                    f"run folders that are not symlinks ({path} is one; regkit does not "
                    "write through links)",
                    "Remove the link (regkit never deletes it), or write to another folder "
                    "(--out / out_dir).",
                )
        foreign = foreign_entries(self.manifest, directory)
        if foreign:
            raise _foreign(out_dir, directory, foreign)
        if directory.is_dir():
            for entry in sorted(directory.iterdir()):
                kind = describe_kind(entry)
                want = "a folder" if entry.name in RUN_DIRS else "a file"
                if kind == "a symlink" or (entry.name in (*RUN_FILES, *RUN_DIRS) and kind != want):
                    raise _refuse(
                        out_dir,
                        f"run folders without links, FIFOs or devices where regkit reads "
                        f"and writes ({entry} is {kind}, where regkit writes {want})",
                        "Remove or rename it yourself (regkit never deletes what it did not "
                        "write, so --restart would refuse too), or write to another folder "
                        "(--out / out_dir).",
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
            old = read_settings(settings_path)
        except (OSError, ValueError) as exc:
            return [f"{settings_path} is unreadable ({exc})"]
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
        slot.previous = self._finished(slot)
        return []

    def _finished(self, slot: RunSlot) -> RunResult | None:
        """The run's recorded result to reuse: a `result.json` as regkit left it (its size
        and time in the manifest) that reads back as a valid `RunResult` of this variant
        and seed; else None, and the run is trained again."""
        path = slot.directory / RESULT_FILE
        if self.manifest is not None and not self.manifest.matches(self.manifest.rel(path)):
            return None  # changed (or never recorded): not the figures regkit measured
        try:
            text = read_regular_text(path, max_bytes=MAX_RESULT_BYTES, what="run result")
            previous = RunResult.from_dict(json.loads(text))
        except (OSError, ValueError, TypeError, KeyError, AttributeError, RecursionError):
            return None  # unreadable or damaged: the run is trained again
        if previous.variant != slot.name or previous.seed != slot.seed:
            return None
        previous.origin = "reused"
        return previous

    # ------------------------------------------------------------------ writing
    def begin(self, slot: RunSlot) -> None:
        """Creates the run folder and records its settings (before any training); the
        manifest records the folders made, `settings.json`, the run as open (its files
        are recorded when the study closes) and the report as it stands."""
        manifest = self.manifest
        if manifest is None:
            slot.directory.mkdir(parents=True, exist_ok=True)
        else:
            manifest.make_folders(slot.directory)
            manifest.open_run(slot.directory)
            self._begun.add(manifest.rel(slot.directory))
            manifest.save()  # open before anything is written into it
        text = json.dumps(slot.settings, indent=1, sort_keys=True)
        atomic_write_text(slot.directory / SETTINGS_FILE, text + "\n")
        if manifest is not None:
            manifest.record_file(slot.directory / SETTINGS_FILE)
            manifest.record_report_files()
            manifest.save()

    def discard(self) -> list[Path]:
        """Deletes the earlier runs' files regkit wrote (and nothing else).

        Removes what the folder's manifest records, where it is still as regkit left it:
        each run's files, its backup and TensorBoard folders, the report files, then the
        folders regkit made that are left empty. Whatever regkit did not make (a user's
        file or folder, under any name, anywhere in the folder) stays where it is.

        Everything is checked before anything is deleted: a run folder that is not
        exactly what regkit left there (a link or FIFO where regkit writes a file, a
        folder where it writes a file, a foreign file inside regkit's backup folder, a
        recorded file changed since) refuses the restart and nothing is removed.

        Returns:
            The paths removed.

        Raises:
            StudyFolderError: the folder holds something regkit did not write where
                regkit would delete (named, with what to do).
        """
        out_dir = self.out_dir
        if out_dir is None or self.manifest is None or not out_dir.is_dir():
            return []
        cleanup = Cleanup(self.manifest)
        problems = cleanup.problems()
        for seed in self.plan.study.seeds:  # where the new runs go: never through a link
            for name in self.plan.variants:
                folder = run_folder(out_dir, name, seed)
                for path in dict.fromkeys((folder.parent, folder)):
                    if path.is_symlink():
                        problems.append(f"{path} is a symlink, where regkit writes a run folder")
        problems = list(dict.fromkeys(problems))
        if problems:
            shown = problems[:8] + ([f"... and {len(problems) - 8} more"] if problems[8:] else [])
            raise _refuse(
                out_dir,
                "a study folder whose earlier runs hold only what regkit wrote, to discard "
                "them; nothing was deleted, because: " + " | ".join(shown),
                "Move those files away (or choose another folder with --out / out_dir) and "
                "restart again.",
            )
        removed = cleanup.discard()
        self.manifest.save()
        return removed

    def discard_problems(self) -> list[str]:
        """What would make `discard` delete or follow something regkit did not write."""
        return [] if self.manifest is None else Cleanup(self.manifest).problems()

    def remove_stale_temps(self) -> list[Path]:
        """Removes the temporary files a killed writer left (only regkit's temp names of
        regkit's files, never through links) in the study folder and its run folders."""
        return [] if self.manifest is None else Cleanup(self.manifest).remove_stale_temps()


def _real_dir(path: Path) -> bool:
    return path.is_dir() and not path.is_symlink()


def _remove_temps(directory: Path, names: tuple[str, ...]) -> list[Path]:
    removed = []
    for entry in directory.iterdir():
        if temp_target(entry.name) in names and entry.is_file() and not entry.is_symlink():
            try:
                entry.unlink()
            except OSError:
                continue
            removed.append(entry)
    return removed


def remove_partial_files(directory: Path) -> None:
    """After a failed write: drops regkit's temporary files left in a run folder."""
    if _real_dir(directory):
        _remove_temps(directory, RUN_FILES)
