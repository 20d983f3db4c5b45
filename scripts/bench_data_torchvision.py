#!/usr/bin/python3
"""Images/s of torchvision's data pipeline on the files gogan's data benchmarks use.

Run with Debian's /usr/bin/python3 (python3-torch, python3-torchvision, PIL).
The pipelines are the references':

  facades   pytorch-CycleGAN-and-pix2pix AlignedDataset, preprocess
            resize_and_crop: open + convert('RGB'), split A|B at w/2, Resize
            ([286, 286], BICUBIC), the same random 256 crop and flip for A and B,
            ToTensor, Normalize(0.5, 0.5).
  fashion   pytorch/examples dcgan on (Fashion-)MNIST: torchvision's MNIST
            __getitem__ (Image.fromarray(mode='L')), Resize(64), CenterCrop(64),
            ToTensor, Normalize(0.5, 0.5).
  lsun      pytorch/examples dcgan --dataset lsun: torchvision's LSUN (py-lmdb, PIL's
            WebP decoder), Resize(64), CenterCrop(64), ToTensor, Normalize(0.5, 0.5).
            LSUNClass caches its keys in the working folder: run it in a scratch one.

"one core" is one process with torch.set_num_threads(1) and num_workers=0;
"loader" is DataLoader(num_workers=N) over all cores. Prints JSON.
"""
import argparse
import gzip
import json
import os
import random
import sys
import time

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset
import torchvision.transforms as T


class Aligned(Dataset):
    def __init__(self, root, load=286, crop=256):
        self.paths = sorted(os.path.join(root, f) for f in os.listdir(root)
                            if f.lower().endswith(('.jpg', '.jpeg', '.png')))
        self.load, self.crop = load, crop
        self.post = T.Compose([T.ToTensor(), T.Normalize((0.5,) * 3, (0.5,) * 3)])

    def __len__(self):
        return len(self.paths)

    def transform(self, img, x, y, flip):
        img = img.resize((self.load, self.load), Image.BICUBIC)
        img = img.crop((x, y, x + self.crop, y + self.crop))
        if flip:
            img = img.transpose(Image.FLIP_LEFT_RIGHT)
        return self.post(img)

    def __getitem__(self, i):
        ab = Image.open(self.paths[i]).convert('RGB')
        w, h = ab.size
        w2 = int(w / 2)
        a, b = ab.crop((0, 0, w2, h)), ab.crop((w2, 0, w, h))
        x = random.randint(0, max(0, self.load - self.crop))
        y = random.randint(0, max(0, self.load - self.crop))
        flip = random.random() > 0.5
        return self.transform(a, x, y, flip), self.transform(b, x, y, flip)


def read_idx(path):
    with gzip.open(path, 'rb') if path.endswith('.gz') else open(path, 'rb') as f:
        data = f.read()
    nd = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], 'big') for i in range(nd)]
    return torch.from_numpy(np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * nd).reshape(dims).copy())


class Fashion(Dataset):
    def __init__(self, root, size=64, limit=None):
        self.data = read_idx(os.path.join(root, 'train-images-idx3-ubyte.gz'))
        self.targets = read_idx(os.path.join(root, 'train-labels-idx1-ubyte.gz'))
        if limit:
            self.data, self.targets = self.data[:limit], self.targets[:limit]
        self.transform = T.Compose([T.Resize(size), T.CenterCrop(size), T.ToTensor(), T.Normalize((0.5,), (0.5,))])

    def __len__(self):
        return len(self.data)

    def __getitem__(self, i):
        img = Image.fromarray(self.data[i].numpy(), mode='L')  # as torchvision.datasets.MNIST
        return self.transform(img), int(self.targets[i])


def one_core(ds, seconds):
    n, start = 0, time.perf_counter()
    while True:
        for i in range(len(ds)):
            ds[i]
            n += 1
            if n % 16 == 0 and time.perf_counter() - start > seconds:
                return n / (time.perf_counter() - start)


def loader(ds, batch_size, workers, seconds):
    dl = DataLoader(ds, batch_size=batch_size, shuffle=True, num_workers=workers,
                    persistent_workers=workers > 0, prefetch_factor=2 if workers else None)
    it = iter(dl)
    next(it)  # workers started
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        try:
            b = next(it)
        except StopIteration:
            it = iter(dl)
            continue
        n += b[0].shape[0]
    return n / (time.perf_counter() - start)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument('--facades', required=True)
    p.add_argument('--fashion', default='/usr/share/datasets/fashion-mnist')
    p.add_argument('--lsun', default='', help='a root with bedroom_train_lmdb/')
    p.add_argument('--workers', type=int, default=os.cpu_count())
    p.add_argument('--seconds', type=float, default=3.0)
    args = p.parse_args()
    torch.set_num_threads(1)
    random.seed(0)
    torch.manual_seed(0)
    out = {'torch': torch.__version__, 'workers': args.workers}
    fac = Aligned(args.facades)
    fas = Fashion(args.fashion, limit=10000)
    out['facades_one_core'] = one_core(fac, args.seconds)
    out['fashion_one_core'] = one_core(fas, args.seconds)
    out['facades_loader'] = loader(fac, 1, args.workers, args.seconds)
    out['fashion_loader'] = loader(fas, 64, args.workers, args.seconds)
    if args.lsun:
        import torchvision.datasets as dset
        tf = T.Compose([T.Resize(64), T.CenterCrop(64), T.ToTensor(), T.Normalize((0.5,) * 3, (0.5,) * 3)])
        ls = dset.LSUN(root=args.lsun, classes=['bedroom_train'], transform=tf)
        out['lsun_one_core'] = one_core(ls, args.seconds)
        out['lsun_loader'] = loader(ls, 64, args.workers, args.seconds)
    json.dump(out, sys.stdout)
    print()


if __name__ == '__main__':
    main()
