#!/usr/bin/python3
"""torch.distributed's Gloo backend, timed the way `mmcluster bench collectives` times its transports.

W processes on this host (TCP over loopback, as Gloo always uses sockets), float32 buffers, the same sizes S (MiB, the
full buffer as nccl-tests counts it: all-gather output, reduce-scatter input), a barrier before every timed iteration,
the median iteration of the slowest rank. algbw = S / t; busbw = algbw * (W-1)/W for all-gather and reduce-scatter,
* 2(W-1)/W for all-reduce, * 1 for broadcast; GB = 1e9 bytes. Gloo in torch 1.13 has no reduce_scatter: that row says so.

    bench/gloo_collectives.py --world 2 --sizes 16,64 [--iters 10] [--json]

Debian's python3-torch (1.13, CPU) is enough: `/usr/bin/python3 -c "import torch"` (Debian's interpreter: a python3 earlier
on PATH, e.g. pyenv's, does not see it).
"""

import argparse
import json
import os
import socket
import statistics
import time

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

OPS = ["allgather", "reducescatter", "allreduce", "broadcast"]


def bus_factor(op, world):
    if op == "allreduce":
        return 2 * (world - 1) / world
    if op == "broadcast":
        return 1.0
    return (world - 1) / world


def prepare(op, floats, rank, world):
    """The call of one operation on S = floats, with its buffers allocated once (as the C# bench does)."""
    gen = torch.Generator().manual_seed(rank)
    if op == "allgather":
        local = torch.rand(floats // world, generator=gen)
        outputs = [torch.empty_like(local) for _ in range(world)]
        return lambda: dist.all_gather(outputs, local)
    if op == "reducescatter":
        inputs = list(torch.rand(floats, generator=gen).chunk(world))
        output = torch.empty_like(inputs[rank])
        return lambda: dist.reduce_scatter(output, inputs)
    if op == "allreduce":
        buffer = torch.rand(floats, generator=gen)
        return lambda: dist.all_reduce(buffer)
    if op == "broadcast":
        buffer = torch.rand(floats, generator=gen)
        return lambda: dist.broadcast(buffer, 0)
    raise ValueError(op)


def rank_main(rank, world, port, sizes, iters, warmup, results):
    os.environ["MASTER_ADDR"] = "127.0.0.1"
    os.environ["MASTER_PORT"] = str(port)
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=world)
    for mib in sizes:
        floats = int(mib * (1 << 20) / 4)
        for op in OPS:
            try:
                run = prepare(op, floats, rank, world)
                times = []
                for i in range(warmup + iters):
                    dist.barrier()
                    start = time.perf_counter()
                    run()
                    if i >= warmup:
                        times.append((time.perf_counter() - start) * 1000)
                results[(rank, op, mib)] = times
            except RuntimeError as error:  # Gloo has no reduce_scatter in torch 1.13
                results[(rank, op, mib)] = str(error).splitlines()[0]
                dist.barrier()
    dist.destroy_process_group()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--world", type=int, default=2)
    parser.add_argument("--sizes", default="16,64", help="comma-separated full-buffer sizes S in MiB")
    parser.add_argument("--iters", type=int, default=10)
    parser.add_argument("--json", action="store_true", help="one JSON object per line instead of a table")
    args = parser.parse_args()
    sizes = [float(s) for s in args.sizes.split(",")]
    warmup = min(2, args.iters)
    with mp.Manager() as manager:
        results = manager.dict()
        mp.spawn(rank_main, args=(args.world, free_port(), sizes, args.iters, warmup, results), nprocs=args.world, join=True)
        results = dict(results)
    if not args.json:
        print(f"{'op':<15} {'transport':<9} {'world':>5} {'MiB':>7} {'time_ms':>10} {'algbw_GBps':>11} {'busbw_GBps':>11} {'iters':>6}")
    for mib in sizes:
        for op in OPS:
            per_rank = [results[(r, op, mib)] for r in range(args.world)]
            if any(isinstance(t, str) for t in per_rank):
                reason = next(t for t in per_rank if isinstance(t, str))
                print(json.dumps({"op": op, "transport": "gloo", "world": args.world, "mib": mib, "error": reason})
                      if args.json else f"{op:<15} {'gloo':<9} {args.world:>5} {mib:>7g} {'n/a: ' + reason}")
                continue
            slowest = [max(t[i] for t in per_rank) for i in range(args.iters)]
            ms = statistics.median(slowest)
            algbw = mib * (1 << 20) / (ms / 1000) / 1e9
            busbw = algbw * bus_factor(op, args.world)
            if args.json:
                print(json.dumps({"op": op, "transport": "gloo", "world": args.world, "mib": mib, "time_ms": round(ms, 3),
                                  "algbw_GBps": round(algbw, 3), "busbw_GBps": round(busbw, 3), "iters": args.iters}))
            else:
                print(f"{op:<15} {'gloo':<9} {args.world:>5} {mib:>7g} {ms:>10.3f} {algbw:>11.3f} {busbw:>11.3f} {args.iters:>6}")


if __name__ == "__main__":
    main()
