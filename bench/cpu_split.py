#!/usr/bin/env python3
"""Where a dev run's cores go: CPU time (utime+stime from /proc/PID/stat) per process of the run, by role.

  cpu_split.py sample ROOT_PID OUT        every second until ROOT_PID exits, one JSON line per sample:
                                          {"t": unix time, "launcher": s, "coordinator": s, "worker-0": s, ...} for
                                          ROOT_PID itself (the dev launcher) and its descendants
  cpu_split.py report OUT METRICS FROM    cores used by each role between the first and last training points of
                                          metrics.jsonl at step >= FROM (evaluation points excluded), as bench/scaling.sh
                                          measures throughput over the same steps
"""
import datetime
import json
import os
import sys
import time

TICK = os.sysconf("SC_CLK_TCK")


def processes():
    parent, cmd, cpu = {}, {}, {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            stat = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
            parent[pid] = stat[1]
            cpu[pid] = (int(stat[11]) + int(stat[12])) / TICK
            cmd[pid] = open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0")
        except (OSError, IndexError, ValueError):
            continue
    return parent, cmd, cpu


def role(args):
    words = [a.decode(errors="replace") for a in args]
    if "--worker-id" in words:
        return words[words.index("--worker-id") + 1]
    return "coordinator" if "coordinator" in words else "other"


def sample(root, out):
    with open(out, "w") as f:
        while os.path.exists(f"/proc/{root}"):
            parent, cmd, cpu = processes()
            record = {"t": time.time()}
            for pid in cpu:
                p, depth = pid, 0
                while p in parent and p != root and depth < 16:
                    p, depth = parent[p], depth + 1
                if p == root:
                    name = "launcher" if pid == root else role(cmd.get(pid, []))
                    record[name] = round(record.get(name, 0) + cpu[pid], 3)
            f.write(json.dumps(record) + "\n")
            f.flush()
            time.sleep(1)


def report(out, metrics, start):
    points = [json.loads(line) for line in open(metrics) if line.strip()]
    train = [p for p in points if p["step"] >= start and "eval" not in p]
    begin, end = (datetime.datetime.fromisoformat(p["time"]).timestamp() for p in (train[0], train[-1]))
    samples = [json.loads(line) for line in open(out) if line.strip()]
    a = min(samples, key=lambda s: abs(s["t"] - begin))
    b = min(samples, key=lambda s: abs(s["t"] - end))
    span = b["t"] - a["t"]
    if span <= 0:
        print("cores: the run was too short to sample")
        return
    roles = {k: (b[k] - a.get(k, 0)) / span for k in b if k != "t"}
    parts = ", ".join(f"{k} {v:.2f}" for k, v in sorted(roles.items()))
    print(f"cores: {parts}; total {sum(roles.values()):.2f}")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "sample":
        sample(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 5 and sys.argv[1] == "report":
        report(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        sys.exit(__doc__)
