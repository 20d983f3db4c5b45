#!/usr/bin/python3
"""PyTorch's side of scripts/bench-dist: the training step of
scripts/bench_pytorch.py (built from gogan's own `bench --spec`, synthetic
batches) in WORLD processes with torch.distributed (Gloo), each averaging
its gradients over the ranks before every optimizer step (one flat
allreduce per optimizer, what DistributedDataParallel's reducer does,
without its overlap) and averaging the step's losses, as gogan's ranks do.
Prints one JSON line: ms per step (the slowest rank's), images/s for the
global batch, and the time in the gradient allreduce.

  scripts/bench_pytorch_ddp.py --spec SPEC.json [--world 2] [--threads 1]
"""
import argparse
import json
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402
import torch.distributed as dist  # noqa: E402
import torch.multiprocessing as mp  # noqa: E402
from torch._utils import _flatten_dense_tensors, _unflatten_dense_tensors  # noqa: E402

import bench_pytorch  # noqa: E402


def worker(rank, world, port, args, spec, out):
    torch.set_num_threads(args.threads)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world)
    reduce_time = [0.0]
    adam_step = torch.optim.Adam.step

    def averaged_step(self, *a, **k):
        grads = [p.grad for g in self.param_groups for p in g["params"] if p.grad is not None]
        t = time.perf_counter()
        flat = _flatten_dense_tensors(grads)
        dist.all_reduce(flat)
        flat.div_(world)
        for g, s in zip(grads, _unflatten_dense_tensors(flat, grads)):
            g.copy_(s)
        reduce_time[0] += time.perf_counter() - t
        return adam_step(self, *a, **k)

    torch.optim.Adam.step = averaged_step
    step, _ = bench_pytorch.make_step(spec, torch.device("cpu"), "single")

    def agreed_step():
        losses = torch.tensor(step() + [0.0])  # the losses and a stop flag
        dist.all_reduce(losses)
        return losses

    for _ in range(args.warmup):
        agreed_step()
    dist.barrier()
    reduce_time[0] = 0.0
    start = time.perf_counter()
    for _ in range(args.steps):
        agreed_step()
    el = torch.tensor([time.perf_counter() - start, reduce_time[0]])
    dist.all_reduce(el, op=dist.ReduceOp.MAX)
    if rank == 0:
        n = spec["input_a"][0] * world
        out.put({"impl": "pytorch-ddp", "torch": torch.__version__, "world": world, "threads": args.threads,
                 "global_batch": n, "steps": args.steps, "ms_per_step": float(el[0]) * 1000 / args.steps,
                 "images_per_s": n * args.steps / float(el[0]),
                 "allreduce_ms_per_step": float(el[1]) * 1000 / args.steps})
    dist.destroy_process_group()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--spec", required=True, help="gogan bench --spec output for ONE rank's batch")
    ap.add_argument("--world", type=int, default=2)
    ap.add_argument("--threads", type=int, default=1, help="torch threads per rank")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--steps", type=int, default=20)
    args = ap.parse_args()
    with open(args.spec) as f:
        spec = json.load(f)
    spec = spec.get("spec", spec)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    procs = [ctx.Process(target=worker, args=(r, args.world, port, args, spec, out)) for r in range(args.world)]
    for p in procs:
        p.start()
    res = out.get()
    for p in procs:
        p.join()
        if p.exitcode != 0:
            sys.exit(f"bench_pytorch_ddp.py: rank {procs.index(p)} exited with {p.exitcode}")
    print(json.dumps(res))


if __name__ == "__main__":
    main()
