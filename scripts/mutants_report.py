#!/usr/bin/env python3
"""Per-file figures of a cargo-mutants run, checked against the equivalents.

Usage: mutants_report.py MUTANTS_OUT_DIR EQUIVALENTS_MD

Prints caught / missed / timeout / unviable per source file and in total.
Exits 1 when a missed mutant is not listed in EQUIVALENTS_MD. A timeout is
shown but not counted as a survivor: the mutant made the tests hang, which a
real test run reports as a failure.
An entry there is a Markdown list item whose first code span is the mutant's
name as cargo-mutants prints it, without the line and column, for example

- `account-api/src/x.rs: replace f -> bool with true`: why it changes nothing.

Line numbers are left out on purpose: they drift with every edit above the
mutant, while the description does not.
"""
import re
import sys
from collections import defaultdict
from pathlib import Path

KINDS = ("caught", "missed", "timeout", "unviable")
LOCATION = re.compile(r"^(?P<file>[^:]+):\d+:\d+: (?P<change>.*)$")


def read(out_dir: Path, kind: str):
    path = out_dir / f"{kind}.txt"
    if not path.exists():
        return []
    return [line for line in path.read_text().splitlines() if line.strip()]


def without_location(name: str) -> str:
    m = LOCATION.match(name)
    return f"{m['file']}: {m['change']}" if m else name


def equivalents(md: Path):
    if not md.exists():
        return set()
    listed = set()
    for line in md.read_text().splitlines():
        m = re.match(r"^\s*[-*] `([^`]+)`", line)
        if m:
            listed.add(m.group(1).strip())
    return listed


def main() -> int:
    out_dir, md = Path(sys.argv[1]), Path(sys.argv[2])
    if not (out_dir / "outcomes.json").exists():
        print(f"no cargo-mutants results in {out_dir}: the run did not start")
        return 1
    per_file = defaultdict(lambda: dict.fromkeys(KINDS, 0))
    names = {kind: read(out_dir, kind) for kind in KINDS}
    for kind, lines in names.items():
        for name in lines:
            m = LOCATION.match(name)
            per_file[m["file"] if m else "?"][kind] += 1

    width = max([len(f) for f in per_file] + [len("total")])
    print(f"{'file':<{width}}  caught  missed  timeout  unviable")
    totals = dict.fromkeys(KINDS, 0)
    for f in sorted(per_file):
        row = per_file[f]
        for kind in KINDS:
            totals[kind] += row[kind]
        print(f"{f:<{width}}  {row['caught']:>6}  {row['missed']:>6}  {row['timeout']:>7}  {row['unviable']:>8}")
    print(f"{'total':<{width}}  {totals['caught']:>6}  {totals['missed']:>6}  {totals['timeout']:>7}  {totals['unviable']:>8}")

    listed = equivalents(md)
    survivors = names["missed"]
    unexplained = [n for n in survivors if without_location(n) not in listed]
    explained = len(survivors) - len(unexplained)
    print(f"\n{explained} surviving mutant(s) are listed in {md.name} as equivalent.")
    if unexplained:
        print(f"{len(unexplained)} surviving mutant(s) are neither caught nor listed:")
        for n in unexplained:
            print(f"  {n}")
        return 1
    print("No other mutant survived.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
