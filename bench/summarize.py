#!/usr/bin/env python3
"""Summarizes bench/compare.sh's results.tsv as Markdown tables: wall time (median, min-max),
peak controller RSS, ratios to clearfleet, and the scaling curve. Standard library only."""

import csv
import statistics
import sys
from collections import defaultdict

ORDER = ["clearfleet", "pyinfra", "ansible-raw", "ansible-command"]
LABEL = {
    "clearfleet": "clearfleet `run`",
    "pyinfra": "pyinfra `--parallel 50`",
    "ansible-raw": "ansible-playbook, `raw`",
    "ansible-command": "ansible-playbook, `command`, pipelining",
}


def load(path):
    rows = defaultdict(list)
    with open(path, newline="") as f:
        for r in csv.DictReader(f, delimiter="\t"):
            rows[(r["set"], r["shape"], r["tool"])].append(r)
    return rows


def shape_key(shape):
    n, t = shape.split("x")
    return (-int(n) * int(t), -int(n))


def shape_title(shape):
    n, t = shape.split("x")
    return f"{n} host{'' if n == '1' else 's'} × {t} task{'' if t == '1' else 's'}"


def stats(runs):
    ok = [r for r in runs if r["rc"] == "0"]
    walls = [float(r["wall_s"]) for r in ok]
    rss = [int(r["maxrss_kib"]) for r in ok if r["maxrss_kib"].isdigit()]
    n, t = (int(x) for x in runs[0]["shape"].split("x"))
    return {
        "median": statistics.median(walls) if walls else None,
        "min": min(walls) if walls else None,
        "max": max(walls) if walls else None,
        "rss": max(rss) / 1024 if rss else None,
        "errors": len(runs) - len(ok),
        "runs": len(runs),
        "conn_per_host": statistics.median(int(r["connections"]) for r in runs) / n,
        "sess_per_task": statistics.median(int(r["sessions"]) for r in runs) / (n * t),
        "load": "/".join(r["load1"] for r in runs),
    }


def fmt_wall(s):
    if s["median"] is None:
        return f"failed ({s['errors']}/{s['runs']})"
    spread = f"{s['min']:.2f}–{s['max']:.2f}" if s["runs"] > 1 else ""
    err = f", {s['errors']} failed" if s["errors"] else ""
    return f"{s['median']:.3f} s" + (f" ({spread}{err})" if spread or err else "")


def fmt_rss(s):
    return "–" if s["rss"] is None else f"{s['rss']:.1f} MiB"


def tools_of(rows, set_):
    present = {k[2] for k in rows if k[0] == set_}
    return [t for t in ORDER if t in present] + sorted(present - set(ORDER))


def compare(rows):
    shapes = sorted({k[1] for k in rows if k[0] == "compare"}, key=shape_key)
    if not shapes:
        return
    tools = tools_of(rows, "compare")
    print("### Wall time, median of runs (min–max), and peak controller RSS\n")
    print("| tool | " + " | ".join(shape_title(s) for s in shapes) + " | peak RSS |")
    print("|---|" + "---|" * (len(shapes) + 1))
    for tool in tools:
        cells, rss = [], []
        for s in shapes:
            runs = rows.get(("compare", s, tool))
            if not runs:
                cells.append("–")
                continue
            st = stats(runs)
            cells.append(fmt_wall(st))
            rss.append(f"{fmt_rss(st)} ({s})")
        print(f"| {LABEL.get(tool, tool)} | " + " | ".join(cells) + " | " + ", ".join(rss) + " |")
    if "clearfleet" in tools:
        print("\n### Ratios (median wall time of the tool ÷ clearfleet's, same run)\n")
        print("| tool | " + " | ".join(shapes) + " |")
        print("|---|" + "---|" * len(shapes))
        for tool in tools:
            if tool == "clearfleet":
                continue
            cells = []
            for s in shapes:
                a, b = rows.get(("compare", s, tool)), rows.get(("compare", s, "clearfleet"))
                if not a or not b or stats(a)["median"] is None or stats(b)["median"] is None:
                    cells.append("–")
                    continue
                r = stats(a)["median"] / stats(b)["median"]
                cells.append(f"{r:.1f}× (clearfleet = {1 / r:.3f}×)")
            print(f"| {LABEL.get(tool, tool)} | " + " | ".join(cells) + " |")
    print("\n### Checks: SSH connections per host per run, sshd sessions per host-task, load (1 min) at each run\n")
    print("| shape | tool | connections/host | sessions/task | load |")
    print("|---|---|---|---|---|")
    for s in shapes:
        for tool in tools:
            runs = rows.get(("compare", s, tool))
            if runs:
                st = stats(runs)
                print(f"| {s} | {tool} | {st['conn_per_host']:.2f} | {st['sess_per_task']:.2f} | {st['load']} |")


def scaling(rows):
    shapes = sorted({k[1] for k in rows if k[0] == "scaling"}, key=lambda s: int(s.split("x")[0]))
    if not shapes:
        return
    tools = tools_of(rows, "scaling")
    print("\n### Scaling: N hosts × 10 tasks, forks/parallel 50\n")
    head = " | ".join(f"{LABEL.get(t, t)} | RSS" for t in tools)
    print(f"| hosts | {head} | ms per host (clearfleet) | load |")
    print("|---|" + "---|---|" * len(tools) + "---|---|")
    for s in shapes:
        n = int(s.split("x")[0])
        cells, loads = [], []
        per_host = "–"
        for t in tools:
            runs = rows.get(("scaling", s, t))
            if not runs:
                cells += ["–", "–"]
                continue
            st = stats(runs)
            cells += [fmt_wall(st), fmt_rss(st)]
            loads.append(st["load"])
            if t == "clearfleet" and st["median"] is not None:
                per_host = f"{st['median'] * 1000 / n:.1f}"
        print(f"| {n} | " + " | ".join(cells) + f" | {per_host} | {' · '.join(loads)} |")
    cf = [(int(s.split("x")[0]), stats(rows[("scaling", s, "clearfleet")])) for s in shapes if ("scaling", s, "clearfleet") in rows]
    cf = [(n, st) for n, st in cf if st["rss"] is not None]
    if len(cf) >= 2:
        (n0, a), (n1, b) = cf[0], cf[-1]
        print(f"\nclearfleet peak RSS growth from {n0} to {n1} hosts: "
              f"{(b['rss'] - a['rss']) * 1024 / (n1 - n0):.1f} KiB per host")
        print(f"clearfleet wall time growth from {n0} to {n1} hosts: "
              f"{(b['median'] - a['median']) * 1000 / (n1 - n0):.2f} ms per host")


def main():
    rows = load(sys.argv[1])
    compare(rows)
    scaling(rows)
    errors = sum(1 for runs in rows.values() for r in runs if r["rc"] != "0")
    print(f"\n{errors} failed runs" if errors else "\nevery run exited 0")
    print("peak RSS: GNU time's maximum resident set size of the process started (for Ansible,"
          " the largest single process: its forks and ssh clients are not added)")


if __name__ == "__main__":
    main()
