"""Writes a stand-in for torchvision's ImageNet VGG19 weights (vgg19-dcbb9e9d.pth), for tests.

Usage: /usr/bin/python3 scripts/make_vgg19_pth.py OUT [--seed N] [--full]

torch.manual_seed(N) (default 0), then torchvision.models.vgg19() with its own random
initialisation (no download), and torch.save of its state dict to OUT: by default only the
"features.*" entries (about 80 MB), which is all pix2pixHD's Vgg19 uses; with --full the whole
state dict (features and classifier, about 550 MB), the key set of the real file. The file is
in torch.save's legacy format, as the real one (saved in 2017, before PyTorch 1.6's zip format).
"""
import argparse
import collections

import torch
import torchvision


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--full", action="store_true", help="features and classifier (the real file's keys)")
    a = ap.parse_args()
    torch.manual_seed(a.seed)
    sd = torchvision.models.vgg19().state_dict()  # weights=None: random init, nothing downloaded
    if not a.full:
        sd = collections.OrderedDict((k, v) for k, v in sd.items() if k.startswith("features."))
    torch.save(sd, a.out, _use_new_zipfile_serialization=False)


if __name__ == "__main__":
    main()
