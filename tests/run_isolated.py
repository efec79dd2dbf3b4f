"""`make test`: every test file in its own pytest process, so a native crash ends one file, not the suite.

DuckDB 1.5.5 (the only version that pairs with its spatial extension here) crashed now and then with
a segfault: its strptime reads past the end of its input (docs/performance.md, "Native crashes"; svna's
SQL now avoids it, and `make test-guard` runs the files with guard pages that make such a read crash
every time). A file whose process dies by a signal is run once more and
said so; a test that fails is a failure, never retried. Prints pytest's own summaries, then one
closing line: "N passed, N failed, N skipped". Arguments: test files to run instead of all.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FILE_TIMEOUT_S = 1500   # the slowest file takes about 80 s; longer is a hang
COUNTS = re.compile(r"(\d+) (passed|failed|errors?|skipped|xfailed|xpassed)")


def run_file(path: Path) -> tuple[int, dict[str, int], str]:
    try:
        result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(path)],
                                cwd=ROOT, capture_output=True, text=True, timeout=FILE_TIMEOUT_S)
    except subprocess.TimeoutExpired as exc:   # a hang counts as a crash: run once more
        out = (exc.stdout or b"").decode(errors="replace") if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        return -9, {}, out + f"\n(timed out after {FILE_TIMEOUT_S} s)"
    tail = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else ""
    counts = {}
    for n, word in COUNTS.findall(tail):
        key = "failed" if word.startswith("error") else word
        counts[key] = counts.get(key, 0) + int(n)
    return result.returncode, counts, result.stdout + result.stderr


def main() -> int:
    files = ([Path(arg).resolve() for arg in sys.argv[1:]]      # some files (make test-guard FILES=...)
             or sorted((ROOT / "tests" / "unit").glob("test_*.py")) + sorted((ROOT / "tests" / "integration").glob("test_*.py")))
    total: dict[str, int] = {}
    crashed: list[str] = []
    for path in files:
        code, counts, output = run_file(path)
        if code < 0 or code >= 128:          # killed by a signal (a native crash), not a test failure
            print(f"{path.relative_to(ROOT)}: the test process died or hung (exit {code}); running the file once more",
                  flush=True)
            print(output[-3000:], flush=True)
            code, counts, output = run_file(path)
            if code < 0 or code >= 128:
                crashed.append(str(path.relative_to(ROOT)))
                counts = {"failed": counts.get("failed", 0) + 1}
        print(f"{path.relative_to(ROOT)}: " + (output.strip().splitlines()[-1] if output.strip() else "no output"),
              flush=True)
        if code not in (0, 5) and not counts.get("failed"):
            counts["failed"] = 1
            print(output[-3000:], flush=True)
        elif counts.get("failed"):
            print(output[-6000:], flush=True)
        for key, n in counts.items():
            total[key] = total.get(key, 0) + n
    if crashed:
        print("Crashed twice: " + ", ".join(crashed))
    print(f"{total.get('passed', 0)} passed, {total.get('failed', 0)} failed, {total.get('skipped', 0)} skipped")
    return 1 if total.get("failed") or not total.get("passed") else 0


if __name__ == "__main__":
    sys.exit(main())
