"""The reference figures of gogan eval classes (eval/classes_test.go).

Usage:
  classes_reference.py CASE.json

CASE.json: {"classifier": FILE, "weights": CHECKPOINT/weights.safetensors,
"role": "G_A" or "G_B", "netG": "resnet_6blocks", "ngf": 8, "norm": "instance",
"root": Fashion-MNIST IDX folder, "source": [labels], "target": [labels],
"load_size": 32, "crop_size": 32}

Prints one JSON object on stdout: "rows", one per image set scored as gogan eval
classes lists them (the source class's test images untranslated, the role's
translations of them, the target class's training images, the target class's
test images), each with "n", "in_target" and "fid" (null for the reference).

Written from the definitions, not from gogan's code:

- every set of real images is what pytorch-CycleGAN-and-pix2pix's
  UnalignedDataset makes of the class's images, in file order: the source
  images those G takes, the target images those D was shown as real (which G
  learns to imitate): a PIL image convert('RGB'), then
  get_transform(grayscale=True, no flip): Grayscale(1), Resize([load_size,
  load_size], BICUBIC), RandomCrop(crop_size) (the whole image when the sizes
  are equal), ToTensor, Normalize((0.5,), (0.5,));
- the translations are G (networks.define_G, eval mode) of those, saved as
  torchvision's save_image stores them (mul(255).add_(0.5).clamp_(0, 255) to
  uint8 of (x + 1) / 2) and read back with ToTensor and Normalize;
- the classifier is the module gogan eval classifier documents
  (eval/classifier.go): features = Sequential(Conv2d(1, 32, 4, 2, 1, bias=False),
  BatchNorm2d(32), ReLU(), ... Conv2d(128, 128, 3, 1, 1, bias=False),
  BatchNorm2d(128), ReLU()), head = Conv2d(128, 10, 1), the features the spatial
  mean of features(x), the logits head(those), in eval mode;
- "in_target" is the fraction of a set whose argmax logit is a target class;
- "fid" is pytorch-fid's calculate_frechet_distance between np.mean /
  np.cov(rowvar=False) of the set's features and of the target test images'.
"""
import gzip
import json
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
from PIL import Image  # noqa: E402
from scipy import linalg  # noqa: E402
from torchvision import transforms  # noqa: E402

import reference_nets  # noqa: E402
import safetensors_torch  # noqa: E402

IDX = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
       "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}


def read_idx(root, name):
    for p in (os.path.join(root, name), os.path.join(root, name + ".gz")):
        if os.path.exists(p):
            with (gzip.open(p, "rb") if p.endswith(".gz") else open(p, "rb")) as f:
                b = f.read()
            magic, = struct.unpack(">I", b[:4])
            nd = magic & 0xFF
            dims = struct.unpack(">" + "I" * nd, b[4:4 + 4 * nd])
            return np.frombuffer(b, dtype=np.uint8, offset=4 + 4 * nd).reshape(dims)
    raise SystemExit("no %s in %s" % (name, root))


def split(root, phase):
    images, labels = IDX[phase]
    return read_idx(root, images), read_idx(root, labels)


class Classifier(nn.Module):
    def __init__(self):
        super().__init__()
        layers, cin = [], 1
        for cout, k, s, p in [(32, 4, 2, 1), (64, 4, 2, 1), (128, 4, 2, 1), (128, 3, 1, 1)]:
            layers += [nn.Conv2d(cin, cout, k, s, p, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]
            cin = cout
        self.features = nn.Sequential(*layers)
        self.head = nn.Conv2d(128, 10, 1)

    def forward(self, x):
        f = self.features(x).mean((2, 3), keepdim=True)
        return self.head(f).flatten(1), f.flatten(1)


def fid(a, b):
    mu1, mu2 = np.mean(a, axis=0), np.mean(b, axis=0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    diff = mu1 - mu2
    covmean, _ = linalg.sqrtm(s1.dot(s2), disp=False)
    if not np.isfinite(covmean).all():
        offset = np.eye(s1.shape[0]) * 1e-6
        covmean = linalg.sqrtm((s1 + offset).dot(s2 + offset))
    if np.iscomplexobj(covmean):
        covmean = covmean.real
    return float(diff.dot(diff) + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


def main():
    with open(sys.argv[1]) as f:
        case = json.load(f)
    torch.set_num_threads(1)
    source, target = set(case["source"]), set(case["target"])
    norm = transforms.Normalize((0.5,), (0.5,))
    to_g = transforms.Compose([
        transforms.Grayscale(1),
        transforms.Resize([case["load_size"]] * 2, transforms.InterpolationMode.BICUBIC),
        transforms.RandomCrop(case["crop_size"]),
        transforms.ToTensor(), norm])

    test_x, test_y = split(case["root"], "test")
    train_x, train_y = split(case["root"], "train")

    def images(xs, ys, labels):
        return torch.stack([to_g(Image.fromarray(x, "L").convert("RGB")) for x, y in zip(xs, ys) if int(y) in labels])

    src, tgt_test, tgt_train = images(test_x, test_y, source), images(test_x, test_y, target), images(train_x, train_y, target)

    weights, _ = safetensors_torch.load(case["weights"])
    g = reference_nets.define_G(1, 1, case["ngf"], case["netG"], norm=case["norm"])
    prefix = case["role"] + "."
    g.load_state_dict({k[len(prefix):]: v for k, v in weights.items() if k.startswith(prefix)})
    g.eval()
    with torch.no_grad():
        fake = torch.cat([g(src[i:i + 256]) for i in range(0, len(src), 256)])
    fake = ((fake + 1) / 2).mul(255).add_(0.5).clamp_(0, 255).to(torch.uint8)
    fake = norm(fake.float() / 255)

    clf = Classifier()
    sd, _ = safetensors_torch.load(case["classifier"])
    clf.load_state_dict(sd)
    clf.eval()

    def run(x):
        with torch.no_grad():
            outs = [clf(x[i:i + 500]) for i in range(0, len(x), 500)]
        logits = torch.cat([o[0] for o in outs])
        feats = torch.cat([o[1] for o in outs]).numpy()
        hits = sum(1 for k in logits.argmax(1).tolist() if k in target)
        return hits / len(x), feats

    _, ref = run(tgt_test)
    rows = []
    for x in (src, fake, tgt_train, tgt_test):
        rate, feats = run(x)
        rows.append({"n": len(x), "in_target": rate, "fid": None if x is tgt_test else fid(feats, ref)})
    print(json.dumps({"rows": rows}))


if __name__ == "__main__":
    main()
