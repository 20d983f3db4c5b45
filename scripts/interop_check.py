"""PyTorch side of gogan's checkpoint interop tests (infer/interop_test.go).

  interop_check.py forward OPTS.json WEIGHTS.safetensors INPUT.safetensors OUT.safetensors [ROLE]
      builds the reference generator for gogan's nets.Options, loads the
      generator of a gogan checkpoint (keys "ROLE.*", default "G": "G_A" and
      "G_B" for CycleGAN) with strict=True, and writes its eval-mode output
      for the input "x".
  interop_check.py save OPTS.json SEED OUT.pth INPUT.safetensors OUT.safetensors
      builds a PyTorch-initialised reference generator (the reference's own
      init: weights_init for DCGAN, init_weights normal 0.02 for pix2pix),
      saves its state_dict with torch.save, and writes its eval-mode output.
  interop_check.py save-old ...
      as save, but the file is the one PyTorch 0.3 wrote for that network
      (as the references' published models): the legacy torch.save format,
      no num_batches_tracked, and running_mean and running_var (random) for
      every InstanceNorm layer; the output is the reference's after its
      load_networks drops those.
  interop_check.py testpy OPTS.json WEIGHTS.safetensors CROP IN_DIR OUT_DIR [ROLE]
      what pytorch-CycleGAN-and-pix2pix's test.py --eval writes for each image
      of IN_DIR (sorted; its --dataset_mode single with --preprocess
      resize_and_crop and load_size = crop_size = CROP): PIL convert('RGB')
      (or 'L' for a 1-channel input), Resize((CROP, CROP), BICUBIC),
      ToTensor, Normalize(0.5, 0.5), the generator in eval mode, and
      util.tensor2im (float32 (x + 1) / 2 * 255, truncated to uint8) saved as
      OUT_DIR/<name>.png.
  interop_check.py pth IN.safetensors OURS.pth REF.pth
      torch.save(OrderedDict(the tensors of IN, in file order)) to REF.pth,
      and checks that torch.load(OURS.pth, weights_only=True) gives the same
      keys in the same order, dtypes, shapes and bytes, contiguous.
"""
import collections
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy  # noqa: E402
import torch  # noqa: E402

import reference_nets  # noqa: E402
import safetensors_torch  # noqa: E402


def old_state_dict(net):
    """net's state dict as PyTorch 0.3 saved it."""
    sd = collections.OrderedDict()
    for name, m in net.named_modules():
        prefix = name + "." if name else ""
        for k, v in m.named_parameters(recurse=False):
            sd[prefix + k] = v.detach()
        for k, v in m.named_buffers(recurse=False):
            if k != "num_batches_tracked":
                sd[prefix + k] = v
        if isinstance(m, torch.nn.InstanceNorm2d) and m.running_mean is None:
            sd[prefix + "running_mean"] = torch.randn(m.num_features)
            sd[prefix + "running_var"] = torch.rand(m.num_features) + 0.5
    return sd


def check_pth(src, ours, ref):
    want, _ = safetensors_torch.load(src)
    want = collections.OrderedDict(want)
    torch.save(want, ref)
    got = torch.load(ours, weights_only=True)
    if type(got) is not collections.OrderedDict:
        raise SystemExit("%s: torch.load gave a %s, not an OrderedDict" % (ours, type(got).__name__))
    if list(got) != list(want):
        raise SystemExit("%s: keys %s, want %s" % (ours, list(got)[:8], list(want)[:8]))
    for k, w in want.items():
        g = got[k]
        if g.dtype != w.dtype or g.shape != w.shape or not g.is_contiguous() or g.requires_grad:
            raise SystemExit("%s: %s is %s %s (contiguous %s), want %s %s" % (
                ours, k, g.dtype, tuple(g.shape), g.is_contiguous(), w.dtype, tuple(w.shape)))
        if g.numel() and not torch.equal(g.view(-1).view(torch.uint8), w.view(-1).view(torch.uint8)):
            raise SystemExit("%s: %s differs" % (ours, k))


def tensor2im(t):
    """pytorch-CycleGAN-and-pix2pix's util.tensor2im."""
    a = t[0].cpu().float().numpy()
    if a.shape[0] == 1:
        a = numpy.tile(a, (3, 1, 1))
    a = (numpy.transpose(a, (1, 2, 0)) + 1) / 2.0 * 255.0
    return a.astype(numpy.uint8)


def test_py(net, opts, weights, crop, in_dir, out_dir, role="G"):
    from PIL import Image
    import torchvision.transforms as T
    prefix = role + "."
    w, _ = safetensors_torch.load(weights)
    net.load_state_dict({k[len(prefix):]: v for k, v in w.items() if k.startswith(prefix)}, strict=True)
    net.eval()
    crop = int(crop)
    nc = opts["InputNC"]
    tf = T.Compose([T.Resize([crop, crop], T.InterpolationMode.BICUBIC), T.ToTensor(),
                    T.Normalize((0.5,) * nc, (0.5,) * nc)])
    for name in sorted(os.listdir(in_dir)):
        img = Image.open(os.path.join(in_dir, name)).convert("L" if nc == 1 else "RGB")
        with torch.no_grad():
            y = net(tf(img).unsqueeze(0))
        Image.fromarray(tensor2im(y)).save(os.path.join(out_dir, os.path.splitext(name)[0] + ".png"))


def main():
    torch.set_num_threads(1)
    mode = sys.argv[1]
    if mode == "pth":
        check_pth(*sys.argv[2:5])
        return
    with open(sys.argv[2]) as f:
        opts = json.load(f)
    net = reference_nets.build("G", opts)
    if mode == "testpy":
        test_py(net, opts, *sys.argv[3:])
        return
    if mode == "forward":
        weights, inp, out = sys.argv[3:6]
        prefix = (sys.argv[6] if len(sys.argv) > 6 else "G") + "."
        w, _ = safetensors_torch.load(weights)
        sd = {k[len(prefix):]: v for k, v in w.items() if k.startswith(prefix)}
        net.load_state_dict(sd, strict=True)
    elif mode in ("save", "save-old"):
        seed, pth, inp, out = sys.argv[3:7]
        torch.manual_seed(int(seed))
        net = reference_nets.build("G", opts)
        if opts["Kind"] == "dcgan":
            net.apply(reference_nets.weights_init)
        else:
            reference_nets.init_weights(net, "normal", 0.02)
        if mode == "save":
            torch.save(net.state_dict(), pth)
        else:
            torch.save(old_state_dict(net), pth, _use_new_zipfile_serialization=False)
    else:
        raise SystemExit("unknown mode " + mode)
    x = safetensors_torch.load(inp)[0]["x"]
    net.eval()
    with torch.no_grad():
        y = net(x)
    reference_nets.fast_save(out, {"y": y})


if __name__ == "__main__":
    main()
