"""svna owns only its own folders: it writes `output:` and `reports:` into a new folder or one it
wrote before, and never deletes or replaces anything else (DESIGN §12).

Every folder svna writes carries a marker file, `.svna-output` (the run id and svna version). A run
checks its targets before any work (`check_targets`), builds in `<folder>.partial` (marked first
thing), and swaps it in only on success; a folder is removed only if it carries the marker (or is
empty). One run at a time per folder: `<folder>.lock` holds the writer's pid and host; a lock whose
process is gone is cleared with a message.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from pipeline import __version__
from pipeline.errors import InputError
from pipeline.runs import run_record
from pipeline.settings.config import RunConfig

MARKER = ".svna-output"
WHAT_TO_DO = ("choose a new folder (svna creates it), or one svna wrote before; "
              "nothing was deleted or written")


def _resolved(path: Path) -> Path:
    return Path(os.path.abspath(Path(path).expanduser()))


def sibling(folder: Path, suffix: str) -> Path:
    """`<folder>.partial`, `<folder>.previous`, `<folder>.lock`."""
    return folder.with_name(folder.name + suffix)


def write_marker(folder: Path, run_id: str | None) -> Path:
    marker = folder / MARKER
    marker.write_text(json.dumps({"written_by": "svna", "svna_version": __version__, "run_id": run_id,
                                  "written": datetime.now(UTC).isoformat()}) + "\n")
    return marker


def is_marked(folder: Path) -> bool:
    """True when svna wrote this folder (its marker file says so)."""
    marker = folder / MARKER
    if folder.is_symlink() or not marker.is_file() or marker.is_symlink():
        return False
    try:
        return json.loads(marker.read_text()).get("written_by") == "svna"
    except (OSError, ValueError, AttributeError):
        return False


def _refuse(folder: Path, key: str, rule: str, found: str) -> InputError:
    return InputError(str(folder), key, rule, f"{found}: {WHAT_TO_DO}")


def _check_replaceable(folder: Path, key: str) -> None:
    """`folder` may be written (absent, empty, or marked by svna); otherwise refuse."""
    if folder.is_symlink():
        raise _refuse(folder, key, "svna writes only to a real folder", "a symbolic link")
    if not folder.exists():
        return
    if not folder.is_dir():
        raise _refuse(folder, key, "svna writes only to a folder", "an existing file")
    if is_marked(folder):
        return
    entries = sum(1 for _ in folder.iterdir())
    if entries:
        raise _refuse(folder, key, f"svna replaces only a folder it wrote itself (one holding its {MARKER} file)",
                      f"a folder of {entries} entr{'y' if entries == 1 else 'ies'} that svna did not write")


def protected_files(cfg: RunConfig) -> list[Path]:
    """The files a run reads: no output may replace a folder holding one of them."""
    files = [cfg.config_path]
    for spec in cfg.inputs:
        files += [p for paths in spec.paths.values() for p in paths]
        if spec.profile:
            files.append(spec.profile)
    files += list(cfg.reference.values())
    if cfg.privacy.key_file:
        files.append(cfg.privacy.key_file)
    return [_resolved(p) for p in files]


def check_target(folder: Path, key: str, cfg: RunConfig) -> None:
    """Refuse, before any work, a target svna must not replace; names the path and why."""
    target = _resolved(folder)
    home, cwd = _resolved(Path.home()), _resolved(Path.cwd())
    if target == Path(target.anchor):
        raise _refuse(target, key, "svna never writes to the filesystem root", "the root folder")
    if target == home or target in home.parents:
        raise _refuse(target, key, "svna never replaces the home folder or a folder holding it", "the home folder"
                      if target == home else "a folder holding the home folder")
    if target == cwd or target in cwd.parents:
        raise _refuse(target, key, "svna never replaces the current folder or a folder holding it",
                      "the current folder" if target == cwd else "a folder holding the current folder")
    config_dir = _resolved(cfg.config_path).parent
    if target == config_dir or target in config_dir.parents:
        raise _refuse(target, key, "svna never replaces the run config's folder or a folder holding it",
                      f"the folder of {cfg.config_path.name}")
    for path in protected_files(cfg):
        if target in path.parents:
            raise _refuse(target, key, "svna never replaces a folder holding one of the run's input or reference "
                          "files", f"the folder holding {path}")
    _check_replaceable(target, key)
    for suffix in (".partial", ".previous"):
        leftover = sibling(target, suffix)
        if (leftover.exists() or leftover.is_symlink()) and not is_marked(leftover):
            raise _refuse(leftover, key, f"svna removes a leftover {suffix} folder only if it wrote it "
                              f"(holding its {MARKER} file)", "something else under that name")


def check_targets(cfg: RunConfig) -> None:
    """Every folder the run will replace (output, reports) is new or svna's own; checked before any work."""
    check_target(cfg.output, "output", cfg)
    if cfg.reports:
        check_target(cfg.reports, "reports", cfg)
        output, reports = _resolved(cfg.output), _resolved(cfg.reports)
        if output == reports or output in reports.parents or reports in output.parents:
            raise _refuse(reports, "reports", "reports must be a folder of its own, neither the output folder "
                          "nor inside or around it", f"output is {output}")


def lock_owner(lock: Path) -> tuple[int | None, str | None]:
    try:
        text = lock.read_text().split()
        return int(text[0]), (text[1] if len(text) > 1 else None)
    except (OSError, ValueError, IndexError):
        return None, None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True   # someone else's process
    return True


@contextmanager
def output_lock(output: Path) -> Iterator[None]:
    """One run at a time per output folder: `<output>.lock` holds the writer's pid and host."""
    output.parent.mkdir(parents=True, exist_ok=True)
    lock = sibling(output, ".lock")
    for attempt in (1, 2):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            break
        except FileExistsError:
            pid, host = lock_owner(lock)
            stale = pid is not None and host in (None, socket.gethostname()) and not _alive(pid)
            if not stale or attempt == 2:
                who = f"process {pid} on {host or 'this machine'}" if pid else "an unknown process"
                raise InputError(str(lock), "-", "another run is writing this output (if it crashed, delete the "
                                 "lock file)", f"a lock file held by {who}") from None
            print(f"Removed a stale lock {lock}: process {pid}, which wrote it, is no longer running.")
            lock.unlink(missing_ok=True)
    try:
        os.write(fd, f"{os.getpid()} {socket.gethostname()}\n".encode())
        os.close(fd)
        run_record.locked(lock)
        yield
    finally:
        lock.unlink(missing_ok=True)


def _remove_svna_folder(folder: Path, key: str) -> None:
    """Delete a folder only if svna wrote it (or it is empty); anything else is refused, never deleted."""
    if not (folder.exists() or folder.is_symlink()):
        return
    if folder.is_dir() and not folder.is_symlink() and is_marked(folder):
        shutil.rmtree(folder)
    elif folder.is_dir() and not folder.is_symlink() and not any(folder.iterdir()):
        folder.rmdir()
    else:
        raise _refuse(folder, key, f"svna removes only folders it wrote (holding its {MARKER} file)",
                      "something else under that name")


def staging_dir(output: Path, run_id: str | None = None, key: str = "output") -> Path:
    """A fresh, marked `<output>.partial`; a leftover one from a crashed run is removed only if marked."""
    work = sibling(output, ".partial")
    if work.exists() or work.is_symlink():
        _remove_svna_folder(work, key)
        print(f"Removed {work}, left by an earlier run that did not finish.")
    work.mkdir(parents=True)
    write_marker(work, run_id)
    run_record.made(work, run_id)
    return work


def discard(work: Path) -> None:
    """Remove a staging folder this run created (marked), after a failure."""
    if work.is_dir() and is_marked(work):
        shutil.rmtree(work, ignore_errors=True)


def swap_into_place(work: Path, output: Path, key: str = "output") -> None:
    """Replace the previous outputs only once the new ones are complete (a crash leaves the old ones);
    the old folder is deleted only if svna wrote it."""
    _check_replaceable(output, key)        # again: it may have changed since the run began
    old = sibling(output, ".previous")
    _remove_svna_folder(old, key)
    if output.exists():
        output.rename(old)
    work.rename(output)
    _remove_svna_folder(old, key)
