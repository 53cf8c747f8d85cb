"""Lines of src/transferkit now against commit 4f90a56 (the package before issue 20's work), per top-level package
or module, with each file tagged as a new capability (added by a commit of issues 21-28) or a pre-existing feature.

A file that existed at 4f90a56 is pre-existing. A newer file is tagged by the issue its adding commit names
(``git log --diff-filter=A``; if that commit names none, the first later commit of the file that does): issues 21-28
are new capabilities, issue 20's files (tasks/, modalities/: code moved out of older modules) are pre-existing
features. A package is "new" when it did not exist at 4f90a56 and all of its files are new capabilities.

Files tagged pre-existing also hold code that issues 21-28 added (new commands in cli.py, auto's budget in
strategies/auto.py...). ``git blame`` splits their lines by the commit that last wrote each line: before 4f90a56,
issue 20, issues 21-28, or a commit that names no issue. Lines that an issue 21-28 commit rewrote count there too,
so "pre-existing features now" is given as a range: all lines of pre-existing files (upper bound), less the lines
blamed on issues 21-28 (lower bound).

Lines are newlines in the *.py files that git tracks at REV (what ``wc -l`` counts), read with ``git show``, so the
count does not depend on uncommitted work.

Run:  .venv/bin/python benchmarks/line_count.py [--rev HEAD]
Writes benchmarks/results/line_count.json. Takes about a minute (one ``git blame`` per pre-existing file).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"
PACKAGE = "src/transferkit/"
BASE = "4f90a56"
NEW_ISSUES = range(21, 29)
ISSUE = re.compile(r"\bissues? (\d+)", re.IGNORECASE)
# The folds made for issue 20's line target (no feature, option or test removed); their deltas are read from git.
FOLDS = {
    "6220121": "one build-aside-then-swap helper (run_folder.built_aside) for seven savers",
    "dffa372": "wrappers that only forwarded (read_audio, _transferkit_manifest, softmax's doctest)",
    "cbf7498": "rl module docstrings that repeated the RL guide",
    "55a23ed": "one spec-level run-folder call for detection and language models (2 of 3 copies)",
    "3948cbe": "one base for the text encoder and decoder backbones",
    "ebc8f10": "save_model on built_aside",
    "fba3e01": "stamp_scenes on built_aside",
}


def git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, check=True, capture_output=True, text=True).stdout


def python_files(rev: str) -> dict[str, int]:
    """Every tracked *.py file under src/transferkit at REV and its line count."""
    names = [n for n in git("ls-tree", "-r", "--name-only", rev, PACKAGE).splitlines() if n.endswith(".py")]
    return {n: git("show", f"{rev}:{n}").count("\n") for n in names}


def top_level(path: str) -> str:
    """'src/transferkit/rl/train.py' -> 'rl/'; 'src/transferkit/cli.py' -> 'cli.py'."""
    rest = path[len(PACKAGE) :]
    return rest.split("/")[0] + "/" if "/" in rest else rest


def issue_of(commit: str, cache: dict[str, int | None]) -> int | None:
    """The first issue number a commit's message names, or None."""
    if commit not in cache:
        found = ISSUE.search(git("log", "-1", "--format=%B", commit))
        cache[commit] = int(found.group(1)) if found else None
    return cache[commit]


def file_issue(path: str, rev: str, cache: dict[str, int | None]) -> tuple[int | None, str]:
    """The issue that added a file after BASE (by its adding commit, else its first later commit naming one)."""
    added = git("log", "--diff-filter=A", "--format=%H", f"{BASE}..{rev}", "--", path).split()
    history = git("log", "--reverse", "--format=%H", f"{BASE}..{rev}", "--", path).split()
    first = added[-1] if added else history[0]
    for commit in [first, *history]:
        number = issue_of(commit, cache)
        if number is not None:
            return number, commit[:7]
    return None, first[:7]


def blame_split(path: str, rev: str, after_base: set[str], cache: dict[str, int | None]) -> Counter:
    """Lines of one file by who last wrote them: 'before' BASE, 'issue 20', 'issues 21-28', 'untagged'."""
    split: Counter = Counter()
    for line in git("blame", "--line-porcelain", rev, "--", path).splitlines():
        head = line.split(" ")
        if len(head[0]) != 40 or len(head) < 3 or not re.fullmatch(r"[0-9a-f]{40}", head[0]):
            continue
        commit = head[0]
        if commit not in after_base:
            split["before"] += 1
            continue
        number = issue_of(commit, cache)
        split["untagged" if number is None else "issues 21-28" if number in NEW_ISSUES else f"issue {number}"] += 1
    return split


def fold_deltas() -> list[dict]:
    """Lines each fold commit added and removed under src/transferkit (git show --numstat)."""
    rows = []
    for commit, what in FOLDS.items():
        added = removed = 0
        for line in git("show", "--numstat", "--format=", commit, "--", PACKAGE).splitlines():
            plus, minus, _ = line.split("\t")
            added, removed = added + int(plus), removed + int(minus)
        rows.append({"commit": commit, "fold": what, "added": added, "removed": removed})
    return rows


def measure(rev: str) -> dict:  # Long: one pass over files, then per-package sums and the summary
    before, now = python_files(BASE), python_files(rev)
    after_base = set(git("rev-list", f"{BASE}..{rev}").split())
    cache: dict[str, int | None] = {}
    files = []
    for path, lines in sorted(now.items()):
        row: dict = {"path": path[len(PACKAGE) :], "lines": lines, "lines_before": before.get(path)}
        if path in before:
            row["issue"], row["kind"] = None, "pre-existing"
        else:
            row["issue"], row["added_by"] = file_issue(path, rev, cache)
            row["kind"] = "new capability" if row["issue"] in NEW_ISSUES else "pre-existing"
        if row["kind"] == "pre-existing":
            row["blame"] = dict(blame_split(path, rev, after_base, cache))
        files.append(row)
    packages: dict[str, dict] = defaultdict(lambda: {"lines_before": 0, "lines": 0, "new_capability_lines": 0})
    for path, lines in before.items():
        packages[top_level(path)]["lines_before"] += lines
    for row in files:
        pkg = packages[top_level(PACKAGE + row["path"])]
        pkg["lines"] += row["lines"]
        if row["kind"] == "new capability":
            pkg["new_capability_lines"] += row["lines"]
            pkg.setdefault("issues", set()).add(row["issue"])
        else:
            for key, value in row.get("blame", {}).items():
                pkg.setdefault("blame", Counter())[key] += value
    for name, pkg in packages.items():
        existed = any(top_level(p) == name for p in before)
        pkg["kind"] = "pre-existing" if existed or pkg["new_capability_lines"] < pkg["lines"] else "new capability"
        pkg["pre_existing_lines"] = pkg["lines"] - pkg["new_capability_lines"]
        pkg["issues"] = sorted(pkg.get("issues", ()))
        pkg["blame"] = dict(pkg.get("blame", {}))
    upper = sum(p["pre_existing_lines"] for p in packages.values())
    blamed_new = sum(p["blame"].get("issues 21-28", 0) for p in packages.values())
    summary = {
        "lines_before": sum(before.values()),
        "lines_now": sum(now.values()),
        "new_capability_lines": sum(p["new_capability_lines"] for p in packages.values()),
        "pre_existing_features_lines_upper": upper,
        "issue_21_28_lines_in_pre_existing_files": blamed_new,
        "pre_existing_features_lines_lower": upper - blamed_new,
    }
    ordered = dict(sorted(packages.items(), key=lambda item: -item[1]["lines"]))
    return {"summary": summary, "packages": ordered, "files": files, "folds": fold_deltas()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rev", default="HEAD", help="the commit to count (default HEAD)")
    args = parser.parse_args()
    result = measure(args.rev)
    payload = {
        "base": git("rev-parse", BASE).strip(),
        "rev": git("rev-parse", args.rev).strip(),
        "rev_subject": git("log", "-1", "--format=%s", args.rev).strip()[:200],
        "counted": "newlines in tracked *.py files under src/transferkit (wc -l)",
        "new_capability_issues": f"{NEW_ISSUES.start}-{NEW_ISSUES.stop - 1}",
        "machine": {"load_average": list(os.getloadavg())},
        **result,
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "line_count.json").write_text(json.dumps(payload, indent=1) + "\n")
    s = result["summary"]
    low, high = s["pre_existing_features_lines_lower"], s["pre_existing_features_lines_upper"]
    print(f"{s['lines_before']} lines at {BASE}; {s['lines_now']} now; new capabilities {s['new_capability_lines']}")
    print(f"pre-existing features now: {low}-{high}")


if __name__ == "__main__":
    main()
