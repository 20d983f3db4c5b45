"""The reference's instance-wise average pooling (pix2pixHD's Encoder.forward, from
scripts/reference_nets.py, its convolutions replaced by the identity), forward and backward,
on the id map of gan/pix2pixhd's BenchmarkRegionMeans: 3 channels over 1024x512, 8x4 blocks,
each an instance class*1000 + k, on every core. Prints {"ms_per_op": median, "runs": n,
"threads": t} as JSON.

Usage: bench_features_reference.py [runs, default 10]
"""
import json
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402

import reference_nets  # noqa: E402


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    torch.set_num_threads(os.cpu_count())  # as the Go benchmark: every core
    w, h = 1024, 512
    ys, xs = torch.meshgrid(torch.arange(h), torch.arange(w), indexing="ij")
    bx, by = xs * 8 // w, ys * 4 // h
    inst = (((bx + by) % 5) * 1000 + bx * 4 + by).to(torch.int32).view(1, 1, h, w)  # ToTensor of a 16-bit map
    enc = reference_nets.Encoder(3, 3, ngf=4, n_downsampling=1)
    enc.model = torch.nn.Identity()
    torch.manual_seed(1)
    x = torch.randn(1, 3, h, w, requires_grad=True)
    times = []
    for _ in range(runs + 1):
        t0 = time.perf_counter()
        enc(x, inst).sum().backward()
        x.grad = None
        times.append((time.perf_counter() - t0) * 1000)
    print(json.dumps({"ms_per_op": statistics.median(times[1:]), "runs": runs, "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()
