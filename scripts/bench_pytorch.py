"""PyTorch reference of `gogan bench`: the same training step, timed the same way.

Usage: bench_pytorch.py --spec SPEC.json [--threads N] [--blas-threads N]
                        [--warmup W] [--steps S] [--device cpu|cuda[:i]]
                        [--adam single|foreach|fused] [--compile MODE] [--autocast none|bf16|fp16]

SPEC.json is `gogan bench --config FILE --spec` (or a `gogan bench --json` result):
the networks by role as gogan's nets.Options, which scripts/reference_nets.py builds
as the reference implementations define them, the synthetic inputs' shapes, the GAN
loss and Adam's settings. The step is the recipes' (gan/dcgan, gan/pix2pix,
gan/cyclegan, gan/pix2pixhd), op for op:

  dcgan    D on real, then on G(z).detach() (two backwards), Adam on D; D frozen
           (requires_grad off), G's non-saturating loss through D, Adam on G;
           BCE on D's Sigmoid; 5 losses read with .item().
  pix2pix  fake_B = G(A); D on cat(A, fake_B).detach() and cat(A, B),
           loss_D = 0.5 (fake + real); D frozen, loss_G = GAN(D(cat(A, fake_B)))
           + lambda_L1 * L1(fake_B, B); BCE with logits; 4 losses read with .item().
  cyclegan fake_B = G_A(A), rec_A = G_B(fake_B), fake_A = G_B(B), rec_B = G_A(fake_A);
           D_A, D_B frozen: identity losses (lambda_identity > 0: L1(G_A(B), B) *
           lambda_B * lambda_identity, L1(G_B(A), A) * lambda_A * lambda_identity),
           GAN(D_A(fake_B)), GAN(D_B(fake_A)) as real, cycle L1s * lambda_A,
           lambda_B, summed G_A + G_B + cycle_A + cycle_B + idt_A + idt_B, one
           backward, Adam over G_A + G_B; D_A, D_B unfrozen: D_A on B and on
           pool_B(fake_B).detach(), D_B on A and pool_A(fake_A).detach(), each
           0.5 (real + fake) back-propagated, Adam over D_A + D_B; the image pools
           are util/image_pool.py's ImagePool (Python's random, seeded with the
           spec's seed; pool_size from the spec); 8 losses read with .item().
  pix2pixhd NVIDIA/pix2pixHD's Pix2PixHDModel.forward and train.py's updates
           (models/pix2pixHD_model.py, models/networks.py, train.py): encode_input
           (label_nc > 0: one-hot by scatter_ into zeros; the instance boundaries
           cat as one more channel), fake = G(input_label); pred_fake_pool =
           D(cat(input_label, fake.detach())) (pool_size 0), pred_real =
           D(cat(input_label, real)), pred_fake = D(cat(input_label, fake));
           GANLoss over the scales (each scale's last output; lsgan MSE, vanilla
           the Sigmoid of use_sigmoid, in float32, then BCELoss), feature matching (4 / (n_layers_D + 1) /
           num_D * L1 * lambda_feat over each scale's features but the last, real
           detached) unless no_ganFeat_loss, VGGLoss (Vgg19 slices, weights 1/32 ..
           1, y detached) * lambda_feat unless no_vgg_loss, with the VGG19 weights
           of the spec's vgg_weights (a torchvision state dict); loss_G = G_GAN +
           G_GAN_Feat + G_VGG, backward, Adam on G; loss_D = 0.5 (D_fake + D_real),
           backward, Adam on D; 3 to 5 losses read with .item(). Two differences
           from the reference, both gogan's step's: get_edges is not in the step
           (gogan's loader computes the boundaries on the host; the synthetic
           "inst" input is that 0/1 map already), and D's parameters are frozen
           (requires_grad off) for pred_fake, so loss_G.backward() does not
           compute the D gradient that the reference computes and
           optimizer_D.zero_grad() then discards (the result is the same). With
           niter_fix_global (model.netG=local), optimizer_G is over the outermost local
           enhancer's parameters alone, as the reference's first epochs, and the fixed
           ones are frozen as gogan freezes them.
           Networks: scripts/reference_nets.py's hd_define_G / hd_define_D
           (define_G / define_D with weights_init) and Vgg19.

Inputs are uniform in [-1, 1], or, where the spec gives "input_<name>_classes" n,
integers in [0, n) as floats (pix2pixhd's label maps; n = 2: its 0/1 instance
boundaries), and stay on the device; gradients are dropped with
zero_grad(set_to_none=True) as gogan does. Prints one JSON object: images/s,
ms/step, peak RSS (getrusage) and the CUDA peak (max_memory_allocated) on a GPU.

PyTorch's faster settings (by default none applies: eager float32, single-tensor Adam):

  --compile MODE   torch.compile(net, mode=MODE) on every network (G, D, pix2pixHD's
                   Vgg19): default, reduce-overhead (CUDA graphs), max-autotune
                   (autotuned kernels and CUDA graphs) or max-autotune-no-cudagraphs;
                   the losses, backward passes and optimizer steps stay as above,
                   outside the compiled code. Needs PyTorch 2. Compilation happens in
                   the first calls: a compiled run takes at least 3 warm-up steps and
                   reports their time less that of as many timed steps as "compile_s".
                   With CUDA graphs each step starts with
                   torch.compiler.cudagraph_mark_step_begin() and cyclegan's image
                   pools store copies of the images (a graph's outputs are overwritten
                   when it replays). Adam is then fused unless --adam says otherwise.
  --adam fused     torch.optim.Adam(fused=True) where this torch has the fused kernel
                   for the device (CUDA; the CPU in recent versions), else foreach;
                   the JSON's "adam" says which ran.
  --autocast DTYPE torch.autocast(device, dtype=bfloat16 | float16) around each
                   forward pass and its losses, the backward passes outside it, as
                   torch.cuda.amp users write it; fp16 (CUDA only) scales the losses
                   with a GradScaler (scale(loss).backward(), scaler.step(opt),
                   scaler.update() once a step). Non-logits BCE (a D ending in a
                   Sigmoid), which autocast refuses, runs in float32 outside the region.
"""
import argparse
import contextlib
import ctypes
import ctypes.util
import itertools
import json
import os
import random
import resource
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
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
    """gan/losses' GAN (pytorch-CycleGAN-and-pix2pix's GANLoss). Under autocast
    (fx.dtype set) the BCE on probabilities runs in float32 outside the autocast
    region: autocast refuses binary_cross_entropy."""

    def __init__(self, mode, logits, fx=None):
        self.mode, self.logits, self.fx = mode, logits, fx

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
        if self.fx is not None and self.fx.dtype is not None:
            with torch.autocast(self.fx.device_type, enabled=False):
                pred = pred.float()
                return F.binary_cross_entropy(pred, torch.full_like(pred, label))
        return F.binary_cross_entropy(pred, torch.full_like(pred, label))


class ImagePool:
    """util/image_pool.py's ImagePool: until pool_size images are stored each
    image goes in and comes back; then each comes back with probability 1/2,
    or else a random stored one does and the new image takes its place."""

    def __init__(self, pool_size, copy=False):
        self.pool_size = pool_size
        self.copy = copy  # store copies (the images are a CUDA graph's outputs)
        if self.pool_size > 0:
            self.num_imgs = 0
            self.images = []

    def query(self, images):
        if self.pool_size == 0:
            return images
        return_images = []
        for image in images:
            image = torch.unsqueeze(image.data, 0)
            if self.copy:
                image = image.clone()
            if self.num_imgs < self.pool_size:
                self.num_imgs = self.num_imgs + 1
                self.images.append(image)
                return_images.append(image)
            else:
                p = random.uniform(0, 1)
                if p > 0.5:
                    random_id = random.randint(0, self.pool_size - 1)
                    tmp = self.images[random_id].clone()
                    self.images[random_id] = image
                    return_images.append(tmp)
                else:
                    return_images.append(image)
        return torch.cat(return_images, 0)


class Faster:
    """The run's --compile and --autocast: how the step wraps its networks, the region
    its forward passes and losses run in, and how it back-propagates and steps its
    optimizers (fp16: through a GradScaler). With neither set each does what the
    plain step does: the network itself, no region, loss.backward(), opt.step()."""

    def __init__(self, dev, compile_mode="none", autocast="none"):
        self.device_type = dev.type
        self.compile_mode = compile_mode
        self.dtype = {"none": None, "bf16": torch.bfloat16, "fp16": torch.float16}[autocast]
        self.scaler = None
        if autocast == "fp16":
            if dev.type != "cuda":
                raise SystemExit("bench_pytorch.py: --autocast fp16 (with its GradScaler) wants a CUDA device")
            if hasattr(torch, "amp") and hasattr(torch.amp, "GradScaler"):
                self.scaler = torch.amp.GradScaler("cuda")
            else:
                self.scaler = torch.cuda.amp.GradScaler()
        # These modes run the compiled code as CUDA graphs (cudagraph trees): a step
        # starts a new iteration, whose replays overwrite the last one's outputs.
        self.cudagraphs = dev.type == "cuda" and compile_mode in ("reduce-overhead", "max-autotune")
        self.mark_step = getattr(getattr(torch, "compiler", None), "cudagraph_mark_step_begin", None)

    def net(self, module):
        if self.compile_mode == "none":
            return module
        return torch.compile(module, mode=None if self.compile_mode == "default" else self.compile_mode)

    def region(self):
        if self.dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device_type, dtype=self.dtype)

    def begin(self):
        if self.cudagraphs and self.mark_step is not None:
            self.mark_step()

    def backward(self, loss):
        if self.scaler is not None:
            loss = self.scaler.scale(loss)
        loss.backward()

    def step(self, opt):
        if self.scaler is not None:
            self.scaler.step(opt)
        else:
            opt.step()

    def end(self):
        if self.scaler is not None:
            self.scaler.update()


def num_params(net):
    return sum(p.numel() for p in net.parameters())


def adam_params(**opts):
    """The number of values each optimizer updates, by name (gogan bench's "adam_params")."""
    return {name: sum(p.numel() for g in o.param_groups for p in g["params"]) for name, o in opts.items()}


def synthetic(spec, name, dev):
    """The spec's input "input_<name>" drawn as gogan bench draws it (gan.RandomBatch):
    uniform in [-1, 1], or integer class ids in [0, n) as floats where the spec gives
    "input_<name>_classes" n; None when the spec has no such input."""
    shape = spec.get("input_" + name)
    if not shape:
        return None
    n = spec.get("input_%s_classes" % name, 0)
    if n:
        return torch.randint(0, n, shape, device=dev).float()
    return torch.rand(*shape, device=dev) * 2 - 1


class HDGANLoss(nn.Module):
    """pix2pixHD models/networks.py GANLoss: the targets filled with 1.0 / 0.0 on the
    device (self.Tensor there: torch.cuda.FloatTensor) and cached while the size
    matches; on a multiscale prediction the loss of each scale's last output, summed.
    lsgan: MSELoss; vanilla: BCELoss after the Sigmoid that use_sigmoid (--no_lsgan)
    appends to D, applied here to the float32 last output (under autocast BCELoss refuses
    lower precision; the getIntermFeat discriminator drops that Sigmoid, which is put back)."""

    def __init__(self, use_lsgan, dev, target_real_label=1.0, target_fake_label=0.0):
        super().__init__()
        self.real_label = target_real_label
        self.fake_label = target_fake_label
        self.real_label_var = None
        self.fake_label_var = None
        self.Tensor = lambda size: torch.empty(size, device=dev)
        if use_lsgan:
            self.loss = nn.MSELoss()
        else:
            bce = nn.BCELoss()
            self.loss = lambda pred, target: bce(torch.sigmoid(pred.float()), target)

    def get_target_tensor(self, input, target_is_real):
        if target_is_real:
            if self.real_label_var is None or self.real_label_var.numel() != input.numel():
                self.real_label_var = self.Tensor(input.size()).fill_(self.real_label).requires_grad_(False)
            return self.real_label_var
        if self.fake_label_var is None or self.fake_label_var.numel() != input.numel():
            self.fake_label_var = self.Tensor(input.size()).fill_(self.fake_label).requires_grad_(False)
        return self.fake_label_var

    def __call__(self, input, target_is_real):
        if isinstance(input[0], list):
            loss = 0
            for input_i in input:
                pred = input_i[-1]
                target_tensor = self.get_target_tensor(pred, target_is_real)
                loss += self.loss(pred, target_tensor)
            return loss
        target_tensor = self.get_target_tensor(input[-1], target_is_real)
        return self.loss(input[-1], target_tensor)


def make_pix2pixhd_step(spec, dev, kw, fx):
    """gan/pix2pixhd's Step (Pix2PixHDModel.forward and train.py's updates)."""
    if spec["gan_mode"] not in ("lsgan", "vanilla"):
        raise SystemExit("bench_pytorch.py: pix2pixhd trains with gan_mode lsgan or vanilla, not %s" % spec["gan_mode"])
    if spec.get("instance_feat") or spec.get("label_feat"):
        raise SystemExit("bench_pytorch.py: pix2pixhd's feature encoder (model.instance_feat, model.label_feat) is not in "
                         "this bench; bench the config without it")
    torch.manual_seed(spec["seed"])
    g, d = spec["g"], spec["d"]
    # define_G then define_D, as Pix2PixHDModel.initialize.
    G = reference_nets.hd_define_G(g["InputNC"], g["OutputNC"], g["NGF"], g["Kind"], g["NDownsampleGlobal"],
                                   g["NBlocksGlobal"], g["NLocalEnhancers"], g["NBlocksLocal"], g["Norm"],
                                   padding_type=g.get("PadType") or "reflect").to(dev).train()
    D = reference_nets.hd_define_D(d["InputNC"], d["NDF"], d["NLayers"], d["Norm"], use_sigmoid=False,
                                   num_D=d["NumD"], getIntermFeat=d["GetIntermFeat"]).to(dev).train()
    label_nc, no_instance = spec["label_nc"], spec["no_instance"]
    lambda_feat, n_layers_d, num_d = spec["lambda_feat"], d["NLayers"], d["NumD"]
    use_feat, use_vgg = not spec["no_ganFeat_loss"], not spec["no_vgg_loss"]
    criterionGAN = HDGANLoss(spec["gan_mode"] == "lsgan", dev)
    criterionFeat = nn.L1Loss()
    if use_vgg:
        if not spec.get("vgg_weights"):
            raise SystemExit("bench_pytorch.py: pix2pixhd's VGG loss needs the spec's vgg_weights (model.vgg_weights)")
        features = reference_nets.load_vgg19_features(reference_nets.vgg19_features(), spec["vgg_weights"])
        criterionVGG = reference_nets.VGGLoss(fx.net(reference_nets.Vgg19(features).to(dev)))
    # optimizer_G: over all of G; with niter_fix_global (the LocalEnhancer's first epochs,
    # the step gogan bench times) over the outermost local enhancer's parameters alone, the
    # reference's "'model' + str(n_local_enhancers)" prefix. The reference still computes
    # the fixed parameters' gradients and never uses them; gogan freezes them
    # (requires_grad off), as here: the result is the same.
    params = list(G.parameters())
    if spec.get("niter_fix_global", 0) > 0 and g["Kind"] == "local":
        prefix = "model" + str(g["NLocalEnhancers"])
        params = []
        for name, p in G.named_parameters():
            if name.startswith(prefix):
                params.append(p)
            else:
                p.requires_grad_(False)
    optG = torch.optim.Adam(params, **kw)
    optD = torch.optim.Adam(D.parameters(), **kw)
    counts = {"params": {"G": num_params(G), "D": num_params(D)}, "adam_params": adam_params(G=optG, D=optD)}
    G, D = fx.net(G), fx.net(D)
    label = synthetic(spec, "a", dev)
    image = synthetic(spec, "b", dev)
    inst = None if no_instance else synthetic(spec, "inst", dev)

    def encode_input(label_map, edge_map):
        if label_nc == 0:
            input_label = label_map
        else:
            # create one-hot vector for label map
            size = label_map.size()
            oneHot_size = (size[0], label_nc, size[2], size[3])
            input_label = torch.zeros(oneHot_size, device=dev)
            input_label = input_label.scatter_(1, label_map.long(), 1.0)
        if not no_instance:
            input_label = torch.cat((input_label, edge_map), dim=1)
        return input_label

    def discriminate(input_label, test_image):
        return D(torch.cat((input_label, test_image.detach()), dim=1))

    def step():
        fx.begin()
        with fx.region():
            input_label, real_image = encode_input(label, inst), image
            # Fake Generation
            fake_image = G(input_label)
            # Fake Detection and Loss (ImagePool(0).query returns its input)
            set_requires_grad(D, True)
            pred_fake_pool = discriminate(input_label, fake_image)
            loss_D_fake = criterionGAN(pred_fake_pool, False)
            # Real Detection and Loss
            pred_real = discriminate(input_label, real_image)
            loss_D_real = criterionGAN(pred_real, True)
            # GAN loss (Fake Passability Loss), D frozen as gogan's step
            set_requires_grad(D, False)
            pred_fake = D(torch.cat((input_label, fake_image), dim=1))
            loss_G_GAN = criterionGAN(pred_fake, True)
            losses = [loss_G_GAN]
            loss_G = loss_G_GAN
            # GAN feature matching loss
            if use_feat:
                loss_G_GAN_Feat = 0
                feat_weights = 4.0 / (n_layers_d + 1)
                D_weights = 1.0 / num_d
                for i in range(num_d):
                    for j in range(len(pred_fake[i]) - 1):
                        loss_G_GAN_Feat += D_weights * feat_weights * \
                            criterionFeat(pred_fake[i][j], pred_real[i][j].detach()) * lambda_feat
                losses.append(loss_G_GAN_Feat)
                loss_G = loss_G + loss_G_GAN_Feat
            # VGG feature matching loss
            if use_vgg:
                loss_G_VGG = criterionVGG(fake_image, real_image) * lambda_feat
                losses.append(loss_G_VGG)
                loss_G = loss_G + loss_G_VGG
            loss_D = (loss_D_fake + loss_D_real) * 0.5
        # update generator weights
        optG.zero_grad(set_to_none=True)
        fx.backward(loss_G)
        fx.step(optG)
        # update discriminator weights
        set_requires_grad(D, True)
        optD.zero_grad(set_to_none=True)
        fx.backward(loss_D)
        fx.step(optD)
        fx.end()
        return [x.item() for x in losses + [loss_D_real, loss_D_fake]]
    return step, counts


def make_cyclegan_step(spec, dev, kw, fx):
    """gan/cyclegan's Step (CycleGANModel.optimize_parameters)."""
    if spec["gan_mode"] not in ("lsgan", "vanilla"):
        raise SystemExit("bench_pytorch.py: cyclegan trains with gan_mode lsgan or vanilla, not %s" % spec["gan_mode"])
    torch.manual_seed(spec["seed"])
    random.seed(spec["seed"])
    # G_A, G_B, D_A, D_B: CycleGANModel's order of definition (and initialisation).
    G_A = reference_nets.build("G", spec["g_a"]).to(dev).train()
    G_B = reference_nets.build("G", spec["g_b"]).to(dev).train()
    D_A = reference_nets.build("D", spec["d_a"]).to(dev).train()
    D_B = reference_nets.build("D", spec["d_b"]).to(dev).train()
    optG = torch.optim.Adam(itertools.chain(G_A.parameters(), G_B.parameters()), **kw)
    optD = torch.optim.Adam(itertools.chain(D_A.parameters(), D_B.parameters()), **kw)
    # gan/cyclegan's GAN loss takes logits (the reference's GANLoss: BCEWithLogits
    # for vanilla); older specs may not say so.
    loss = GANLoss(spec["gan_mode"], spec.get("logits", True), fx)
    counts = {"params": {"G_A": num_params(G_A), "G_B": num_params(G_B), "D_A": num_params(D_A),
                         "D_B": num_params(D_B)}, "adam_params": adam_params(G=optG, D=optD)}
    G_A, G_B, D_A, D_B = fx.net(G_A), fx.net(G_B), fx.net(D_A), fx.net(D_B)
    a = (torch.rand(*spec["input_a"], device=dev) * 2 - 1)
    b = (torch.rand(*spec["input_b"], device=dev) * 2 - 1)
    lambda_a, lambda_b, lambda_idt = spec["lambda_A"], spec["lambda_B"], spec["lambda_identity"]
    fake_a_pool, fake_b_pool = ImagePool(spec["pool_size"], fx.cudagraphs), ImagePool(spec["pool_size"], fx.cudagraphs)

    def backward_d(net_d, real, fake):
        with fx.region():
            pred_real = net_d(real)
            pred_fake = net_d(fake.detach())
            loss_d_real = loss.for_d(pred_real, True)
            loss_d_fake = loss.for_d(pred_fake, False)
            loss_d = (loss_d_real + loss_d_fake) * 0.5
        fx.backward(loss_d)
        return loss_d

    def step():
        fx.begin()
        real_a, real_b = a, b
        with fx.region():
            # forward
            fake_b = G_A(real_a)
            rec_a = G_B(fake_b)
            fake_a = G_B(real_b)
            rec_b = G_A(fake_a)
            # G_A and G_B
            set_requires_grad(D_A, False)
            set_requires_grad(D_B, False)
            optG.zero_grad(set_to_none=True)
            if lambda_idt > 0:
                idt_a = G_A(real_b)
                idt_b = G_B(real_a)
                loss_idt_a = F.l1_loss(idt_a, real_b) * (lambda_b * lambda_idt)
                loss_idt_b = F.l1_loss(idt_b, real_a) * (lambda_a * lambda_idt)
            else:
                loss_idt_a = torch.zeros((), device=dev)
                loss_idt_b = torch.zeros((), device=dev)
            pred_a = D_A(fake_b)
            pred_b = D_B(fake_a)
            loss_g_a = loss.for_g(pred_a, True)
            loss_g_b = loss.for_g(pred_b, True)
            loss_cycle_a = F.l1_loss(rec_a, real_a) * lambda_a
            loss_cycle_b = F.l1_loss(rec_b, real_b) * lambda_b
            loss_g = loss_g_a + loss_g_b + loss_cycle_a + loss_cycle_b
            if lambda_idt > 0:
                loss_g = loss_g + loss_idt_a + loss_idt_b
        fx.backward(loss_g)
        fx.step(optG)
        # D_A and D_B
        set_requires_grad(D_A, True)
        set_requires_grad(D_B, True)
        optD.zero_grad(set_to_none=True)
        loss_d_a = backward_d(D_A, real_b, fake_b_pool.query(fake_b))
        loss_d_b = backward_d(D_B, real_a, fake_a_pool.query(fake_a))
        fx.step(optD)
        fx.end()
        return [loss_d_a.item(), loss_g_a.item(), loss_cycle_a.item(), loss_idt_a.item(),
                loss_d_b.item(), loss_g_b.item(), loss_cycle_b.item(), loss_idt_b.item()]
    return step, counts


def adam_kwargs(adam):
    """torch.optim.Adam's implementation: single (single-tensor), foreach or fused."""
    if adam == "fused":
        return {"fused": True}
    return {"foreach": adam == "foreach"}


# The recipes whose step make_step repeats (colorization: pix2pix's).
STEPS = ("dcgan", "pix2pix", "colorization", "cyclegan", "pix2pixhd")


def make_step(spec, dev, adam, fx=None):
    """The training step as a function, and the parameter counts of the networks by role.
    adam: single, foreach or fused (see resolve_adam); fx: the run's Faster settings
    (None: eager float32)."""
    if spec["recipe"] not in STEPS:
        # a recipe registered after this script was written: running another
        # recipe's step in its place would time something else
        raise SystemExit("bench_pytorch.py: recipe %s: no PyTorch step for it here (this script repeats %s); "
                         "write its step into make_step, or time it with gogan bench alone"
                         % (spec["recipe"], ", ".join(STEPS)))
    fx = fx or Faster(dev)
    kw = {"lr": spec["lr"], "betas": (spec["beta1"], spec["beta2"]), **adam_kwargs(adam)}
    if spec["recipe"] == "cyclegan":
        return make_cyclegan_step(spec, dev, kw, fx)
    if spec["recipe"] == "pix2pixhd":
        return make_pix2pixhd_step(spec, dev, kw, fx)
    if spec["d"]["Kind"] == "multiscale" or spec["gan_mode"] == "wgangp":
        raise SystemExit("bench_pytorch.py: the multiscale discriminator and wgangp are not mirrored here")
    torch.manual_seed(spec["seed"])
    G = reference_nets.build("G", spec["g"]).to(dev).train()
    D = reference_nets.build("D", spec["d"]).to(dev).train()
    optG = torch.optim.Adam(G.parameters(), **kw)
    optD = torch.optim.Adam(D.parameters(), **kw)
    loss = GANLoss(spec["gan_mode"], spec["logits"], fx)
    counts = {"params": {"G": num_params(G), "D": num_params(D)}, "adam_params": adam_params(G=optG, D=optD)}
    G, D = fx.net(G), fx.net(D)
    a = (torch.rand(*spec["input_a"], device=dev) * 2 - 1)
    b = (torch.rand(*spec["input_b"], device=dev) * 2 - 1) if spec.get("input_b") else None

    if spec["recipe"] == "dcgan":
        nz = spec["nz"]

        def step():
            fx.begin()
            real = a
            n = real.shape[0]
            set_requires_grad(D, True)
            optD.zero_grad(set_to_none=True)
            with fx.region():
                out = D(real).reshape(-1)
                err_d_real = loss.for_d(out, True)
            fx.backward(err_d_real)
            d_x = out.mean()
            noise = torch.randn(n, nz, 1, 1, device=dev)
            with fx.region():
                fake = G(noise)
                out_fake = D(fake.detach()).reshape(-1)
                err_d_fake = loss.for_d(out_fake, False)
            fx.backward(err_d_fake)
            d_g_z1 = out_fake.mean()
            err_d = err_d_real + err_d_fake
            fx.step(optD)
            set_requires_grad(D, False)
            optG.zero_grad(set_to_none=True)
            with fx.region():
                out_g = D(fake).reshape(-1)
                err_g = loss.for_g(out_g, True)
            fx.backward(err_g)
            d_g_z2 = out_g.mean()
            fx.step(optG)
            fx.end()
            return [err_d.item(), err_g.item(), d_x.item(), d_g_z1.item(), d_g_z2.item()]
        return step, counts

    lam = spec["lambda_L1"]

    def step():
        fx.begin()
        real_a, real_b = a, b
        with fx.region():
            fake_b = G(real_a)
            set_requires_grad(D, True)
            optD.zero_grad(set_to_none=True)
            fake_ab = torch.cat((real_a, fake_b), 1)
            loss_d_fake = loss.for_d(D(fake_ab.detach()), False)
            real_ab = torch.cat((real_a, real_b), 1)
            loss_d_real = loss.for_d(D(real_ab), True)
            loss_d = (loss_d_fake + loss_d_real) * 0.5
        fx.backward(loss_d)
        fx.step(optD)
        set_requires_grad(D, False)
        optG.zero_grad(set_to_none=True)
        with fx.region():
            loss_g_gan = loss.for_g(D(fake_ab), True)
            loss_g_l1 = F.l1_loss(fake_b, real_b) * lam
            loss_g = loss_g_gan + loss_g_l1
        fx.backward(loss_g)
        fx.step(optG)
        fx.end()
        return [loss_g_gan.item(), loss_g_l1.item(), loss_d_real.item(), loss_d_fake.item()]
    return step, counts


def resolve_adam(adam, compile_mode, dev):
    """The Adam that runs: --adam as given; unset, single (fused with --compile); fused
    where this torch has no fused Adam for the device, foreach."""
    if adam is None:
        adam = "fused" if compile_mode != "none" else "single"
    if adam != "fused":
        return adam
    try:
        torch.optim.Adam([torch.zeros(1, device=dev, requires_grad=True)], fused=True)
        return "fused"
    except (RuntimeError, TypeError, ValueError) as e:
        print("bench_pytorch.py: no fused Adam here (%s); foreach instead" % str(e).strip().splitlines()[0],
              file=sys.stderr)
        return "foreach"


class CPUMemory:
    """gogan's count of CPU tensors' bytes (cgo/csrc/cpumem.cpp), loaded into
    this process: it wraps c10's CPU allocator, which this torch shares when
    both are the same libtorch (Debian's). Started before the networks are
    built, so that the peak counts weights, moments and batch as gogan's does."""

    def __init__(self, lib):
        self.lib = ctypes.CDLL(lib)
        err = ctypes.c_char_p()
        self.lib.gt_cpu_mem_track(ctypes.byref(err))
        if err.value:
            sys.exit("bench_pytorch.py: --count-cpu-memory %s: %s" % (lib, err.value.decode()))

    def reset_peak(self):
        self.lib.gt_cpu_mem_reset_peak()

    def peak(self):
        cur, pk = ctypes.c_int64(), ctypes.c_int64()
        self.lib.gt_cpu_mem_stats(ctypes.byref(cur), ctypes.byref(pk))
        return pk.value


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--spec", required=True, help="gogan bench --spec output (JSON file)")
    ap.add_argument("--threads", type=int, default=0, help="torch.set_num_threads; 0 = all cores")
    ap.add_argument("--blas-threads", type=int, default=0,
                    help="OpenBLAS's own threads (openblas_set_num_threads); 0 = leave OpenBLAS alone")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--adam", choices=("single", "foreach", "fused"), default=None,
                    help="torch.optim.Adam's implementation: single-tensor (the default without --compile: "
                         "the default on the CPU, the arithmetic gogan's Adam has), foreach (multi-tensor) "
                         "or fused (the default with --compile; foreach where this torch has no fused "
                         "Adam for the device)")
    ap.add_argument("--compile", default="none", metavar="MODE",
                    choices=("none", "default", "reduce-overhead", "max-autotune", "max-autotune-no-cudagraphs"),
                    help="torch.compile(net, mode=MODE) on the networks: none (eager, the default), default, "
                         "reduce-overhead, max-autotune or max-autotune-no-cudagraphs; needs PyTorch 2")
    ap.add_argument("--autocast", default="none", choices=("none", "bf16", "fp16"),
                    help="torch.autocast around the forward passes and losses: none (float32, the default), "
                         "bf16, or fp16 with a GradScaler (CUDA only)")
    ap.add_argument("--count-cpu-memory", metavar="LIB", default="",
                    help="gogan's libgotorch.so: count CPU tensors' bytes through its counting allocator "
                         "(the same count gogan bench gives as cpu_peak; needs the same libtorch as this torch)")
    args = ap.parse_args()
    if args.steps < 1 or args.warmup < 0:
        ap.error("--steps %d --warmup %d: time at least one step, after no fewer than 0 warm-up steps" % (args.steps, args.warmup))
    if args.compile != "none" and not hasattr(torch, "compile"):
        sys.exit("bench_pytorch.py: --compile needs PyTorch 2 (this is %s)" % torch.__version__)
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
    cpu_mem = CPUMemory(args.count_cpu_memory) if args.count_cpu_memory and not cuda else None
    adam = resolve_adam(args.adam, args.compile, dev)
    fx = Faster(dev, args.compile, args.autocast)
    step, counts = make_step(spec, dev, adam, fx)
    # torch.compile compiles in the first calls (and CUDA graphs record in the next
    # ones): a compiled run warms up for at least 3 steps.
    warmup = max(args.warmup, 3) if args.compile != "none" else args.warmup
    start = time.perf_counter()
    for _ in range(warmup):
        step()
    if cuda:
        torch.cuda.synchronize(dev)
    warmup_s = time.perf_counter() - start
    if cuda:
        torch.cuda.reset_peak_memory_stats(dev)
    if cpu_mem:
        cpu_mem.reset_peak()
    start = time.perf_counter()
    for _ in range(args.steps):
        step()
    if cuda:
        torch.cuda.synchronize(dev)
    el = time.perf_counter() - start
    n = spec["input_a"][0]
    # compile_s: what the warm-up took beyond as many steady steps (compilation,
    # autotuning, CUDA graph recording).
    compile_s = max(0.0, warmup_s - warmup * el / args.steps) if args.compile != "none" else None
    print(json.dumps({
        "impl": "pytorch", "torch": torch.__version__, "recipe": spec["recipe"], "device": str(dev),
        "threads": torch.get_num_threads(), "blas_threads": args.blas_threads, "adam": adam,
        "compile": args.compile, "autocast": args.autocast,
        "batch_size": n, "warmup": warmup, "steps": args.steps, "warmup_s": warmup_s, "compile_s": compile_s,
        "ms_per_step": el * 1000 / args.steps, "images_per_s": n * args.steps / el,
        "peak_rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
        "cuda_peak": torch.cuda.max_memory_allocated(dev) if cuda else -1,
        "cuda_reserved": torch.cuda.max_memory_reserved(dev) if cuda else -1,
        "cpu_peak": cpu_mem.peak() if cpu_mem else -1,
        **counts,
    }))


if __name__ == "__main__":
    main()
