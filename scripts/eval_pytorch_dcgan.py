"""Train the PyTorch reference DCGAN as gogan trains it, and write samples for gogan eval fid.

Usage:
  eval_pytorch_dcgan.py --config EFFECTIVE.yaml --steps N --out SAMPLES.safetensors
                        [--out-train SAMPLES_TRAIN.safetensors] [--samples 10000] [--threads 0]

EFFECTIVE.yaml is gogan's effective config (`gogan config --config configs/dcgan-fashion-mnist.yaml`):
the script takes seed, data.root, data.batch_size, data.image_size, data.drop_last,
data.shuffle, model.nz/ngf/ndf, model.init_gain, train.lr/beta1/beta2 from it, and refuses
what it does not reproduce (another dataset or gan_mode, several channels).

The training is pytorch/examples dcgan/main.py's loop (parity_reference.dcgan_step, the
transcription the step-parity test checks gogan against): the reference networks of
scripts/reference_nets.py (DCGANGenerator / DCGANDiscriminator, which are the
published nets at 64 and gogan's pattern at 32), weights_init, BCELoss, Adam (lr,
(beta1, beta2)), D on real then on fake.detach(), G with the non-saturating loss,
noise N(0, 1) of nz x 1 x 1 per image, for exactly N steps of the batch size. As main.py:
fixed_noise (batch_size rows) drawn after both networks, and the batches from a
torch.utils.data.DataLoader (shuffle as data.shuffle, its RandomSampler reshuffling every
epoch; num_workers 0; the last incomplete batch dropped when data.drop_last), whose iterator
draws its base seed and RandomSampler's seed from the CPU generator at each epoch's start:
gogan draws the same, so the two runs see the same batches and noise.

Data: Fashion-MNIST's train-images-idx3-ubyte.gz read here, each 28x28 image made a
PIL image and passed through torchvision's Resize(image_size) + CenterCrop(image_size)
+ ToTensor + Normalize((0.5,), (0.5,)), as pytorch/examples does (PIL bilinear, which
gogan's data package reproduces).

Samples: after training, torch.manual_seed(1) and --samples images drawn with G in eval
mode (BatchNorm running statistics; --out) and, with --out-train, in train mode
(batch statistics over batches of 64, as pytorch/examples draws its fixed-noise grids),
written as float32 "images" [N, 1, S, S] in [-1, 1].
"""
import argparse
import ctypes
import gzip
import json
import os
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.optim as optim  # noqa: E402
import yaml  # noqa: E402
from PIL import Image  # noqa: E402
from torchvision import transforms  # noqa: E402

import parity_reference  # noqa: E402  (dcgan_step: main.py's loop body)
import reference_nets  # noqa: E402


def read_idx_images(path):
    with gzip.open(path, "rb") if path.endswith(".gz") else open(path, "rb") as f:
        data = f.read()
    magic, n, h, w = struct.unpack(">IIII", data[:16])
    if magic != 2051:
        sys.exit("%s: not an IDX image file (magic %d)" % (path, magic))
    return np.frombuffer(data, dtype=np.uint8, offset=16).reshape(n, h, w)


def find_train_images(root):
    for name in ("train-images-idx3-ubyte.gz", "train-images-idx3-ubyte"):
        p = os.path.join(root, name)
        if os.path.exists(p):
            return p
    sys.exit("%s: no train-images-idx3-ubyte(.gz) (data.root; Debian dataset-fashion-mnist)" % root)


def save_images(path, images):
    """safetensors with one float32 tensor "images" (scripts/safetensors_torch.py's
    format, the bytes copied by ctypes rather than tolist())."""
    t = images.detach().cpu().contiguous().float()
    n = t.numel() * t.element_size()
    header = {"__metadata__": {"source": "scripts/eval_pytorch_dcgan.py", "torch": torch.__version__},
              "images": {"dtype": "F32", "shape": list(t.shape), "data_offsets": [0, n]}}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path + ".tmp", "wb") as f:
        f.write(len(h).to_bytes(8, "little"))
        f.write(h)
        f.write(ctypes.string_at(t.data_ptr(), n))
    os.replace(path + ".tmp", path)


def generate(netG, n, nz, train_mode):
    netG.train(train_mode)
    torch.manual_seed(1)
    out = []
    with torch.no_grad():
        for i in range(0, n, 64):
            k = 64 if train_mode else min(64, n - i)
            out.append(netG(torch.randn(k, nz, 1, 1)))
    return torch.cat(out)[:n]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--config", required=True, help="gogan's effective config (gogan config --config ...)")
    ap.add_argument("--steps", type=int, required=True, help="training steps (batches)")
    ap.add_argument("--out", required=True, help="samples with G in eval mode (safetensors)")
    ap.add_argument("--out-train", help="samples with G in train mode (safetensors)")
    ap.add_argument("--samples", type=int, default=10000)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: all cores)")
    ap.add_argument("--log-every", type=int, default=100)
    a = ap.parse_args()

    with open(a.config) as f:
        cfg = yaml.safe_load(f)
    d, m, t = cfg["data"], cfg["model"], cfg["train"]
    problems = []
    if cfg["recipe"] != "dcgan":
        problems.append("recipe %s (need dcgan)" % cfg["recipe"])
    if d["dataset"] != "fashion-mnist":
        problems.append("data.dataset %s (this script reads Fashion-MNIST)" % d["dataset"])
    if d["channels"] not in (0, 1):
        problems.append("data.channels %s (Fashion-MNIST is gray)" % d["channels"])
    if t["gan_mode"] != "vanilla":
        problems.append("train.gan_mode %s (pytorch/examples uses BCE: vanilla)" % t["gan_mode"])
    if m["init_type"] != "normal":
        problems.append("model.init_type %s (weights_init is normal)" % m["init_type"])
    if problems:
        sys.exit("eval_pytorch_dcgan.py: %s: %s" % (a.config, "; ".join(problems)))

    if a.threads > 0:
        torch.set_num_threads(a.threads)
    torch.manual_seed(cfg["seed"])
    size, nz, bs = d["image_size"], m["nz"], d["batch_size"]

    t0 = time.time()
    raw = read_idx_images(find_train_images(d["root"]))
    if d.get("max_samples", 0):
        raw = raw[:d["max_samples"]]
    tf = transforms.Compose([transforms.Resize(size), transforms.CenterCrop(size), transforms.ToTensor(),
                             transforms.Normalize((0.5,), (0.5,))])
    data = torch.stack([tf(Image.fromarray(im, mode="L")) for im in raw])
    print("data: %d images %s in %.1fs" % (len(data), tuple(data.shape[1:]), time.time() - t0), flush=True)

    gain = m["init_gain"]

    def weights_init(mod):  # reference_nets.weights_init, with the config's gain (0.02 there)
        name = mod.__class__.__name__
        if name.find("Conv") != -1:
            nn.init.normal_(mod.weight, 0.0, gain)
        elif name.find("BatchNorm") != -1:
            nn.init.normal_(mod.weight, 1.0, gain)
            nn.init.zeros_(mod.bias)

    netG = reference_nets.DCGANGenerator(nz, m["ngf"], 1, size)
    netG.apply(weights_init)
    netD = reference_nets.DCGANDiscriminator(m["ndf"], 1, size)
    netD.apply(weights_init)
    criterion = nn.BCELoss()
    torch.randn(bs, nz, 1, 1)  # main.py's fixed_noise (its grids; nothing here uses it)
    optD = optim.Adam(netD.parameters(), lr=t["lr"], betas=(t["beta1"], t["beta2"]))
    optG = optim.Adam(netG.parameters(), lr=t["lr"], betas=(t["beta1"], t["beta2"]))
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(data), batch_size=bs,
                                         shuffle=d["shuffle"], drop_last=d["drop_last"], num_workers=0)

    step, epoch, t0 = 0, 0, time.time()
    while step < a.steps:
        for (real,) in loader:
            losses = dict(parity_reference.dcgan_step(netG, netD, criterion, optD, optG, real, nz))
            step += 1
            if step % a.log_every == 0 or step == a.steps:
                el = time.time() - t0
                print("[%d/%d] epoch %d Loss_D %.4f Loss_G %.4f D(x) %.4f D(G(z)) %.4f / %.4f  %.1f img/s" % (
                    step, a.steps, epoch, losses["Loss_D"], losses["Loss_G"], losses["D_x"], losses["D_G_z1"],
                    losses["D_G_z2"], step * bs / el), flush=True)
            if step >= a.steps:
                break
        epoch += 1
    train_s = time.time() - t0
    print("trained %d steps in %.1fs" % (step, train_s), flush=True)

    save_images(a.out, generate(netG, a.samples, nz, False))
    print("wrote %s (%d samples, G in eval mode)" % (a.out, a.samples))
    if a.out_train:
        save_images(a.out_train, generate(netG, a.samples, nz, True))
        print("wrote %s (%d samples, G in train mode)" % (a.out_train, a.samples))


if __name__ == "__main__":
    main()
