"""PyTorch reference of `gogan bench`: the same training step, timed the same way.

Usage: bench_pytorch.py --spec SPEC.json [--threads N] [--blas-threads N]
                        [--warmup W] [--steps S] [--device cpu|cuda[:i]] [--adam single|foreach]

SPEC.json is `gogan bench --config FILE --spec` (or a `gogan bench --json` result):
the networks as gogan's nets.Options, which scripts/reference_nets.py builds as the
reference implementations define them, the synthetic inputs' shapes, the GAN loss
and Adam's settings. The step is the recipes' (gan/dcgan, gan/pix2pix), op for op:

  dcgan    D on real, then on G(z).detach() (two backwards), Adam on D; D frozen
           (requires_grad off), G's non-saturating loss through D, Adam on G;
           BCE on D's Sigmoid; 5 losses read with .item().
  pix2pix  fake_B = G(A); D on cat(A, fake_B).detach() and cat(A, B),
           loss_D = 0.5 (fake + real); D frozen, loss_G = GAN(D(cat(A, fake_B)))
           + lambda_L1 * L1(fake_B, B); BCE with logits; 4 losses read with .item().

Inputs are uniform in [-1, 1] and stay on the device; gradients are dropped with
zero_grad(set_to_none=True) as gogan does. Prints one JSON object: images/s,
ms/step, peak RSS (getrusage) and the CUDA peak (max_memory_allocated) on a GPU.
"""
import argparse
import ctypes
import ctypes.util
import json
import os
import resource
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import reference_nets  # noqa: E402


def openblas_set_threads(n):
    """Sets OpenBLAS's own thread count, as gogan's torch.SetNumThreads does; False if
    OpenBLAS is not the BLAS this torch loaded."""
    for name in (None, "libopenblas.so.0", "libblas.so.3"):
        try:
            lib = ctypes.CDLL(name)
            f = lib.openblas_set_num_threads
        except (OSError, AttributeError):
            continue
        f.argtypes = [ctypes.c_int]
        f(n)
        return True
    return False


def set_requires_grad(net, on):
    for p in net.parameters():
        p.requires_grad_(on)


class GANLoss:
    """gan/losses' GAN (pytorch-CycleGAN-and-pix2pix's GANLoss)."""

    def __init__(self, mode, logits):
        self.mode, self.logits = mode, logits

    def for_d(self, pred, real):
        if self.mode == "hinge":
            return F.relu(1 - pred).mean() if real else F.relu(1 + pred).mean()
        return self.for_g(pred, real)

    def for_g(self, pred, real):
        label = 1.0 if real else 0.0
        if self.mode == "lsgan":
            return F.mse_loss(pred, torch.full_like(pred, label))
        if self.mode in ("wgangp", "hinge"):
            return -pred.mean() if real else pred.mean()
        if self.logits:
            return F.binary_cross_entropy_with_logits(pred, torch.full_like(pred, label))
        return F.binary_cross_entropy(pred, torch.full_like(pred, label))


def make_step(spec, dev, adam):
    """The training step as a function, and the parameter counts of G and D."""
    if spec["d"]["Kind"] == "multiscale" or spec["gan_mode"] == "wgangp":
        raise SystemExit("bench_pytorch.py: the multiscale discriminator and wgangp are not mirrored here")
    torch.manual_seed(spec["seed"])
    G = reference_nets.build("G", spec["g"]).to(dev).train()
    D = reference_nets.build("D", spec["d"]).to(dev).train()
    kw = {"lr": spec["lr"], "betas": (spec["beta1"], spec["beta2"]), "foreach": adam == "foreach"}
    optG = torch.optim.Adam(G.parameters(), **kw)
    optD = torch.optim.Adam(D.parameters(), **kw)
    loss = GANLoss(spec["gan_mode"], spec["logits"])
    counts = {"params": {"G": sum(p.numel() for p in G.parameters()), "D": sum(p.numel() for p in D.parameters())}}
    a = (torch.rand(*spec["input_a"], device=dev) * 2 - 1)
    b = (torch.rand(*spec["input_b"], device=dev) * 2 - 1) if spec.get("input_b") else None

    if spec["recipe"] == "dcgan":
        nz = spec["nz"]

        def step():
            real = a
            n = real.shape[0]
            set_requires_grad(D, True)
            optD.zero_grad(set_to_none=True)
            out = D(real).reshape(-1)
            err_d_real = loss.for_d(out, True)
            err_d_real.backward()
            d_x = out.mean()
            noise = torch.randn(n, nz, 1, 1, device=dev)
            fake = G(noise)
            out_fake = D(fake.detach()).reshape(-1)
            err_d_fake = loss.for_d(out_fake, False)
            err_d_fake.backward()
            d_g_z1 = out_fake.mean()
            err_d = err_d_real + err_d_fake
            optD.step()
            set_requires_grad(D, False)
            optG.zero_grad(set_to_none=True)
            out_g = D(fake).reshape(-1)
            err_g = loss.for_g(out_g, True)
            err_g.backward()
            d_g_z2 = out_g.mean()
            optG.step()
            return [err_d.item(), err_g.item(), d_x.item(), d_g_z1.item(), d_g_z2.item()]
        return step, counts

    lam = spec["lambda_L1"]

    def step():
        real_a, real_b = a, b
        fake_b = G(real_a)
        set_requires_grad(D, True)
        optD.zero_grad(set_to_none=True)
        fake_ab = torch.cat((real_a, fake_b), 1)
        loss_d_fake = loss.for_d(D(fake_ab.detach()), False)
        real_ab = torch.cat((real_a, real_b), 1)
        loss_d_real = loss.for_d(D(real_ab), True)
        loss_d = (loss_d_fake + loss_d_real) * 0.5
        loss_d.backward()
        optD.step()
        set_requires_grad(D, False)
        optG.zero_grad(set_to_none=True)
        loss_g_gan = loss.for_g(D(fake_ab), True)
        loss_g_l1 = F.l1_loss(fake_b, real_b) * lam
        loss_g = loss_g_gan + loss_g_l1
        loss_g.backward()
        optG.step()
        return [loss_g_gan.item(), loss_g_l1.item(), loss_d_real.item(), loss_d_fake.item()]
    return step, counts


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--spec", required=True, help="gogan bench --spec output (JSON file)")
    ap.add_argument("--threads", type=int, default=0, help="torch.set_num_threads; 0 = all cores")
    ap.add_argument("--blas-threads", type=int, default=0,
                    help="OpenBLAS's own threads (openblas_set_num_threads); 0 = leave OpenBLAS alone")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--adam", choices=("single", "foreach"), default="single",
                    help="torch.optim.Adam's implementation: single-tensor (the default on the CPU, the "
                         "arithmetic gogan's Adam has) or foreach (multi-tensor)")
    args = ap.parse_args()
    with open(args.spec) as f:
        spec = json.load(f)
    spec = spec.get("spec", spec)

    threads = args.threads or os.cpu_count()
    torch.set_num_threads(threads)
    if args.blas_threads:
        openblas_set_threads(args.blas_threads)
    dev = torch.device(args.device)
    cuda = dev.type == "cuda"
    if cuda:
        torch.backends.cudnn.benchmark = True
    step, counts = make_step(spec, dev, args.adam)
    for _ in range(args.warmup):
        step()
    if cuda:
        torch.cuda.synchronize(dev)
        torch.cuda.reset_peak_memory_stats(dev)
    start = time.perf_counter()
    for _ in range(args.steps):
        step()
    if cuda:
        torch.cuda.synchronize(dev)
    el = time.perf_counter() - start
    n = spec["input_a"][0]
    print(json.dumps({
        "impl": "pytorch", "torch": torch.__version__, "recipe": spec["recipe"], "device": str(dev),
        "threads": torch.get_num_threads(), "blas_threads": args.blas_threads, "adam": args.adam,
        "batch_size": n, "warmup": args.warmup, "steps": args.steps,
        "ms_per_step": el * 1000 / args.steps, "images_per_s": n * args.steps / el,
        "peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "cuda_peak": torch.cuda.max_memory_allocated(dev) if cuda else -1,
        **counts,
    }))


if __name__ == "__main__":
    main()
