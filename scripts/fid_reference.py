"""pytorch-fid, transcribed, as the reference for gogan's `eval fid --inception` tests.

Written from pytorch-fid's own source (src/pytorch_fid/inception.py and
fid_score.py of github.com/mseitzer/pytorch-fid): the FID Inception is
torchvision's Inception3 with Mixed_5b-d, 6b-e, 7b and 7c replaced by the
FIDInceptionA, C, E_1 and E_2 blocks, in eval mode; images are read with
PIL's convert('RGB') and ToTensor, resized to 299 inside the model,
scaled to [-1, 1]; statistics are numpy's mean and cov; the distance is
calculate_frechet_distance with scipy's sqrtm. Run with Debian's
/usr/bin/python3 (torch, torchvision, scipy).

  fid_reference.py make-weights OUT.pth [--seed N] [--zip]
      random FID Inception weights (no download here), BatchNorm running
      statistics set from a forward pass over noise images so that the
      features are not degenerate; saved with torch.save (the legacy format
      unless --zip), as pytorch-fid's state dict.
  fid_reference.py features DIR --weights W --dims D --out OUT.safetensors
      get_activations of the folder's images ("features", [N D] float32).
  fid_reference.py fid PATH PATH --weights W --dims D
      calculate_fid_given_paths: prints the FID.
  fid_reference.py save-stats DIR OUT.npz --weights W --dims D
      save_fid_stats: np.savez_compressed(OUT, mu=, sigma=).
"""
import argparse
import os
import pathlib
import sys

import numpy as np
import torch
import torch.nn.functional as F
import torchvision
import torchvision.transforms as TF
from PIL import Image
from scipy import linalg

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_torch  # noqa: E402

BLOCK_INDEX_BY_DIM = {64: 0, 192: 1, 768: 2, 2048: 3}
IMAGE_EXTENSIONS = {'bmp', 'jpg', 'jpeg', 'pgm', 'png', 'ppm', 'tif', 'tiff', 'webp'}


class FIDInceptionA(torchvision.models.inception.InceptionA):
    def forward(self, x):
        branch1x1 = self.branch1x1(x)
        branch5x5 = self.branch5x5_2(self.branch5x5_1(x))
        branch3x3dbl = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        branch_pool = F.avg_pool2d(x, kernel_size=3, stride=1, padding=1, count_include_pad=False)
        branch_pool = self.branch_pool(branch_pool)
        return torch.cat([branch1x1, branch5x5, branch3x3dbl, branch_pool], 1)


class FIDInceptionC(torchvision.models.inception.InceptionC):
    def forward(self, x):
        branch1x1 = self.branch1x1(x)
        branch7x7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        branch7x7dbl = self.branch7x7dbl_1(x)
        branch7x7dbl = self.branch7x7dbl_2(branch7x7dbl)
        branch7x7dbl = self.branch7x7dbl_3(branch7x7dbl)
        branch7x7dbl = self.branch7x7dbl_4(branch7x7dbl)
        branch7x7dbl = self.branch7x7dbl_5(branch7x7dbl)
        branch_pool = F.avg_pool2d(x, kernel_size=3, stride=1, padding=1, count_include_pad=False)
        branch_pool = self.branch_pool(branch_pool)
        return torch.cat([branch1x1, branch7x7, branch7x7dbl, branch_pool], 1)


class FIDInceptionE_1(torchvision.models.inception.InceptionE):
    def forward(self, x):
        branch1x1 = self.branch1x1(x)
        branch3x3 = self.branch3x3_1(x)
        branch3x3 = torch.cat([self.branch3x3_2a(branch3x3), self.branch3x3_2b(branch3x3)], 1)
        branch3x3dbl = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        branch3x3dbl = torch.cat([self.branch3x3dbl_3a(branch3x3dbl), self.branch3x3dbl_3b(branch3x3dbl)], 1)
        branch_pool = F.avg_pool2d(x, kernel_size=3, stride=1, padding=1, count_include_pad=False)
        branch_pool = self.branch_pool(branch_pool)
        return torch.cat([branch1x1, branch3x3, branch3x3dbl, branch_pool], 1)


class FIDInceptionE_2(torchvision.models.inception.InceptionE):
    def forward(self, x):
        branch1x1 = self.branch1x1(x)
        branch3x3 = self.branch3x3_1(x)
        branch3x3 = torch.cat([self.branch3x3_2a(branch3x3), self.branch3x3_2b(branch3x3)], 1)
        branch3x3dbl = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        branch3x3dbl = torch.cat([self.branch3x3dbl_3a(branch3x3dbl), self.branch3x3dbl_3b(branch3x3dbl)], 1)
        branch_pool = F.max_pool2d(x, kernel_size=3, stride=1, padding=1)
        branch_pool = self.branch_pool(branch_pool)
        return torch.cat([branch1x1, branch3x3, branch3x3dbl, branch_pool], 1)


def fid_inception_v3():
    """fid_inception_v3 without the download: the structure, weights unset."""
    inception = torchvision.models.inception_v3(num_classes=1008, aux_logits=False, weights=None, init_weights=False)
    inception.Mixed_5b = FIDInceptionA(192, pool_features=32)
    inception.Mixed_5c = FIDInceptionA(256, pool_features=64)
    inception.Mixed_5d = FIDInceptionA(288, pool_features=64)
    inception.Mixed_6b = FIDInceptionC(768, channels_7x7=128)
    inception.Mixed_6c = FIDInceptionC(768, channels_7x7=160)
    inception.Mixed_6d = FIDInceptionC(768, channels_7x7=160)
    inception.Mixed_6e = FIDInceptionC(768, channels_7x7=192)
    inception.Mixed_7b = FIDInceptionE_1(1280)
    inception.Mixed_7c = FIDInceptionE_2(2048)
    return inception


class InceptionV3(torch.nn.Module):
    """pytorch-fid's InceptionV3(output_blocks=[block], resize_input, normalize_input)."""

    def __init__(self, block, weights):
        super().__init__()
        inception = fid_inception_v3()
        inception.load_state_dict(torch.load(weights))
        self.last_needed_block = block
        self.blocks = torch.nn.ModuleList([
            torch.nn.Sequential(inception.Conv2d_1a_3x3, inception.Conv2d_2a_3x3, inception.Conv2d_2b_3x3,
                                torch.nn.MaxPool2d(kernel_size=3, stride=2)),
            torch.nn.Sequential(inception.Conv2d_3b_1x1, inception.Conv2d_4a_3x3,
                                torch.nn.MaxPool2d(kernel_size=3, stride=2)),
            torch.nn.Sequential(inception.Mixed_5b, inception.Mixed_5c, inception.Mixed_5d, inception.Mixed_6a,
                                inception.Mixed_6b, inception.Mixed_6c, inception.Mixed_6d, inception.Mixed_6e),
            torch.nn.Sequential(inception.Mixed_7a, inception.Mixed_7b, inception.Mixed_7c,
                                torch.nn.AdaptiveAvgPool2d(output_size=(1, 1))),
        ][:block + 1])
        for p in self.parameters():
            p.requires_grad = False

    def forward(self, inp):
        x = F.interpolate(inp, size=(299, 299), mode='bilinear', align_corners=False)
        x = 2 * x - 1
        for idx, block in enumerate(self.blocks):
            x = block(x)
            if idx == self.last_needed_block:
                break
        return [x]


def image_files(path):
    path = pathlib.Path(path)
    return sorted([f for ext in IMAGE_EXTENSIONS for f in path.glob('*.{}'.format(ext))])


def get_activations(files, model, batch_size, dims):
    model.eval()
    batch_size = min(batch_size, len(files))
    pred_arr = np.empty((len(files), dims))
    start = 0
    for i in range(0, len(files), batch_size):
        batch = torch.stack([TF.ToTensor()(Image.open(f).convert('RGB')) for f in files[i:i + batch_size]])
        with torch.no_grad():
            pred = model(batch)[0]
        if pred.size(2) != 1 or pred.size(3) != 1:
            pred = F.adaptive_avg_pool2d(pred, output_size=(1, 1))
        pred = pred.squeeze(3).squeeze(2).cpu().numpy()
        pred_arr[start:start + pred.shape[0]] = pred
        start += pred.shape[0]
    return pred_arr


def calculate_frechet_distance(mu1, sigma1, mu2, sigma2, eps=1e-6):
    mu1, mu2 = np.atleast_1d(mu1), np.atleast_1d(mu2)
    sigma1, sigma2 = np.atleast_2d(sigma1), np.atleast_2d(sigma2)
    diff = mu1 - mu2
    covmean, _ = linalg.sqrtm(sigma1.dot(sigma2), disp=False)
    if not np.isfinite(covmean).all():
        offset = np.eye(sigma1.shape[0]) * eps
        covmean = linalg.sqrtm((sigma1 + offset).dot(sigma2 + offset))
    if np.iscomplexobj(covmean):
        if not np.allclose(np.diagonal(covmean).imag, 0, atol=1e-3):
            raise ValueError('Imaginary component {}'.format(np.max(np.abs(covmean.imag))))
        covmean = covmean.real
    return diff.dot(diff) + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(covmean)


def statistics(path, model, batch_size, dims):
    if str(path).endswith('.npz'):
        with np.load(path) as f:
            return f['mu'][:], f['sigma'][:]
    act = get_activations(image_files(path), model, batch_size, dims)
    return np.mean(act, axis=0), np.cov(act, rowvar=False)


def make_weights(out, seed, zip_format):
    torch.manual_seed(seed)
    net = fid_inception_v3()
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.momentum = None  # cumulative: the running statistics become the batch's
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.2, 0.2)
    net.train()
    with torch.no_grad():
        net(torch.rand(6, 3, 299, 299) * 2 - 1)
    torch.save(net.state_dict(), out, _use_new_zipfile_serialization=zip_format)


def main():
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    ap = argparse.ArgumentParser()
    ap.add_argument('mode', choices=['make-weights', 'features', 'fid', 'save-stats'])
    ap.add_argument('paths', nargs='+')
    ap.add_argument('--weights')
    ap.add_argument('--dims', type=int, default=2048)
    ap.add_argument('--batch-size', type=int, default=50)
    ap.add_argument('--out')
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--zip', action='store_true')
    a = ap.parse_args()
    if a.mode == 'make-weights':
        make_weights(a.paths[0], a.seed, a.zip)
        return
    model = InceptionV3(BLOCK_INDEX_BY_DIM[a.dims], a.weights)
    if a.mode == 'features':
        act = get_activations(image_files(a.paths[0]), model, a.batch_size, a.dims)
        safetensors_torch.save(a.out, {'features': torch.from_numpy(act).float()})
    elif a.mode == 'fid':
        m1, s1 = statistics(a.paths[0], model, a.batch_size, a.dims)
        m2, s2 = statistics(a.paths[1], model, a.batch_size, a.dims)
        print('FID: %.10f' % calculate_frechet_distance(m1, s1, m2, s2))
    else:
        m1, s1 = statistics(a.paths[0], model, a.batch_size, a.dims)
        np.savez_compressed(a.paths[1], mu=m1, sigma=s1)


if __name__ == '__main__':
    main()
