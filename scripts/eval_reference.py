"""The reference figures for gogan's eval metrics (eval/eval_test.go).

Usage:
  eval_reference.py fd IN.safetensors      tensors "a" [N1, D] and "b" [N2, D] (float64)
  eval_reference.py images IN.safetensors  tensors "x" and "y" [K, H, W, C] (uint8)

Prints one JSON object on stdout.

fd: the Fréchet distance as pytorch-fid's calculate_frechet_distance computes
it: numpy mean and cov(rowvar=False), scipy.linalg.sqrtm(sigma1 @ sigma2),
|mu1 - mu2|^2 + tr(S1) + tr(S2) - 2 tr(sqrtm), in float64.

images: per image pair, PSNR (10 log10(255^2 / MSE)) and SSIM as Wang et al.
(2004) and skimage.metrics.structural_similarity(gaussian_weights=True,
sigma=1.5, use_sample_covariance=False, data_range=255) compute it:
scipy.ndimage.gaussian_filter (sigma 1.5, truncate 3.5: an 11x11 window) of
x, y, x^2, y^2, xy, the SSIM map with K1 0.01, K2 0.03, its borders of 5
pixels cropped, the mean per channel, then over channels. When skimage is
installed its figures are printed alongside ("skimage_ssim", "skimage_psnr").
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402
from scipy import linalg, ndimage  # noqa: E402

import safetensors_torch  # noqa: E402


def fd(a, b):
    mu1, mu2 = a.mean(axis=0), b.mean(axis=0)
    s1, s2 = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    covmean, _ = linalg.sqrtm(s1.dot(s2), disp=False)
    if np.iscomplexobj(covmean):
        covmean = covmean.real
    diff = mu1 - mu2
    return float(diff.dot(diff) + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


def psnr(x, y):
    mse = np.mean((x.astype(np.float64) - y.astype(np.float64)) ** 2)
    return float(10 * np.log10(255.0 ** 2 / mse))


def ssim_channel(x, y):
    x, y = x.astype(np.float64), y.astype(np.float64)
    f = lambda z: ndimage.gaussian_filter(z, sigma=1.5, truncate=3.5)  # noqa: E731
    ux, uy = f(x), f(y)
    vx, vy, cxy = f(x * x) - ux * ux, f(y * y) - uy * uy, f(x * y) - ux * uy
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    s = ((2 * ux * uy + c1) * (2 * cxy + c2)) / ((ux * ux + uy * uy + c1) * (vx + vy + c2))
    return float(s[5:-5, 5:-5].mean())


def ssim(x, y):
    return float(np.mean([ssim_channel(x[..., c], y[..., c]) for c in range(x.shape[-1])]))


def main():
    mode, path = sys.argv[1], sys.argv[2]
    ts, _ = safetensors_torch.load(path)
    if mode == "fd":
        out = {"fd": fd(ts["a"].double().numpy(), ts["b"].double().numpy())}
    elif mode == "images":
        x, y = ts["x"].numpy(), ts["y"].numpy()
        out = {"psnr": [psnr(a, b) for a, b in zip(x, y)], "ssim": [ssim(a, b) for a, b in zip(x, y)]}
        try:
            from skimage import metrics
        except ImportError:
            pass
        else:
            out["skimage_psnr"] = [float(metrics.peak_signal_noise_ratio(a, b, data_range=255)) for a, b in zip(x, y)]
            out["skimage_ssim"] = [float(metrics.structural_similarity(
                a, b, channel_axis=-1, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                data_range=255)) for a, b in zip(x, y)]
    else:
        sys.exit("mode must be fd or images")
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
