#!/usr/bin/env python3
"""Summarises a profile written by `propagation_bench --perf DIR`.

Usage: bench/perf_summary.py DIR/<system>-<test>.data [ROLE] [--threads]

Prints the share of samples of every process of the test (roles from the .pids file beside the
.data file; "other" is everything else on the machine, idle included), and for the processes
whose role contains ROLE (e.g. "secondary 3", "pdns-zone-provider") their top self and
inclusive symbols, or with --threads their threads by name. Needs `perf` (linux-perf).
"""
import collections
import subprocess
import sys


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    if not args:
        sys.exit(__doc__)
    data = args[0]
    want = args[1] if len(args) > 1 else None
    threads = "--threads" in sys.argv
    roles = {}
    with open(data[: -len(".data")] + ".pids") as pids:
        for line in pids:
            pid, role = line.rstrip("\n").split(" ", 1)
            roles[int(pid)] = role
    script = subprocess.run(["perf", "script", "-i", data, "-F", "pid,comm,ip,sym,dso"],
                            capture_output=True, text=True, check=True).stdout
    per_role = collections.Counter()
    per_thread = collections.Counter()
    self_symbols = collections.Counter()
    inclusive = collections.Counter()
    total = 0
    role = None
    first = False
    seen = set()
    for line in script.splitlines():
        if not line.strip():
            role = None
            continue
        if not line[0].isspace():  # a sample header: "<comm> <pid>"
            fields = line.split()
            pid = next((int(f) for f in reversed(fields) if f.isdigit()), None)
            if pid is None:
                continue
            total += 1
            role = roles.get(pid, "other")
            per_role[role] += 1
            if want and want in role:
                per_thread[line.rsplit(None, 1)[0].strip()] += 1
            first, seen = True, set()
            continue
        if role is None or not (want and want in role):
            continue
        parts = line.strip().split(None, 1)
        symbol = parts[1] if len(parts) > 1 else "?"
        if first:
            self_symbols[symbol] += 1
            first = False
        if symbol not in seen:
            inclusive[symbol] += 1
            seen.add(symbol)
    print(f"{total} samples")
    for name, count in per_role.most_common():
        print(f"{100.0 * count / total:6.1f}%  {name}")
    if not want:
        return
    wanted = sum(c for name, c in per_role.items() if want in name) or 1
    if threads:
        print(f"\nthreads of '{want}' ({wanted} samples):")
        for name, count in per_thread.most_common(15):
            print(f"{100.0 * count / wanted:6.1f}%  {name}")
        return
    print(f"\ntop self symbols of '{want}' ({wanted} samples):")
    for symbol, count in self_symbols.most_common(20):
        print(f"{100.0 * count / wanted:6.1f}%  {symbol}")
    print(f"\ntop inclusive symbols of '{want}':")
    for symbol, count in inclusive.most_common(30):
        print(f"{100.0 * count / wanted:6.1f}%  {symbol}")


if __name__ == "__main__":
    main()
