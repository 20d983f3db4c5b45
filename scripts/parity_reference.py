"""Reference training steps for gogan's step-for-step parity test, transcribed from the references.

Usage: OPENBLAS_NUM_THREADS=1 GOGAN_REF_THREADS=1 /usr/bin/python3 scripts/parity_reference.py CASES.json

For each case this script builds the reference networks (scripts/reference_nets.py), records
their own seeded initial state, loads gogan's initial weights into them, makes its own batches
from the data files with the references' own input pipelines, runs `steps` training steps as
the references do, and writes the batches, the losses, the final state dicts and Adam's moments
(see main() for the case format and the output names). Nothing here comes from gogan's Go code;
only the safetensors files connect the two.

What each part transcribes (repository, path; the snapshot read is given in brackets):

  - dcgan_step, mnist_batches, cifar10_batches, lsun_batches, imagefolder_batches, the build/init order and the optimizers of the "dcgan" recipe:
    pytorch/examples dcgan/main.py [77f55b9, 2025-08-25]: the training loop body (netD.zero_grad,
    real pass with label = torch.full(..., real_label), errD_real.backward, D_x; noise =
    torch.randn(b, nz, 1, 1) drawn after D's real pass; fake = netG(noise); D on fake.detach();
    errD_fake.backward; errD = errD_real + errD_fake; optimizerD.step; netG.zero_grad; D on fake;
    errG.backward; D_G_z2; optimizerG.step), the 'mnist' transform (Resize(imageSize), ToTensor,
    Normalize((0.5,), (0.5,))), torchvision's MNIST item (Image.fromarray(img, mode="L")),
    the 'cifar10' transform (Resize, ToTensor, Normalize) and the 'lsun' dataset
    (dset.LSUN(root, classes=[c + '_train' for c in opt.classes.split(',')]) with Resize,
    CenterCrop, ToTensor, Normalize; main.py [13caa07]) and the 'folder' dataset
    (dset.ImageFolder(root) with Resize, CenterCrop, ToTensor, Normalize), netG built and weights_init applied before netD, Adam(lr, betas=(beta1, 0.999)), BCELoss,
    and fixed_noise = torch.randn(batchSize, nz, 1, 1) drawn after both inits.
    gan_mode "lsgan" for dcgan is not in main.py: the same loop with nn.MSELoss() as criterion
    (D keeps its Sigmoid).
  - Pix2PixModel (set_input, forward, backward_D, backward_G, optimize_parameters):
    junyanz/pytorch-CycleGAN-and-pix2pix models/pix2pix_model.py [2a7afba, 2025-08-06, the
    newest upstream commit found]; set_requires_grad: models/base_model.py [same].
  - GANLoss (vanilla = BCEWithLogitsLoss, lsgan = MSELoss, wgangp = -mean / mean, targets
    expanded from registered 1.0 / 0.0 buffers) and cal_gradient_penalty: junyanz
    models/networks.py [2a7afba]. init_weights / define_G / define_D are in reference_nets.py.
  - The list-of-lists case of GANLoss.__call__ (a multiscale discriminator's output; the loss of
    each scale's last output, summed over scales): NVIDIA/pix2pixHD models/networks.py GANLoss
    [14b3b3c].
  - gan_mode "hinge" (not in junyanz's GANLoss): NVlabs/SPADE models/networks/loss.py GANLoss
    [fecacc9]: D real = -mean(min(x - 1, 0)), D fake = -mean(min(-x - 1, 0)), G = -mean(x)
    (for_discriminator=False, as SPADE's pix2pix_model.py calls it for G).
  - aligned_item, get_params, get_transform, __make_power_2, __scale_width, __crop, __flip:
    junyanz data/aligned_dataset.py (AlignedDataset.__getitem__) and data/base_dataset.py
    [2a7afba]; the batch is default_collate's stack of the items (data/__init__.py uses a plain
    torch DataLoader).
  - Recipe "cyclegan": CycleGANModel (__init__'s nets, pools, criterions and optimizers;
    set_input, forward, backward_D_basic, backward_D_A, backward_D_B, backward_G,
    optimize_parameters) from junyanz models/cycle_gan_model.py [2a7afba, last changed there
    by b31be78, 2025-08-03]; ImagePool from util/image_pool.py [2a7afba]; UnalignedDataset
    (__init__'s transform_A / transform_B with the BtoA channel swap, __getitem__) from
    data/unaligned_dataset.py [2a7afba]; get_transform from data/base_dataset.py [2a7afba],
    called without params (RandomCrop, RandomHorizontalFlip); set_requires_grad and
    get_current_losses (float(loss_<name>) in loss_names order) from models/base_model.py
    [2a7afba]; BaseModel.setup's init order (model_names = G_A, G_B, D_A, D_B) from
    base_model.py [2a7afba], define_G/define_D ending in init_net from networks.py at
    c95974f's parent [83b8714]. Read from upstream's history (commits by junyanz) in a
    fork's mirror, git show 2a7afba:<path>.
  - Recipe "pix2pixhd": NVIDIA/pix2pixHD [14b3b3c, 2024-09-30, the newest upstream commit; read
    with git show from its mirror]: Pix2PixHDModel (init_loss_filter, initialize's nets, losses
    and optimizers including the niter_fix_global parameter list, encode_input, discriminate,
    forward, get_edges, update_fixed_params, update_learning_rate) from
    models/pix2pixHD_model.py; GANLoss and VGGLoss from models/networks.py; get_params,
    get_transform, __make_power_2, __scale_width (pix2pixHD's own, without crop_size) from
    data/base_dataset.py; AlignedDataset.__getitem__ from data/aligned_dataset.py; the step
    body and the end-of-epoch block from train.py; option defaults from options/*.py; ImagePool
    (HDImagePool here) from util/image_pool.py, and fake_pool's lines in initialize and
    discriminate (--pool_size > 0).
    define_G, define_D, weights_init, GlobalGenerator, LocalEnhancer, ResnetBlock, Encoder and Vgg19 are
    in reference_nets.py. What was changed for the CPU: .cuda() dropped, torch.cuda.FloatTensor
    / ByteTensor -> torch.FloatTensor / ByteTensor, Variable() dropped, transforms.Scale ->
    transforms.Resize with the same PIL method as an InterpolationMode, Normalize channel by channel as
    torchvision 0.2 (pix2pixHD's era; label_nc 0's one-channel instance maps), no DataParallel, and
    Vgg19's features loaded from the case's "vgg_weights" instead of vgg19(pretrained=True).
    Checked bit for bit (inputs, init, losses, final state, Adam moments) against upstream's own
    modules patched only that way.
    The feature encoder (instance_feat / label_feat: Encoder from models/networks.py, and
    Pix2PixHDModel's use_features / gen_features lines in initialize, encode_input, forward and
    update_fixed_params) was transcribed later from the same commit and was not run against
    upstream's modules.

Choices where the references are silent, or that this test adds:

  - pix2pix never calls cal_gradient_penalty in junyanz's code (gan_mode wgangp there is plain
    WGAN). For "wgangp" this script adds, in backward_D after loss_D = (fake + real) * 0.5 and
    before loss_D.backward(), cal_gradient_penalty(netD, real_AB, fake_AB.detach(), device,
    type='mixed', constant=1.0, lambda_gp=lambda_gp)[0]. With a multiscale D the penalty takes
    the gradient of all scales' last outputs at once (torch.autograd.grad with a list of outputs
    and a list of ones-like grad_outputs): this is our extension of cal_gradient_penalty to a
    list of outputs, not code from either reference.
  - With a multiscale D every GANLoss term is pix2pixHD's sum over scales (SPADE averages over
    scales instead; not used here).
  - Initialisation order, pix2pix: case "init_order" = "define" (default): torch.manual_seed(seed);
    build G; init_weights(G); build D; init_weights(D): define_G/define_D called init_net up to
    junyanz c95974f (2025-08-04). "setup": build G; build D; init_weights(G); init_weights(D):
    since c95974f define_G/define_D return uninitialised nets and BaseModel.setup() initialises
    them in model_names order (G, D), so the newest upstream draws the init numbers after both
    constructions and its seeded initial weights differ from the "define" order.
  - After loading "weights", torch.manual_seed(step_seed) right before step 1 (in the references
    the generator has moved on by then: fixed_noise in dcgan/main.py, the DataLoader's shuffle
    seed at each epoch's iterator). Python's random is seeded with step_seed before the batches
    are made; it only matters if a case asks for random crops or flips.
  - dcgan/main.py runs netG(fixed_noise) in train mode after the step whenever i % 100 == 0,
    i.e. after the first step of every epoch, which updates G's BatchNorm running statistics
    and num_batches_tracked. That is logging, not the training step, so it is off by default;
    case "fixed_noise_every": N (100 in main.py) turns it on, with fixed_noise drawn where
    main.py draws it (after netD's init, from the "seed" stream; size "fixed_noise_size",
    default the first batch's size).
  - "input.<b>.A" / "input.<b>.B" are the model's real_A / real_B after set_input (so with
    direction BtoA, A is the right half of the file).
  - zero_grad() is called as the references call it (torch 1.13 zero-fills, torch >= 2 sets
    None); every parameter gets a gradient in every step here, so the two agree.
  - Adam's betas are (beta1, beta2) from the case; both references hard-code beta2 = 0.999.
  - cyclegan: "init_order" as for pix2pix, over four nets: "define" = build G_A, init G_A, build
    G_B, init G_B, build D_A, init D_A, build D_B, init D_B (define_G/define_D in
    CycleGANModel.__init__'s order, each ending in init_net before c95974f); "setup" = build
    the four in that order, then init_weights in model_names order G_A, G_B, D_A, D_B (2a7afba:
    define_G/define_D still take init_type/init_gain but ignore them; setup() initialises).
    The four nets are CycleGANModel.__init__'s define_G / define_D calls on the case's "model"
    options (G_A input_nc -> output_nc, G_B output_nc -> input_nc, D_A on output_nc, D_B on
    input_nc; reference_net_options); with lambda_identity > 0 the reference's assert input_nc ==
    output_nc is kept.
  - Every recipe's networks are built from the case's "model" options as the reference's model
    builds them (reference_net_options), never from the nets.Options gogan's recipe derived: the
    case's G / D / G_A ... must equal them, or the case fails.
  - cyclegan data: the B file of each item is given by the case ("files_B"), i.e. the
    reference's index_B = random.randint(0, B_size - 1) (or index % B_size with
    serial_batches) is made by the caller and not drawn here; the A file is A_paths[index %
    A_size], given as "files_A". Which indices form a batch (the DataLoader's shuffle) is the
    caller's too. RandomCrop (when the resized image is larger than crop_size) and
    RandomHorizontalFlip (unless no_flip) draw from torch's generator: this script seeds torch
    (and Python's random) with step_seed right before making the batches, and draws in
    reference order (items in batch order, transform_A's draws before transform_B's, crop
    before flip). In the reference the draws happen in DataLoader workers seeded from the main
    generator; that stream is not modelled. With load_size == crop_size and no_flip nothing
    is drawn.
  - cyclegan steps: torch.manual_seed(step_seed) and random.seed(step_seed) right before
    step 1 (again, after the batches are made); ImagePool.query draws p = random.uniform(0, 1)
    and random.randint(0, pool_size - 1) from Python's random once the pool is full, D_A's
    pool (fake_B) before D_B's (fake_A), images in batch order. A case's "pool_seed", when
    given, seeds Python's random there instead of step_seed (gogan seeds its pools' Python
    random with the run's seed; the reference's train.py seeds none). With pool_size 0 nothing is
    drawn; only Dropout draws from torch in a step. "loss.<step>.idt_A" / "idt_B" are 0 when
    lambda_identity is 0 (the reference sets loss_idt_A = 0). Adam moments are numbered over
    the optimizer's chained parameter list: optG over G_A's parameters then G_B's, optD over
    D_A's then D_B's. gan_mode is lsgan or vanilla (GANLoss above; wgangp/hinge refused).
  - pix2pixhd: the batches are made from the case's files (label / inst / image per sample, in
    batch order), with random.seed(step_seed) right before (get_params's crop and flip draws),
    then torch.manual_seed(step_seed) before step 1. With pool_size > 0 Python's random is seeded
    with "pool_seed" (gogan's run seed; else step_seed) right before step 1, as for cyclegan:
    fake_pool.query draws random.uniform(0, 1) and random.randint(0, pool_size - 1) per image
    once the pool is full, images in batch order; nothing else draws from it in a step.
  - pix2pixhd "optimizer_binding": upstream train.py since b129d49 (2019-04-24, AMP support)
    takes optimizer_G, optimizer_D = model.module.optimizer_G, ... once before the loop, so
    update_fixed_params()'s new Adam (over all of netG) is never used and the global generator
    stays frozen for good; before b129d49 (2c0c4a2) train.py called model.module.optimizer_G at
    every step and the new Adam took over. "model" (default) is the latter, "local" the former.
    final.optG.* are the moments of the optimizer train.py steps G with.
  - pix2pixhd with gan_mode vanilla (--no_lsgan) and feature matching (D.GetIntermFeat): the
    reference's NLayerDiscriminator appends nn.Sigmoid() as layer n_layers+2, but
    MultiscaleDiscriminator copies only layers 0..n_layers+1, so D ends in a raw logit and
    BCELoss gets logits (torch's BCELoss raises: "all elements of input should be between 0 and
    1"; upstream on CUDA asserts). "intermfeat_sigmoid": "apply" (default) applies that
    Sigmoid to each scale's last output before the GAN loss (features untouched), i.e. what
    BCEWithLogits on the logits computes; "reference" leaves it out and fails as upstream does.
    Without GetIntermFeat the Sigmoid is inside the reference's D and nothing is changed.
  - One thread, OpenBLAS's too (the Go test's torchtest.RunScript sets OPENBLAS_NUM_THREADS=1,
    as gogan holds OpenBLAS to one thread): torch.set_num_threads does not reach OpenBLAS,
    and its threaded sgemm (libtorch 1.x's ConvTranspose2d) rounds differently from one thread.
"""
import gzip
import itertools
import json
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torchvision.transforms as transforms  # noqa: E402
from PIL import Image  # noqa: E402

import reference_nets  # noqa: E402
import safetensors_torch  # noqa: E402

DEVICE = torch.device("cpu")


# ---------------------------------------------------------------------------
# Losses: junyanz models/networks.py GANLoss, pix2pixHD's list-of-lists sum, SPADE's hinge


class GANLoss(nn.Module):
    def __init__(self, gan_mode, target_real_label=1.0, target_fake_label=0.0):
        super(GANLoss, self).__init__()
        self.register_buffer("real_label", torch.tensor(target_real_label))
        self.register_buffer("fake_label", torch.tensor(target_fake_label))
        self.gan_mode = gan_mode
        if gan_mode == "lsgan":
            self.loss = nn.MSELoss()
        elif gan_mode == "vanilla":
            self.loss = nn.BCEWithLogitsLoss()
        elif gan_mode in ["wgangp", "hinge"]:  # hinge: SPADE's GANLoss
            self.loss = None
        else:
            raise NotImplementedError("gan mode %s not implemented" % gan_mode)

    def get_target_tensor(self, prediction, target_is_real):
        if target_is_real:
            target_tensor = self.real_label
        else:
            target_tensor = self.fake_label
        return target_tensor.expand_as(prediction)

    def single(self, prediction, target_is_real, for_discriminator):
        """junyanz GANLoss.__call__ on one prediction map; the hinge branch is SPADE's loss()."""
        if self.gan_mode in ["lsgan", "vanilla"]:
            target_tensor = self.get_target_tensor(prediction, target_is_real)
            loss = self.loss(prediction, target_tensor)
        elif self.gan_mode == "wgangp":
            if target_is_real:
                loss = -prediction.mean()
            else:
                loss = prediction.mean()
        else:  # hinge (SPADE models/networks/loss.py)
            if for_discriminator:
                zero = torch.zeros(1).expand_as(prediction)  # SPADE's get_zero_tensor
                if target_is_real:
                    minval = torch.min(prediction - 1, zero)
                    loss = -torch.mean(minval)
                else:
                    minval = torch.min(-prediction - 1, zero)
                    loss = -torch.mean(minval)
            else:
                assert target_is_real, "The generator's hinge loss must be aiming for real"
                loss = -torch.mean(prediction)
        return loss

    def __call__(self, prediction, target_is_real, for_discriminator=True):
        if isinstance(prediction, list):
            # pix2pixHD GANLoss.__call__: a multiscale D's list (per scale) of lists (features);
            # the loss of each scale's last output, summed
            loss = 0
            for input_i in prediction:
                pred = input_i[-1]
                loss += self.single(pred, target_is_real, for_discriminator)
            return loss
        return self.single(prediction, target_is_real, for_discriminator)


def cal_gradient_penalty(netD, real_data, fake_data, device, type="mixed", constant=1.0, lambda_gp=10.0):
    """junyanz models/networks.py cal_gradient_penalty; the list branch is our extension."""
    if lambda_gp > 0.0:
        if type == "real":  # either use real images, fake images, or a linear interpolation of two.
            interpolatesv = real_data
        elif type == "fake":
            interpolatesv = fake_data
        elif type == "mixed":
            alpha = torch.rand(real_data.shape[0], 1, device=device)
            alpha = alpha.expand(real_data.shape[0], real_data.nelement() // real_data.shape[0]).contiguous().view(*real_data.shape)
            interpolatesv = alpha * real_data + ((1 - alpha) * fake_data)
        else:
            raise NotImplementedError(f"{type} not implemented")
        interpolatesv.requires_grad_(True)
        disc_interpolates = netD(interpolatesv)
        if isinstance(disc_interpolates, list):
            # Extension to a multiscale D (not in the reference): all scales' last outputs at once
            outputs = [scale[-1] for scale in disc_interpolates]
            grad_outputs = [torch.ones(o.size()).to(device) for o in outputs]
        else:
            outputs = disc_interpolates
            grad_outputs = torch.ones(disc_interpolates.size()).to(device)
        gradients = torch.autograd.grad(outputs=outputs, inputs=interpolatesv, grad_outputs=grad_outputs,
                                        create_graph=True, retain_graph=True, only_inputs=True)
        gradients = gradients[0].view(real_data.size(0), -1)  # flat the data
        gradient_penalty = (((gradients + 1e-16).norm(2, dim=1) - constant) ** 2).mean() * lambda_gp  # added eps
        return gradient_penalty, gradients
    else:
        return 0.0, None


# ---------------------------------------------------------------------------
# pix2pix: junyanz models/pix2pix_model.py (Pix2PixModel) and base_model.py (set_requires_grad)


class Pix2PixModel:
    def __init__(self, opt, netG, netD):
        self.opt = opt
        self.device = DEVICE
        self.netG = netG
        self.netD = netD
        # define loss functions
        self.criterionGAN = GANLoss(opt["gan_mode"]).to(self.device)
        self.criterionL1 = torch.nn.L1Loss()
        # initialize optimizers (betas=(opt.beta1, 0.999) in the reference)
        self.optimizer_G = torch.optim.Adam(self.netG.parameters(), lr=opt["lr"], betas=(opt["beta1"], opt["beta2"]))
        self.optimizer_D = torch.optim.Adam(self.netD.parameters(), lr=opt["lr"], betas=(opt["beta1"], opt["beta2"]))

    def set_input(self, input):
        AtoB = self.opt["direction"] == "AtoB"
        self.real_A = input["A" if AtoB else "B"].to(self.device)
        self.real_B = input["B" if AtoB else "A"].to(self.device)

    def forward(self):
        self.fake_B = self.netG(self.real_A)  # G(A)

    def backward_D(self):
        # Fake; stop backprop to the generator by detaching fake_B
        fake_AB = torch.cat((self.real_A, self.fake_B), 1)
        pred_fake = self.netD(fake_AB.detach())
        self.loss_D_fake = self.criterionGAN(pred_fake, False)
        # Real
        real_AB = torch.cat((self.real_A, self.real_B), 1)
        pred_real = self.netD(real_AB)
        self.loss_D_real = self.criterionGAN(pred_real, True)
        # combine loss and calculate gradients
        self.loss_D = (self.loss_D_fake + self.loss_D_real) * 0.5
        if self.opt["gan_mode"] == "wgangp":
            # added by this test (the reference never calls cal_gradient_penalty)
            self.loss_D = self.loss_D + cal_gradient_penalty(
                self.netD, real_AB, fake_AB.detach(), self.device, type="mixed", constant=1.0,
                lambda_gp=self.opt["lambda_gp"])[0]
        self.loss_D.backward()

    def backward_G(self):
        # First, G(A) should fake the discriminator
        fake_AB = torch.cat((self.real_A, self.fake_B), 1)
        pred_fake = self.netD(fake_AB)
        self.loss_G_GAN = self.criterionGAN(pred_fake, True, for_discriminator=False)
        # Second, G(A) = B
        self.loss_G_L1 = self.criterionL1(self.fake_B, self.real_B) * self.opt["lambda_L1"]
        # combine loss and calculate gradients
        self.loss_G = self.loss_G_GAN + self.loss_G_L1
        self.loss_G.backward()

    def optimize_parameters(self):
        self.forward()  # compute fake images: G(A)
        # update D
        self.set_requires_grad(self.netD, True)  # enable backprop for D
        self.optimizer_D.zero_grad()  # set D's gradients to zero
        self.backward_D()  # calculate gradients for D
        self.optimizer_D.step()  # update D's weights
        # update G
        self.set_requires_grad(self.netD, False)  # D requires no gradients when optimizing G
        self.optimizer_G.zero_grad()  # set G's gradients to zero
        self.backward_G()  # calculate graidents for G
        self.optimizer_G.step()  # update G's weights

    def get_current_losses(self):
        # loss_names = ['G_GAN', 'G_L1', 'D_real', 'D_fake']
        return [(name, float(getattr(self, "loss_" + name))) for name in ["G_GAN", "G_L1", "D_real", "D_fake"]]

    def set_requires_grad(self, nets, requires_grad=False):
        if not isinstance(nets, list):
            nets = [nets]
        for net in nets:
            if net is not None:
                for param in net.parameters():
                    param.requires_grad = requires_grad


# ---------------------------------------------------------------------------
# CycleGAN: junyanz util/image_pool.py (ImagePool) and models/cycle_gan_model.py (CycleGANModel)


class ImagePool:
    """util/image_pool.py ImagePool: a buffer of previously generated images (Python's random)."""

    def __init__(self, pool_size):
        self.pool_size = pool_size
        if self.pool_size > 0:  # create an empty pool
            self.num_imgs = 0
            self.images = []

    def query(self, images):
        if self.pool_size == 0:  # if the buffer size is 0, do nothing
            return images
        return_images = []
        for image in images:
            image = torch.unsqueeze(image.data, 0)
            if self.num_imgs < self.pool_size:  # if the buffer is not full; keep inserting current images to the buffer
                self.num_imgs = self.num_imgs + 1
                self.images.append(image)
                return_images.append(image)
            else:
                p = random.uniform(0, 1)
                if p > 0.5:  # by 50% chance, the buffer will return a previously stored image, and insert the current image into the buffer
                    random_id = random.randint(0, self.pool_size - 1)  # randint is inclusive
                    tmp = self.images[random_id].clone()
                    self.images[random_id] = image
                    return_images.append(tmp)
                else:  # by another 50% chance, the buffer will return the current image
                    return_images.append(image)
        return_images = torch.cat(return_images, 0)  # collect all the images and return
        return return_images


class CycleGANModel:
    """models/cycle_gan_model.py CycleGANModel, training side (isTrain); nets built by build_and_init_cyclegan."""

    loss_names = ["D_A", "G_A", "cycle_A", "idt_A", "D_B", "G_B", "cycle_B", "idt_B"]

    def __init__(self, opt, netG_A, netG_B, netD_A, netD_B):
        self.opt = opt
        self.device = DEVICE
        # Code (vs. paper): G_A (G), G_B (F), D_A (D_Y), D_B (D_X)
        self.netG_A = netG_A
        self.netG_B = netG_B
        self.netD_A = netD_A
        self.netD_B = netD_B
        if opt["lambda_identity"] > 0.0:  # only works when input and output images have the same number of channels
            assert opt["input_nc"] == opt["output_nc"]
        self.fake_A_pool = ImagePool(opt["pool_size"])  # create image buffer to store previously generated images
        self.fake_B_pool = ImagePool(opt["pool_size"])  # create image buffer to store previously generated images
        # define loss functions
        self.criterionGAN = GANLoss(opt["gan_mode"]).to(self.device)  # define GAN loss.
        self.criterionCycle = torch.nn.L1Loss()
        self.criterionIdt = torch.nn.L1Loss()
        # initialize optimizers (betas=(opt.beta1, 0.999) in the reference)
        self.optimizer_G = torch.optim.Adam(itertools.chain(self.netG_A.parameters(), self.netG_B.parameters()), lr=opt["lr"], betas=(opt["beta1"], opt["beta2"]))
        self.optimizer_D = torch.optim.Adam(itertools.chain(self.netD_A.parameters(), self.netD_B.parameters()), lr=opt["lr"], betas=(opt["beta1"], opt["beta2"]))

    def set_input(self, input):
        AtoB = self.opt["direction"] == "AtoB"
        self.real_A = input["A" if AtoB else "B"].to(self.device)
        self.real_B = input["B" if AtoB else "A"].to(self.device)

    def forward(self):
        self.fake_B = self.netG_A(self.real_A)  # G_A(A)
        self.rec_A = self.netG_B(self.fake_B)  # G_B(G_A(A))
        self.fake_A = self.netG_B(self.real_B)  # G_B(B)
        self.rec_B = self.netG_A(self.fake_A)  # G_A(G_B(B))

    def backward_D_basic(self, netD, real, fake):
        # Real
        pred_real = netD(real)
        loss_D_real = self.criterionGAN(pred_real, True)
        # Fake
        pred_fake = netD(fake.detach())
        loss_D_fake = self.criterionGAN(pred_fake, False)
        # Combined loss and calculate gradients
        loss_D = (loss_D_real + loss_D_fake) * 0.5
        loss_D.backward()
        return loss_D

    def backward_D_A(self):
        fake_B = self.fake_B_pool.query(self.fake_B)
        self.loss_D_A = self.backward_D_basic(self.netD_A, self.real_B, fake_B)

    def backward_D_B(self):
        fake_A = self.fake_A_pool.query(self.fake_A)
        self.loss_D_B = self.backward_D_basic(self.netD_B, self.real_A, fake_A)

    def backward_G(self):
        lambda_idt = self.opt["lambda_identity"]
        lambda_A = self.opt["lambda_A"]
        lambda_B = self.opt["lambda_B"]
        # Identity loss
        if lambda_idt > 0:
            # G_A should be identity if real_B is fed: ||G_A(B) - B||
            self.idt_A = self.netG_A(self.real_B)
            self.loss_idt_A = self.criterionIdt(self.idt_A, self.real_B) * lambda_B * lambda_idt
            # G_B should be identity if real_A is fed: ||G_B(A) - A||
            self.idt_B = self.netG_B(self.real_A)
            self.loss_idt_B = self.criterionIdt(self.idt_B, self.real_A) * lambda_A * lambda_idt
        else:
            self.loss_idt_A = 0
            self.loss_idt_B = 0

        # GAN loss D_A(G_A(A))
        self.loss_G_A = self.criterionGAN(self.netD_A(self.fake_B), True)
        # GAN loss D_B(G_B(B))
        self.loss_G_B = self.criterionGAN(self.netD_B(self.fake_A), True)
        # Forward cycle loss || G_B(G_A(A)) - A||
        self.loss_cycle_A = self.criterionCycle(self.rec_A, self.real_A) * lambda_A
        # Backward cycle loss || G_A(G_B(B)) - B||
        self.loss_cycle_B = self.criterionCycle(self.rec_B, self.real_B) * lambda_B
        # combined loss and calculate gradients
        self.loss_G = self.loss_G_A + self.loss_G_B + self.loss_cycle_A + self.loss_cycle_B + self.loss_idt_A + self.loss_idt_B
        self.loss_G.backward()

    def optimize_parameters(self):
        # forward
        self.forward()  # compute fake images and reconstruction images.
        # G_A and G_B
        self.set_requires_grad([self.netD_A, self.netD_B], False)  # Ds require no gradients when optimizing Gs
        self.optimizer_G.zero_grad()  # set G_A and G_B's gradients to zero
        self.backward_G()  # calculate gradients for G_A and G_B
        self.optimizer_G.step()  # update G_A and G_B's weights
        # D_A and D_B
        self.set_requires_grad([self.netD_A, self.netD_B], True)
        self.optimizer_D.zero_grad()  # set D_A and D_B's gradients to zero
        self.backward_D_A()  # calculate gradients for D_A
        self.backward_D_B()  # calculate graidents for D_B
        self.optimizer_D.step()  # update D_A and D_B's weights

    def get_current_losses(self):
        # BaseModel.get_current_losses: float(getattr(self, 'loss_' + name)) in loss_names order
        return [(name, float(getattr(self, "loss_" + name))) for name in self.loss_names]

    set_requires_grad = Pix2PixModel.set_requires_grad  # BaseModel.set_requires_grad


# ---------------------------------------------------------------------------
# pix2pix data: junyanz data/base_dataset.py and data/aligned_dataset.py


def get_params(opt, size):
    w, h = size
    new_h = h
    new_w = w
    if opt["preprocess"] == "resize_and_crop":
        new_h = new_w = opt["load_size"]
    elif opt["preprocess"] == "scale_width_and_crop":
        new_w = opt["load_size"]
        new_h = opt["load_size"] * h // w

    x = random.randint(0, max(0, new_w - opt["crop_size"]))
    y = random.randint(0, max(0, new_h - opt["crop_size"]))

    flip = random.random() > 0.5

    return {"crop_pos": (x, y), "flip": flip}


def get_transform(opt, params=None, grayscale=False, method=transforms.InterpolationMode.BICUBIC, convert=True):
    transform_list = []
    if grayscale:
        transform_list.append(transforms.Grayscale(1))
    if "resize" in opt["preprocess"]:
        osize = [opt["load_size"], opt["load_size"]]
        transform_list.append(transforms.Resize(osize, method))
    elif "scale_width" in opt["preprocess"]:
        transform_list.append(transforms.Lambda(lambda img: __scale_width(img, opt["load_size"], opt["crop_size"], method)))

    if "crop" in opt["preprocess"]:
        if params is None:
            transform_list.append(transforms.RandomCrop(opt["crop_size"]))
        else:
            transform_list.append(transforms.Lambda(lambda img: __crop(img, params["crop_pos"], opt["crop_size"])))

    if opt["preprocess"] == "none":
        transform_list.append(transforms.Lambda(lambda img: __make_power_2(img, base=4, method=method)))

    if not opt["no_flip"]:
        if params is None:
            transform_list.append(transforms.RandomHorizontalFlip())
        elif params["flip"]:
            transform_list.append(transforms.Lambda(lambda img: __flip(img, params["flip"])))

    if convert:
        transform_list += [transforms.ToTensor()]
        if grayscale:
            transform_list += [transforms.Normalize((0.5,), (0.5,))]
        else:
            transform_list += [transforms.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5))]
    return transforms.Compose(transform_list)


def __transforms2pil_resize(method):
    mapper = {
        transforms.InterpolationMode.BILINEAR: Image.BILINEAR,
        transforms.InterpolationMode.BICUBIC: Image.BICUBIC,
        transforms.InterpolationMode.NEAREST: Image.NEAREST,
        transforms.InterpolationMode.LANCZOS: Image.LANCZOS,
    }
    return mapper[method]


def __make_power_2(img, base, method=transforms.InterpolationMode.BICUBIC):
    method = __transforms2pil_resize(method)
    ow, oh = img.size
    h = int(round(oh / base) * base)
    w = int(round(ow / base) * base)
    if h == oh and w == ow:
        return img
    return img.resize((w, h), method)


def __scale_width(img, target_size, crop_size, method=transforms.InterpolationMode.BICUBIC):
    method = __transforms2pil_resize(method)
    ow, oh = img.size
    if ow == target_size and oh >= crop_size:
        return img
    w = target_size
    h = int(max(target_size * oh / ow, crop_size))
    return img.resize((w, h), method)


def __crop(img, pos, size):
    ow, oh = img.size
    x1, y1 = pos
    tw = th = size
    if ow > tw or oh > th:
        return img.crop((x1, y1, x1 + tw, y1 + th))
    return img


def __flip(img, flip):
    if flip:
        return img.transpose(Image.FLIP_LEFT_RIGHT)
    return img


def aligned_item(opt, AB_path):
    """AlignedDataset.__getitem__ for one file."""
    # AlignedDataset.__init__: channels of A and B after the direction swap
    input_nc = opt["output_nc"] if opt["direction"] == "BtoA" else opt["input_nc"]
    output_nc = opt["input_nc"] if opt["direction"] == "BtoA" else opt["output_nc"]
    AB = Image.open(AB_path).convert("RGB")
    # split AB image into A and B
    w, h = AB.size
    w2 = int(w / 2)
    A = AB.crop((0, 0, w2, h))
    B = AB.crop((w2, 0, w, h))
    # apply the same transform to both A and B
    transform_params = get_params(opt, A.size)
    A_transform = get_transform(opt, transform_params, grayscale=(input_nc == 1))
    B_transform = get_transform(opt, transform_params, grayscale=(output_nc == 1))
    A = A_transform(A)
    B = B_transform(B)
    return {"A": A, "B": B, "A_paths": AB_path, "B_paths": AB_path}


def collate(items):
    """A batch of the items' A and B, stacked as default_collate stacks them (the references'
    data/__init__.py uses a plain torch DataLoader)."""
    return {"A": torch.stack([it["A"] for it in items], 0), "B": torch.stack([it["B"] for it in items], 0)}


def aligned_batches(data):
    """One dict per batch."""
    return [collate([aligned_item(data, path) for path in files]) for files in data["files"]]


# ---------------------------------------------------------------------------
# colorization data: junyanz data/colorization_dataset.py (ColorizationDataset)


def colorization_item(opt, path):
    """ColorizationDataset.__getitem__ for one file; its __init__ makes the transform with
    get_transform(self.opt, convert=False) (no params: RandomCrop, RandomHorizontalFlip)."""
    import numpy as np
    from skimage import color  # require skimage

    im = Image.open(path).convert("RGB")
    im = get_transform(opt, convert=False)(im)
    im = np.array(im)
    lab = color.rgb2lab(im).astype(np.float32)
    lab_t = transforms.ToTensor()(lab)
    A = lab_t[[0], ...] / 50.0 - 1.0
    B = lab_t[[1, 2], ...] / 110.0
    return {"A": A, "B": B, "A_paths": path, "B_paths": path}


def colorization_batches(data):
    """One dict per batch."""
    # ColorizationDataset.__init__: assert opt.input_nc == 1 and opt.output_nc == 2 and opt.direction == 'AtoB'
    assert data["input_nc"] == 1 and data["output_nc"] == 2 and data["direction"] == "AtoB"
    return [collate([colorization_item(data, path) for path in files]) for files in data["files"]]


# ---------------------------------------------------------------------------
# CycleGAN data: junyanz data/unaligned_dataset.py (UnalignedDataset)


def unaligned_transforms(opt):
    """UnalignedDataset.__init__: transform_A / transform_B (no params: RandomCrop / RandomHorizontalFlip)."""
    btoA = opt["direction"] == "BtoA"
    input_nc = opt["output_nc"] if btoA else opt["input_nc"]  # get the number of channels of input image
    output_nc = opt["input_nc"] if btoA else opt["output_nc"]  # get the number of channels of output image
    transform_A = get_transform(opt, grayscale=(input_nc == 1))
    transform_B = get_transform(opt, grayscale=(output_nc == 1))
    return transform_A, transform_B


def unaligned_item(transform_A, transform_B, A_path, B_path):
    """UnalignedDataset.__getitem__ with its A file and its (already picked) B file."""
    A_img = Image.open(A_path).convert("RGB")
    B_img = Image.open(B_path).convert("RGB")
    # apply image transformation
    A = transform_A(A_img)
    B = transform_B(B_img)
    return {"A": A, "B": B, "A_paths": A_path, "B_paths": B_path}


def unaligned_batches(data):
    """One dict per batch."""
    files_A, files_B = data["files_A"], data["files_B"]
    if len(files_A) != len(files_B) or any(len(a) != len(b) for a, b in zip(files_A, files_B)):
        raise ValueError("files_A and files_B differ in shape")
    transform_A, transform_B = unaligned_transforms(data)
    return [collate([unaligned_item(transform_A, transform_B, a, b) for a, b in zip(paths_A, paths_B)])
            for paths_A, paths_B in zip(files_A, files_B)]


# ---------------------------------------------------------------------------
# dcgan data: dcgan/main.py's 'mnist' dataset (torchvision MNIST item + transform)


def read_idx_images(path):
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    magic, n, rows, cols = (int.from_bytes(raw[i:i + 4], "big") for i in (0, 4, 8, 12))
    if magic != 0x803:
        raise ValueError("%s: not an IDX3 uint8 image file (magic %#x)" % (path, magic))
    return raw, n, rows, cols


def mnist_batches(data):
    raw, n, rows, cols = read_idx_images(data["images"])
    transform = transforms.Compose([
        transforms.Resize(data["image_size"]),
        transforms.ToTensor(),
        transforms.Normalize((0.5,), (0.5,)),
    ])
    batches = []
    for idx in data["indices"]:
        imgs = []
        for i in idx:
            if not 0 <= i < n:
                raise IndexError("image index %d outside 0..%d" % (i, n - 1))
            off = 16 + i * rows * cols
            # torchvision MNIST.__getitem__: Image.fromarray(img.numpy(), mode="L")
            img = Image.frombytes("L", (cols, rows), raw[off:off + rows * cols])
            imgs.append(transform(img))
        batches.append(torch.stack(imgs, 0))
    return batches


def cifar10_batches(data):
    """main.py --dataset cifar10: dset.CIFAR10 with Resize(imageSize), ToTensor and
    Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5)), its images data["indices"]."""
    import torchvision.datasets.cifar as cifar
    cifar.check_integrity = lambda *a, **k: True  # the test's batches are not the published bytes
    dataset = cifar.CIFAR10(root=data["root"], train=True, download=False, transform=transforms.Compose([
        transforms.Resize(data["image_size"]),
        transforms.ToTensor(),
        transforms.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5)),
    ]))
    return [torch.stack([dataset[i][0] for i in idx], 0) for idx in data["indices"]]


def imagefolder_batches(data):
    """main.py --dataset folder: dset.ImageFolder with Resize(imageSize), CenterCrop(imageSize),
    ToTensor and Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5)), its images data["indices"]."""
    import torchvision.datasets as dset
    dataset = dset.ImageFolder(root=data["root"], transform=transforms.Compose([
        transforms.Resize(data["image_size"]),
        transforms.CenterCrop(data["image_size"]),
        transforms.ToTensor(),
        transforms.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5)),
    ]))
    return [torch.stack([dataset[i][0] for i in idx], 0) for idx in data["indices"]]


def lsun_batches(data):
    """main.py --dataset lsun --classes data["classes"]: dset.LSUN with Resize(imageSize),
    CenterCrop(imageSize), ToTensor and Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5)), its
    images data["indices"]."""
    import tempfile
    import torchvision.datasets as dset
    classes = [c + '_train' for c in data["classes"].split(',')]
    cwd = os.getcwd()
    os.chdir(tempfile.mkdtemp())  # LSUNClass caches its keys in a file in the working folder
    try:
        dataset = dset.LSUN(root=data["root"], classes=classes, transform=transforms.Compose([
            transforms.Resize(data["image_size"]),
            transforms.CenterCrop(data["image_size"]),
            transforms.ToTensor(),
            transforms.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5)),
        ]))
    finally:
        os.chdir(cwd)
    return [torch.stack([dataset[i][0] for i in idx], 0) for idx in data["indices"]]


# ---------------------------------------------------------------------------
# dcgan: pytorch/examples dcgan/main.py, the body of `for i, data in enumerate(dataloader, 0)`

real_label = 1
fake_label = 0


def dcgan_step(netG, netD, criterion, optimizerD, optimizerG, real_cpu, nz):
    ############################
    # (1) Update D network: maximize log(D(x)) + log(1 - D(G(z)))
    ###########################
    # train with real
    netD.zero_grad()
    batch_size = real_cpu.size(0)
    label = torch.full((batch_size,), real_label, dtype=real_cpu.dtype, device=DEVICE)

    output = netD(real_cpu)
    errD_real = criterion(output, label)
    errD_real.backward()
    D_x = output.mean().item()

    # train with fake
    noise = torch.randn(batch_size, nz, 1, 1, device=DEVICE)
    fake = netG(noise)
    label.fill_(fake_label)
    output = netD(fake.detach())
    errD_fake = criterion(output, label)
    errD_fake.backward()
    D_G_z1 = output.mean().item()
    errD = errD_real + errD_fake
    optimizerD.step()

    ############################
    # (2) Update G network: maximize log(D(G(z)))
    ###########################
    netG.zero_grad()
    label.fill_(real_label)  # fake labels are real for generator cost
    output = netD(fake)
    errG = criterion(output, label)
    errG.backward()
    D_G_z2 = output.mean().item()
    optimizerG.step()

    return [("Loss_D", errD.item()), ("Loss_G", errG.item()), ("D_x", D_x), ("D_G_z1", D_G_z1), ("D_G_z2", D_G_z2)]


# ---------------------------------------------------------------------------
# A case


def state(prefix, net):
    return {prefix + k: v.detach().clone() for k, v in net.state_dict().items()}


def build_and_init(c):
    """The references' construction and initialisation, from torch.manual_seed(seed)."""
    torch.manual_seed(c["seed"])
    fixed_noise = None
    if c["recipe"] == "dcgan":
        # netG = Generator(ngpu); netG.apply(weights_init); netD = ...; netD.apply(weights_init)
        netG = reference_nets.build("G", c["G"])
        netG.apply(reference_nets.weights_init)
        netD = reference_nets.build("D", c["D"])
        netD.apply(reference_nets.weights_init)
        # fixed_noise = torch.randn(opt.batchSize, nz, 1, 1, device=device)
        size = c.get("fixed_noise_size") or len(c["data"]["indices"][0])
        fixed_noise = torch.randn(size, c["nz"], 1, 1, device=DEVICE)
        return netG, netD, fixed_noise
    order = c.get("init_order", "define")
    if order == "define":  # define_G/define_D each ending in init_net (junyanz before c95974f)
        netG = reference_nets.build("G", c["G"])
        reference_nets.init_weights(netG, c["init_type"], c["init_gain"])
        netD = reference_nets.build("D", c["D"])
        reference_nets.init_weights(netD, c["init_type"], c["init_gain"])
    elif order == "setup":  # Pix2PixModel.__init__ builds both; BaseModel.setup inits G, then D
        netG = reference_nets.build("G", c["G"])
        netD = reference_nets.build("D", c["D"])
        reference_nets.init_weights(netG, c["init_type"], c["init_gain"])
        reference_nets.init_weights(netD, c["init_type"], c["init_gain"])
    else:
        raise ValueError("init_order %r: want define or setup" % order)
    return netG, netD, fixed_noise


def load_weights(c, netG, netD):
    w, _ = safetensors_torch.load(c["weights"])
    for role, net in (("G", netG), ("D", netD)):
        sd = {k[len(role) + 1:]: v for k, v in w.items() if k.startswith(role + ".")}
        net.load_state_dict(sd, strict=True)


def adam_moments(prefix, optimizer, net, out):
    """Adam's moments of a net's parameters, or of a list of parameters (numbered in its order)."""
    params = net.parameters() if isinstance(net, nn.Module) else net
    for i, p in enumerate(params):
        st = optimizer.state.get(p)
        if not st:
            print("warning: %s: no Adam state for parameter %d" % (prefix, i), file=sys.stderr)
            continue
        out["%s.exp_avg.%d" % (prefix, i)] = st["exp_avg"].detach().clone()
        out["%s.exp_avg_sq.%d" % (prefix, i)] = st["exp_avg_sq"].detach().clone()


CYCLEGAN_ROLES = ("G_A", "G_B", "D_A", "D_B")  # CycleGANModel.model_names (isTrain)


def build_and_init_cyclegan(c):
    """CycleGANModel.__init__'s define_G/define_D calls and their initialisation, from torch.manual_seed(seed)."""
    torch.manual_seed(c["seed"])
    order = c.get("init_order", "define")
    nets = {}
    if order == "define":  # define_G(G_A), define_G(G_B), define_D(D_A), define_D(D_B), each ending in init_net
        for role in CYCLEGAN_ROLES:
            nets[role] = reference_nets.build(role[0], c[role])
            reference_nets.init_weights(nets[role], c["init_type"], c["init_gain"])
    elif order == "setup":  # __init__ builds all four; BaseModel.setup inits them in model_names order
        for role in CYCLEGAN_ROLES:
            nets[role] = reference_nets.build(role[0], c[role])
        for role in CYCLEGAN_ROLES:
            reference_nets.init_weights(nets[role], c["init_type"], c["init_gain"])
    else:
        raise ValueError("init_order %r: want define or setup" % order)
    return nets


def reference_net_options(c):
    """The networks the reference's model builds from the case's options ("model": netG, netD, norm,
    no_dropout, ngf, ndf, n_layers_D, num_D, input_nc, output_nc, as the references name them), for
    reference_nets.build: main.py's Generator(ngpu) / Discriminator(ngpu) (nz, ngf, ndf, nc: 1 for
    mnist, else 3), Pix2PixModel.__init__'s define_G(input_nc, output_nc, ngf, netG, norm, not
    no_dropout) and define_D(input_nc + output_nc, ndf, netD, n_layers_D, norm), CycleGANModel's
    G_A (input_nc -> output_nc), G_B (output_nc -> input_nc), D_A (output_nc), D_B (input_nc).
    The case's own G / D / G_A ... (gogan's nets.Options, which its recipe derived from the same
    keys) must agree with them field for field, and the reference's are what get built: so a
    recipe that derived a network wrongly (dropout, channels, norm) fails here instead of being
    copied."""
    m = c.get("model")
    if m is None:
        raise ValueError("the case has no \"model\" options")
    recipe = c["recipe"]
    if recipe == "dcgan":
        nc = 1 if c["data"]["kind"] == "mnist" else 3  # main.py: nc = 1 for mnist, else 3
        size = c["data"]["image_size"]
        want = {"G": {"Kind": "dcgan", "NZ": c["nz"], "NGF": m["ngf"], "OutputNC": nc, "ImageSize": size},
                "D": {"Kind": "dcgan", "NDF": m["ndf"], "InputNC": nc, "ImageSize": size}}
    else:
        inc, onc = m["input_nc"], m["output_nc"]

        def g(i, o):
            return {"Kind": m["netG"], "InputNC": i, "OutputNC": o, "NGF": m["ngf"], "Norm": m["norm"],
                    "Dropout": not m["no_dropout"], "PadType": "reflect"}

        def d(i):
            o = {"Kind": m["netD"], "InputNC": i, "NDF": m["ndf"], "NLayers": m["n_layers_D"], "Norm": m["norm"]}
            if m["netD"] == "multiscale":  # not in junyanz's define_D: pix2pixHD's, without its features
                o.update({"NumD": m["num_D"], "GetIntermFeat": False})
            return o
        if recipe == "cyclegan":
            want = {"G_A": g(inc, onc), "G_B": g(onc, inc), "D_A": d(onc), "D_B": d(inc)}
        else:  # pix2pix, colorization (a Pix2PixModel)
            want = {"G": g(inc, onc), "D": d(inc + onc)}
    for role, o in want.items():
        got = c.get(role) or {}
        diff = {k: (got.get(k), v) for k, v in o.items() if got.get(k) != v}
        if diff:
            raise ValueError("%s: the case's network options differ from the reference's (got, want): %s" % (role, diff))
        c[role] = o


def run_cyclegan(c):
    """Recipe "cyclegan".

    Case: name, seed, step_seed, steps, out, weights (safetensors, keys "G_A.<k>", "G_B.<k>",
    "D_A.<k>", "D_B.<k>"), init_type, init_gain, init_order (define | setup), gan_mode (lsgan |
    vanilla), lr, beta1, beta2, lambda_A, lambda_B, lambda_identity, pool_size, pool_seed (optional;
    see the module docstring); model (netG, netD, norm, no_dropout, ngf, ndf, n_layers_D, num_D,
    input_nc, output_nc: the nets, see reference_net_options); G_A, G_B, D_A, D_B: gogan's option
    objects, which must be those; data: {kind: unaligned, files_A: [[paths of batch
    0], ...], files_B: (same shape), load_size, crop_size, preprocess, no_flip, input_nc,
    output_nc, direction}.

    Output (float32, int64 buffers as they are): init.<role>.<k>, input.<b>.A, input.<b>.B
    (real_A / real_B after set_input), loss.<step>.<name> for name in D_A, G_A, cycle_A, idt_A,
    D_B, G_B, cycle_B, idt_B (step from 1), final.<role>.<k>, final.optG.exp_avg.<i>,
    final.optG.exp_avg_sq.<i> (i over G_A's then G_B's parameters), final.optD.* (D_A's then
    D_B's); role in G_A, G_B, D_A, D_B.
    """
    c.setdefault("beta2", 0.999)
    data = c["data"]
    if data["kind"] != "unaligned":
        raise ValueError("cyclegan data kind %r: want unaligned" % data["kind"])
    if c["gan_mode"] not in ("lsgan", "vanilla"):
        raise ValueError("cyclegan gan_mode %r: want lsgan or vanilla" % c["gan_mode"])
    reference_net_options(c)
    out = {}

    nets = build_and_init_cyclegan(c)
    for role in CYCLEGAN_ROLES:
        out.update(state("init.%s." % role, nets[role]))
    w, _ = safetensors_torch.load(c["weights"])
    stray = [k for k in w if not k.startswith(tuple(r + "." for r in CYCLEGAN_ROLES))]
    if stray:
        raise ValueError("weights: keys outside G_A/G_B/D_A/D_B: %s" % stray[:5])
    for role in CYCLEGAN_ROLES:
        sd = {k[len(role) + 1:]: v for k, v in w.items() if k.startswith(role + ".")}
        nets[role].load_state_dict(sd, strict=True)
        nets[role].train()

    # the item transforms draw from torch's generator (RandomCrop, RandomHorizontalFlip); see the docstring
    random.seed(c["step_seed"])
    torch.manual_seed(c["step_seed"])
    batches = unaligned_batches(data)
    if len(batches) < c["steps"]:
        raise ValueError("%d steps but %d batches" % (c["steps"], len(batches)))

    opt = dict(data)
    opt.update({k: c[k] for k in ("gan_mode", "lr", "beta1", "beta2", "lambda_A", "lambda_B",
                                  "lambda_identity", "pool_size")})
    model = CycleGANModel(opt, nets["G_A"], nets["G_B"], nets["D_A"], nets["D_B"])
    for b, batch in enumerate(batches):
        model.set_input(batch)
        out["input.%d.A" % b] = model.real_A
        out["input.%d.B" % b] = model.real_B
    torch.manual_seed(c["step_seed"])
    random.seed(c.get("pool_seed", c["step_seed"]))  # ImagePool.query draws from Python's random
    for step in range(1, c["steps"] + 1):
        model.set_input(batches[step - 1])  # unpack data from dataset and apply preprocessing
        model.optimize_parameters()  # calculate loss functions, get gradients, update network weights
        for name, v in model.get_current_losses():
            out["loss.%d.%s" % (step, name)] = torch.tensor([v], dtype=torch.float32)

    for role in CYCLEGAN_ROLES:
        out.update(state("final.%s." % role, nets[role]))
    adam_moments("final.optG", model.optimizer_G,
                 list(itertools.chain(nets["G_A"].parameters(), nets["G_B"].parameters())), out)
    adam_moments("final.optD", model.optimizer_D,
                 list(itertools.chain(nets["D_A"].parameters(), nets["D_B"].parameters())), out)
    for k, v in out.items():
        if v.is_floating_point() and v.dtype != torch.float32:
            out[k] = v.float()
    reference_nets.fast_save(c["out"], out)


# ---------------------------------------------------------------------------
# pix2pixHD: NVIDIA/pix2pixHD [14b3b3c] models/networks.py (GANLoss; VGGLoss is in reference_nets.py), models/pix2pixHD_model.py
# (Pix2PixHDModel), data/base_dataset.py, data/aligned_dataset.py and train.py's step; the networks,
# weights_init and Vgg19 are in reference_nets.py.


class HDImagePool():
    """pix2pixHD util/image_pool.py ImagePool (Variable() dropped): its own copy of the pool, which
    iterates over images.data."""

    def __init__(self, pool_size):
        self.pool_size = pool_size
        if self.pool_size > 0:
            self.num_imgs = 0
            self.images = []

    def query(self, images):
        if self.pool_size == 0:
            return images
        return_images = []
        for image in images.data:
            image = torch.unsqueeze(image, 0)
            if self.num_imgs < self.pool_size:
                self.num_imgs = self.num_imgs + 1
                self.images.append(image)
                return_images.append(image)
            else:
                p = random.uniform(0, 1)
                if p > 0.5:
                    random_id = random.randint(0, self.pool_size-1)
                    tmp = self.images[random_id].clone()
                    self.images[random_id] = image
                    return_images.append(tmp)
                else:
                    return_images.append(image)
        return_images = torch.cat(return_images, 0)
        return return_images


class HDGANLoss(nn.Module):
    """pix2pixHD models/networks.py GANLoss (MSELoss, or BCELoss with --no_lsgan; targets filled
    with 1.0 / 0.0 and cached while the size matches)."""

    def __init__(self, use_lsgan=True, target_real_label=1.0, target_fake_label=0.0,
                 tensor=torch.FloatTensor):
        super(HDGANLoss, self).__init__()
        self.real_label = target_real_label
        self.fake_label = target_fake_label
        self.real_label_var = None
        self.fake_label_var = None
        self.Tensor = tensor
        if use_lsgan:
            self.loss = nn.MSELoss()
        else:
            self.loss = nn.BCELoss()

    def get_target_tensor(self, input, target_is_real):
        target_tensor = None
        if target_is_real:
            create_label = ((self.real_label_var is None) or
                            (self.real_label_var.numel() != input.numel()))
            if create_label:
                real_tensor = self.Tensor(input.size()).fill_(self.real_label)
                self.real_label_var = real_tensor.requires_grad_(False)
            target_tensor = self.real_label_var
        else:
            create_label = ((self.fake_label_var is None) or
                            (self.fake_label_var.numel() != input.numel()))
            if create_label:
                fake_tensor = self.Tensor(input.size()).fill_(self.fake_label)
                self.fake_label_var = fake_tensor.requires_grad_(False)
            target_tensor = self.fake_label_var
        return target_tensor

    def __call__(self, input, target_is_real):
        if isinstance(input[0], list):
            loss = 0
            for input_i in input:
                pred = input_i[-1]
                target_tensor = self.get_target_tensor(pred, target_is_real)
                loss += self.loss(pred, target_tensor)
            return loss
        else:
            target_tensor = self.get_target_tensor(input[-1], target_is_real)
            return self.loss(input[-1], target_tensor)


class Pix2PixHDModel(nn.Module):
    """models/pix2pixHD_model.py Pix2PixHDModel, training side, on the CPU: netE with instance_feat or
    label_feat (load_features off), any pool_size, data_type 32. The nets are built (define_G,
    define_D, define_G(..., 'encoder', ...)) by the caller and passed in; so is the Vgg19 of
    VGGLoss."""

    def init_loss_filter(self, use_gan_feat_loss, use_vgg_loss):
        flags = (True, use_gan_feat_loss, use_vgg_loss, True, True)

        def loss_filter(g_gan, g_gan_feat, g_vgg, d_real, d_fake):
            return [l for (l, f) in zip((g_gan, g_gan_feat, g_vgg, d_real, d_fake), flags) if f]
        return loss_filter

    def initialize(self, opt, netG, netD, vgg, netE=None):
        self.opt = opt
        self.isTrain = True
        self.Tensor = torch.Tensor  # BaseModel: torch.cuda.FloatTensor with gpu_ids
        self.use_features = opt["instance_feat"] or opt["label_feat"]
        self.gen_features = self.use_features  # and not load_features
        self.netG = netG
        self.netD = netD
        if self.gen_features:
            self.netE = netE
        # The reference's MultiscaleDiscriminator with getIntermFeat copies layers 0..n_layers+1 of
        # each NLayerDiscriminator and so drops the Sigmoid that use_sigmoid appended as layer
        # n_layers+2: its last output is a logit, and BCELoss on it is not the intended loss (torch's
        # CPU BCELoss refuses values outside [0, 1]). opt["sigmoid_last"] (our addition, the case's
        # intermfeat_sigmoid "apply") puts that Sigmoid back on each scale's last output before the
        # GAN loss; the features stay as they are. See run_pix2pixhd.
        self.sigmoid_last = opt["sigmoid_last"]

        # set loss functions and optimizers
        self.gpu_ids = []  # the CPU
        if opt["pool_size"] > 0 and (len(self.gpu_ids)) > 1:
            raise NotImplementedError("Fake Pool Not Implemented for MultiGPU")
        self.fake_pool = HDImagePool(opt["pool_size"])
        self.old_lr = opt["lr"]

        # define loss functions
        self.loss_filter = self.init_loss_filter(not opt["no_ganFeat_loss"], not opt["no_vgg_loss"])

        self.criterionGAN = HDGANLoss(use_lsgan=not opt["no_lsgan"], tensor=self.Tensor)
        self.criterionFeat = torch.nn.L1Loss()
        if not opt["no_vgg_loss"]:
            self.criterionVGG = reference_nets.VGGLoss(vgg)

        # Names so we can breakout loss
        self.loss_names = self.loss_filter('G_GAN', 'G_GAN_Feat', 'G_VGG', 'D_real', 'D_fake')

        # initialize optimizers (betas=(opt.beta1, 0.999) in the reference)
        # optimizer G
        if opt["niter_fix_global"] > 0:
            finetune_list = set()
            params_dict = dict(self.netG.named_parameters())
            params = []
            for key, value in params_dict.items():
                if key.startswith('model' + str(opt["n_local_enhancers"])):
                    params += [value]
                    finetune_list.add(key.split('.')[0])
            print('------------- Only training the local enhancer network (for %d epochs) ------------'
                  % opt["niter_fix_global"], file=sys.stderr)
            print('The layers that are finetuned are ', sorted(finetune_list), file=sys.stderr)
        else:
            params = list(self.netG.parameters())
        if self.gen_features:
            params += list(self.netE.parameters())
        self.optimizer_G = torch.optim.Adam(params, lr=opt["lr"], betas=(opt["beta1"], opt["beta2"]))

        # optimizer D
        params = list(self.netD.parameters())
        self.optimizer_D = torch.optim.Adam(params, lr=opt["lr"], betas=(opt["beta1"], opt["beta2"]))

    def encode_input(self, label_map, inst_map=None, real_image=None, feat_map=None, infer=False):
        if self.opt["label_nc"] == 0:
            input_label = label_map.data
        else:
            # create one-hot vector for label map
            size = label_map.size()
            oneHot_size = (size[0], self.opt["label_nc"], size[2], size[3])
            input_label = torch.FloatTensor(torch.Size(oneHot_size)).zero_()
            input_label = input_label.scatter_(1, label_map.data.long(), 1.0)

        # get edges from instance map
        if not self.opt["no_instance"]:
            inst_map = inst_map.data
            edge_map = self.get_edges(inst_map)
            input_label = torch.cat((input_label, edge_map), dim=1)

        # real images for training
        if real_image is not None:
            real_image = real_image.data

        # instance map for feature encoding
        if self.use_features:
            if self.opt["label_feat"]:
                inst_map = label_map

        return input_label, inst_map, real_image, feat_map

    def netD_forward(self, x):
        pred = self.netD.forward(x)
        if self.sigmoid_last:
            pred = [scale[:-1] + [torch.sigmoid(scale[-1])] for scale in pred]
        return pred

    def discriminate(self, input_label, test_image, use_pool=False):
        input_concat = torch.cat((input_label, test_image.detach()), dim=1)
        if use_pool:
            fake_query = self.fake_pool.query(input_concat)
            return self.netD_forward(fake_query)
        else:
            return self.netD_forward(input_concat)

    def forward(self, label, inst, image, feat, infer=False):
        # Encode Inputs
        input_label, inst_map, real_image, feat_map = self.encode_input(label, inst, image, feat)

        # Fake Generation
        if self.use_features:
            feat_map = self.netE.forward(real_image, inst_map)
            input_concat = torch.cat((input_label, feat_map), dim=1)
        else:
            input_concat = input_label
        fake_image = self.netG.forward(input_concat)

        # Fake Detection and Loss
        pred_fake_pool = self.discriminate(input_label, fake_image, use_pool=True)
        loss_D_fake = self.criterionGAN(pred_fake_pool, False)

        # Real Detection and Loss
        pred_real = self.discriminate(input_label, real_image)
        loss_D_real = self.criterionGAN(pred_real, True)

        # GAN loss (Fake Passability Loss)
        pred_fake = self.netD_forward(torch.cat((input_label, fake_image), dim=1))
        loss_G_GAN = self.criterionGAN(pred_fake, True)

        # GAN feature matching loss
        loss_G_GAN_Feat = 0
        if not self.opt["no_ganFeat_loss"]:
            feat_weights = 4.0 / (self.opt["n_layers_D"] + 1)
            D_weights = 1.0 / self.opt["num_D"]
            for i in range(self.opt["num_D"]):
                for j in range(len(pred_fake[i]) - 1):
                    loss_G_GAN_Feat += D_weights * feat_weights * \
                        self.criterionFeat(pred_fake[i][j], pred_real[i][j].detach()) * self.opt["lambda_feat"]

        # VGG feature matching loss
        loss_G_VGG = 0
        if not self.opt["no_vgg_loss"]:
            loss_G_VGG = self.criterionVGG(fake_image, real_image) * self.opt["lambda_feat"]

        # Only return the fake_B image if necessary to save BW
        return [self.loss_filter(loss_G_GAN, loss_G_GAN_Feat, loss_G_VGG, loss_D_real, loss_D_fake), None if not infer else fake_image]

    def get_edges(self, t):
        edge = torch.ByteTensor(t.size()).zero_()
        edge[:, :, :, 1:] = edge[:, :, :, 1:] | (t[:, :, :, 1:] != t[:, :, :, :-1])
        edge[:, :, :, :-1] = edge[:, :, :, :-1] | (t[:, :, :, 1:] != t[:, :, :, :-1])
        edge[:, :, 1:, :] = edge[:, :, 1:, :] | (t[:, :, 1:, :] != t[:, :, :-1, :])
        edge[:, :, :-1, :] = edge[:, :, :-1, :] | (t[:, :, 1:, :] != t[:, :, :-1, :])
        return edge.float()

    def update_fixed_params(self):
        # after fixing the global generator for a number of iterations, also start finetuning it
        params = list(self.netG.parameters())
        if self.gen_features:
            params += list(self.netE.parameters())
        self.optimizer_G = torch.optim.Adam(params, lr=self.opt["lr"], betas=(self.opt["beta1"], self.opt["beta2"]))
        print('------------ Now also finetuning global generator -----------', file=sys.stderr)

    def update_learning_rate(self):
        lrd = self.opt["lr"] / self.opt["niter_decay"]
        lr = self.old_lr - lrd
        for param_group in self.optimizer_D.param_groups:
            param_group['lr'] = lr
        for param_group in self.optimizer_G.param_groups:
            param_group['lr'] = lr
        self.old_lr = lr


def hd_get_params(opt, size):
    """pix2pixHD data/base_dataset.py get_params."""
    w, h = size
    new_h = h
    new_w = w
    if opt["resize_or_crop"] == 'resize_and_crop':
        new_h = new_w = opt["loadSize"]
    elif opt["resize_or_crop"] == 'scale_width_and_crop':
        new_w = opt["loadSize"]
        new_h = opt["loadSize"] * h // w

    x = random.randint(0, max(0, new_w - opt["fineSize"]))  # np.maximum there: the same integer
    y = random.randint(0, max(0, new_h - opt["fineSize"]))

    flip = random.random() > 0.5
    return {'crop_pos': (x, y), 'flip': flip}


_PIL_TO_MODE = {Image.BICUBIC: transforms.InterpolationMode.BICUBIC, Image.NEAREST: transforms.InterpolationMode.NEAREST,
                Image.BILINEAR: transforms.InterpolationMode.BILINEAR, Image.LANCZOS: transforms.InterpolationMode.LANCZOS}


def hd_get_transform(opt, params, method=Image.BICUBIC, normalize=True):
    """pix2pixHD data/base_dataset.py get_transform (isTrain). transforms.Scale(osize, method) is
    transforms.Resize(osize, <the same PIL method as an InterpolationMode>): torchvision 0.14 has
    no Scale; Scale was Resize under another name."""
    transform_list = []
    if 'resize' in opt["resize_or_crop"]:
        osize = [opt["loadSize"], opt["loadSize"]]
        transform_list.append(transforms.Resize(osize, _PIL_TO_MODE[method]))
    elif 'scale_width' in opt["resize_or_crop"]:
        transform_list.append(transforms.Lambda(lambda img: __hd_scale_width(img, opt["loadSize"], method)))

    if 'crop' in opt["resize_or_crop"]:
        transform_list.append(transforms.Lambda(lambda img: __crop(img, params['crop_pos'], opt["fineSize"])))

    if opt["resize_or_crop"] == 'none':
        base = float(2 ** opt["n_downsample_global"])
        if opt["netG"] == 'local':
            base *= (2 ** opt["n_local_enhancers"])
        transform_list.append(transforms.Lambda(lambda img: __hd_make_power_2(img, base, method)))

    if not opt["no_flip"]:  # opt.isTrain and not opt.no_flip
        transform_list.append(transforms.Lambda(lambda img: __flip(img, params['flip'])))

    transform_list += [transforms.ToTensor()]

    if normalize:
        transform_list += [transforms.Lambda(lambda t: __hd_normalize(t, (0.5, 0.5, 0.5), (0.5, 0.5, 0.5)))]
    return transforms.Compose(transform_list)


def __hd_normalize(tensor, mean, std):
    """transforms.Normalize as torchvision 0.2 (pix2pixHD's PyTorch 0.4) computes it: channel by channel,
    zip(tensor, mean, std), so that a 1-channel instance map through label_nc 0's transform_A takes
    the first mean and std. torchvision 0.14 broadcasts the 3 means and fails on it ("output with
    shape [1, H, W] doesn't match the broadcast shape [3, H, W]"); on 3 channels the two agree."""
    if tensor.size(0) == len(mean):
        return transforms.Normalize(mean, std)(tensor)
    if not tensor.is_floating_point():  # a 16-bit map stays integer; 0.2's int sub_(0.5).div_(0.5) divides by 0
        raise TypeError("normalize: %s instance map (16-bit): the reference's label_nc 0 transform_A cannot take it" % tensor.dtype)
    for t, m, s in zip(tensor, mean, std):
        t.sub_(m).div_(s)
    return tensor


def __hd_make_power_2(img, base, method=Image.BICUBIC):
    ow, oh = img.size
    h = int(round(oh / base) * base)
    w = int(round(ow / base) * base)
    if (h == oh) and (w == ow):
        return img
    return img.resize((w, h), method)


def __hd_scale_width(img, target_width, method=Image.BICUBIC):
    ow, oh = img.size
    if (ow == target_width):
        return img
    w = target_width
    h = int(target_width * oh / ow)
    return img.resize((w, h), method)


def hd_aligned_item(opt, A_path, B_path, inst_path):
    """pix2pixHD data/aligned_dataset.py AlignedDataset.__getitem__ (isTrain, no load_features),
    with its three files given."""
    ### input A (label maps)
    A = Image.open(A_path)
    params = hd_get_params(opt, A.size)
    if opt["label_nc"] == 0:
        transform_A = hd_get_transform(opt, params)
        A_tensor = transform_A(A.convert('RGB'))
    else:
        transform_A = hd_get_transform(opt, params, method=Image.NEAREST, normalize=False)
        A_tensor = transform_A(A) * 255.0

    B_tensor = inst_tensor = 0
    ### input B (real images)
    B = Image.open(B_path).convert('RGB')
    transform_B = hd_get_transform(opt, params)
    B_tensor = transform_B(B)

    ### if using instance maps
    if not opt["no_instance"]:
        inst = Image.open(inst_path)
        inst_tensor = transform_A(inst)

    return {'label': A_tensor, 'inst': inst_tensor, 'image': B_tensor, 'feat': 0, 'path': A_path}


def hd_batches(data):
    """One dict per batch: default_collate's stack of the items (an int 0 entry collates to a tensor
    of zeros of the batch's length, as the reference's DataLoader does)."""
    labels, images, insts = data["label"], data["image"], data.get("inst")
    if len(labels) != len(images) or any(len(a) != len(b) for a, b in zip(labels, images)):
        raise ValueError("label and image differ in shape")
    if not data["no_instance"]:
        if insts is None or len(insts) != len(labels) or any(len(a) != len(b) for a, b in zip(labels, insts)):
            raise ValueError("inst missing or of another shape than label")
    batches = []
    for b, files in enumerate(labels):
        items = [hd_aligned_item(data, a, images[b][i], None if data["no_instance"] else insts[b][i])
                 for i, a in enumerate(files)]
        batch = {}
        for k in ("label", "inst", "image", "feat"):
            vs = [it[k] for it in items]
            batch[k] = torch.stack(vs, 0) if isinstance(vs[0], torch.Tensor) else torch.tensor(vs)
        batches.append(batch)
    return batches


def build_and_init_pix2pixhd(c, opt):
    """Pix2PixHDModel.initialize's define_G, define_D, then with features define_G(output_nc,
    feat_num, nef, 'encoder', n_downsample_E, norm) (each ending in apply(weights_init)), from
    torch.manual_seed(seed)."""
    torch.manual_seed(c["seed"])
    g = c["G"]
    netG = reference_nets.hd_define_G(g["InputNC"], g["OutputNC"], g["NGF"], g["Kind"], g["NDownsampleGlobal"],
                                      g["NBlocksGlobal"], g["NLocalEnhancers"], g["NBlocksLocal"], g["Norm"],
                                      padding_type=g["PadType"])
    d = c["D"]
    netD = reference_nets.hd_define_D(d["InputNC"], d["NDF"], d["NLayers"], d["Norm"], opt["no_lsgan"],
                                      d["NumD"], d["GetIntermFeat"])
    netE = None
    if opt["instance_feat"] or opt["label_feat"]:
        netE = reference_nets.hd_define_G(opt["output_nc"], opt["feat_num"], opt["nef"], 'encoder', opt["n_downsample_E"],
                                          norm=opt["norm"])
    return netG, netD, netE


HD_G_DEFAULTS = {"Norm": "instance", "NGF": 64, "NDownsampleGlobal": 4, "NBlocksGlobal": 9, "NLocalEnhancers": 1,
                 "NBlocksLocal": 3, "PadType": "reflect", "OutputNC": 3}
HD_D_DEFAULTS = {"Norm": "instance", "NDF": 64, "NLayers": 3, "NumD": 2}


def hd_train_step(model, optimizer_G, optimizer_D, data):
    """One step of pix2pixHD's train.py loop body (forward, losses, G's then D's update); returns loss_dict."""
    ############## Forward Pass ######################
    losses, generated = model(data['label'], data['inst'], data['image'], data['feat'], infer=False)

    # sum per device losses
    losses = [torch.mean(x) if not isinstance(x, int) else x for x in losses]
    loss_dict = dict(zip(model.loss_names, losses))

    # calculate final loss scalar
    loss_D = (loss_dict['D_fake'] + loss_dict['D_real']) * 0.5
    loss_G = loss_dict['G_GAN'] + loss_dict.get('G_GAN_Feat', 0) + loss_dict.get('G_VGG', 0)

    ############### Backward Pass ####################
    # update generator weights
    optimizer_G.zero_grad()
    loss_G.backward()
    optimizer_G.step()

    # update discriminator weights
    optimizer_D.zero_grad()
    loss_D.backward()
    optimizer_D.step()
    return loss_dict


def run_pix2pixhd(c):
    """Recipe "pix2pixhd".

    Case: name, seed, step_seed, steps, out, weights (safetensors, keys "G.<k>", "D.<k>"),
    init_type ("pix2pixhd" only: the reference's weights_init), lr, beta1, beta2 (default 0.999),
    gan_mode (lsgan | vanilla = --no_lsgan), lambda_feat (10), label_nc (data's), no_instance
    (data's), niter_fix_global (0), n_local_enhancers (G's NLocalEnhancers), no_ganFeat_loss
    (not D.GetIntermFeat), no_vgg_loss (false), vgg_weights (a torchvision vgg19 .pth; needed
    unless no_vgg_loss), pool_size, pool_seed (optional; see the module docstring), epoch_end_after (none: after that step,
    train.py's end of epoch 1), niter (100), niter_decay (100), optimizer_binding ("model" |
    "local"), intermfeat_sigmoid ("apply" | "reference"); G: {Kind global | local, InputNC,
    OutputNC, NGF, Norm, NDownsampleGlobal, NBlocksGlobal, NLocalEnhancers, NBlocksLocal,
    PadType}, D: {Kind multiscale, InputNC, NDF, NLayers, NumD, Norm, GetIntermFeat} (absent
    fields take pix2pixHD's defaults); instance_feat, label_feat (false), feat_num (3), nef (16),
    n_downsample_E (4) and E: {Kind encoder, InputNC = output_nc, OutputNC = feat_num, NGF = nef,
    NDownsampleGlobal = n_downsample_E, Norm} with features; data: {kind: pix2pixhd, label: [[path per sample] per
    batch], inst: (same shape) or null, image: (same shape), label_nc, no_instance,
    resize_or_crop, loadSize, fineSize, no_flip, input_nc, output_nc}.

    Output: init.G.<k>, init.D.<k> (init.E.<k>, final.E.<k> with features); input.<b>.A (the dataset's label tensor: ids as floats, or
    the normalised RGB with label_nc 0), input.<b>.B (image), input.<b>.inst (get_edges of the
    instance map, 0/1 floats, [N,1,H,W]; with instances only), input.<b>.inst_id (with
    instance_feat: the instance ids as [N,2,H,W] floats id // 256, id % 256); loss.<step>.<name> for the
    loss_filter names G_GAN, G_GAN_Feat (unless no_ganFeat_loss), G_VGG (unless no_vgg_loss),
    D_real, D_fake; final.G.<k>, final.D.<k>, final.optG.exp_avg.<i> / exp_avg_sq.<i> over the
    param list of the optimizer train.py steps G with at the end, final.optD.* over
    netD.parameters().
    """
    c.setdefault("beta2", 0.999)
    data = c["data"]
    if data["kind"] != "pix2pixhd":
        raise ValueError("pix2pixhd data kind %r: want pix2pixhd" % data["kind"])
    if c["gan_mode"] not in ("lsgan", "vanilla"):
        raise ValueError("pix2pixhd gan_mode %r: want lsgan or vanilla" % c["gan_mode"])
    if c.get("init_type", "pix2pixhd") != "pix2pixhd":
        raise ValueError("pix2pixhd init_type %r: the reference has only its weights_init ('pix2pixhd')" % c["init_type"])
    if c.get("load_features"):
        raise NotImplementedError("load_features: precomputed feature maps are not transcribed")
    use_features = bool(c.get("instance_feat") or c.get("label_feat"))
    g = dict(HD_G_DEFAULTS)
    g.update({k: v for k, v in c["G"].items() if v not in (None, "", 0) or k == "InputNC"})
    d = dict(HD_D_DEFAULTS)
    d.update({k: v for k, v in c["D"].items() if v not in (None, "", 0) or k in ("InputNC", "GetIntermFeat")})
    if g["Kind"] not in ("global", "local"):
        raise ValueError("pix2pixhd G kind %r: want global or local" % g["Kind"])
    if d["Kind"] != "multiscale":
        raise ValueError("pix2pixhd D kind %r: want multiscale" % d["Kind"])
    if g["PadType"] != "reflect":
        raise ValueError("pix2pixhd PadType %r: the reference's generators always reflect" % g["PadType"])
    c["G"], c["D"] = g, d

    label_nc = data["label_nc"]
    no_instance = data["no_instance"]
    for k, v in (("label_nc", label_nc), ("no_instance", no_instance)):
        if k in c and c[k] != v:
            raise ValueError("%s: case %r, data %r" % (k, c[k], v))
    no_ganFeat_loss = c.get("no_ganFeat_loss", not d["GetIntermFeat"])
    if no_ganFeat_loss == d["GetIntermFeat"]:
        raise ValueError("no_ganFeat_loss %r with D.GetIntermFeat %r (define_D gets not no_ganFeat_loss)"
                         % (no_ganFeat_loss, d["GetIntermFeat"]))
    input_nc = label_nc if label_nc != 0 else data["input_nc"]
    want_g_in = input_nc + (0 if no_instance else 1) + (c.get("feat_num", 3) if use_features else 0)
    want_d_in = input_nc + data["output_nc"] + (0 if no_instance else 1)
    if g["InputNC"] != want_g_in or d["InputNC"] != want_d_in or g["OutputNC"] != data["output_nc"]:
        raise ValueError("G InputNC/OutputNC %d/%d, D InputNC %d; want %d/%d, %d"
                         % (g["InputNC"], g["OutputNC"], d["InputNC"], want_g_in, data["output_nc"], want_d_in))
    # Pix2PixHDModel.initialize's define_G(netG_input_nc, output_nc, ngf, netG, n_downsample_global,
    # n_blocks_global, n_local_enhancers, n_blocks_local, norm) and define_D(netD_input_nc, ndf,
    # n_layers_D, norm, use_sigmoid, num_D, not no_ganFeat_loss), from the case's options: the nets
    # gogan's recipe derived must be these (see reference_net_options)
    m = c.get("model")
    if m is None:
        raise ValueError("the case has no \"model\" options")
    want = {"G": {"Kind": m["netG"], "InputNC": want_g_in, "OutputNC": m["output_nc"], "NGF": m["ngf"], "Norm": m["norm"],
                  "NDownsampleGlobal": c["n_downsample_global"], "NBlocksGlobal": c["n_blocks_global"],
                  "NLocalEnhancers": c["n_local_enhancers"], "NBlocksLocal": c["n_blocks_local"], "PadType": "reflect"},
            "D": {"Kind": "multiscale", "InputNC": want_d_in, "NDF": m["ndf"], "NLayers": m["n_layers_D"], "NumD": m["num_D"],
                  "Norm": m["norm"], "GetIntermFeat": not no_ganFeat_loss}}
    for role, got in (("G", g), ("D", d)):
        diff = {k: (got.get(k), v) for k, v in want[role].items() if got.get(k) != v}
        if diff:
            raise ValueError("%s: the case's network options differ from the reference's (got, want): %s" % (role, diff))
    g, d = want["G"], want["D"]
    c["G"], c["D"] = g, d

    no_lsgan = c["gan_mode"] == "vanilla"
    mode = c.get("intermfeat_sigmoid", "apply")
    if mode not in ("apply", "reference"):
        raise ValueError("intermfeat_sigmoid %r: want apply or reference" % mode)
    binding = c.get("optimizer_binding", "model")
    if binding not in ("model", "local"):
        raise ValueError("optimizer_binding %r: want model or local" % binding)
    opt = {
        "lr": c["lr"], "beta1": c["beta1"], "beta2": c["beta2"], "no_lsgan": no_lsgan,
        "lambda_feat": c.get("lambda_feat", 10.0), "label_nc": label_nc, "no_instance": no_instance,
        "niter_fix_global": c.get("niter_fix_global", 0),
        "n_local_enhancers": c.get("n_local_enhancers", g["NLocalEnhancers"]),
        "no_ganFeat_loss": no_ganFeat_loss, "no_vgg_loss": c.get("no_vgg_loss", False),
        "pool_size": c.get("pool_size", 0), "n_layers_D": c.get("n_layers_D", d["NLayers"]),
        "num_D": c.get("num_D", d["NumD"]), "niter": c.get("niter", 100), "niter_decay": c.get("niter_decay", 100),
        "sigmoid_last": no_lsgan and d["GetIntermFeat"] and mode == "apply",
        "instance_feat": bool(c.get("instance_feat")), "label_feat": bool(c.get("label_feat")),
        "feat_num": c.get("feat_num", 3), "nef": c.get("nef", 16), "n_downsample_E": c.get("n_downsample_E", 4),
        "output_nc": data["output_nc"], "norm": g["Norm"],
    }
    if use_features:
        e = c.get("E") or {}
        want = {"Kind": "encoder", "InputNC": opt["output_nc"], "OutputNC": opt["feat_num"], "NGF": opt["nef"],
                "NDownsampleGlobal": opt["n_downsample_E"], "Norm": opt["norm"]}
        if any(e.get(k) != v for k, v in want.items()):
            raise ValueError("E %r: want %r (define_G(output_nc, feat_num, nef, 'encoder', n_downsample_E, norm))" % (e, want))
    if opt["n_layers_D"] != d["NLayers"] or opt["num_D"] != d["NumD"]:
        raise ValueError("n_layers_D / num_D %d / %d, D has %d / %d" % (opt["n_layers_D"], opt["num_D"], d["NLayers"], d["NumD"]))
    if opt["sigmoid_last"]:
        print("note: %s: vanilla GAN loss with getIntermFeat: the reference's D drops its Sigmoid; applying it "
              "to each scale's last output (intermfeat_sigmoid=apply)" % c.get("name"), file=sys.stderr)
    out = {}

    netG, netD, netE = build_and_init_pix2pixhd(c, opt)
    out.update(state("init.G.", netG))
    out.update(state("init.D.", netD))
    load_weights(c, netG, netD)
    if netE is not None:
        out.update(state("init.E.", netE))
        w, _ = safetensors_torch.load(c["weights"])
        netE.load_state_dict({k[2:]: v for k, v in w.items() if k.startswith("E.")}, strict=True)

    vgg = None
    if not opt["no_vgg_loss"]:
        # Vgg19(): models.vgg19(pretrained=True).features, here loaded from the case's file
        vgg = reference_nets.Vgg19(reference_nets.load_vgg19_features(reference_nets.vgg19_features(), c["vgg_weights"]))

    model = Pix2PixHDModel()
    model.initialize(opt, netG, netD, vgg, netE)
    model.train()

    dopt = dict(data)
    dopt.update({"n_downsample_global": g["NDownsampleGlobal"], "netG": g["Kind"], "n_local_enhancers": g["NLocalEnhancers"]})
    random.seed(c["step_seed"])  # get_params draws from Python's random (crop position, flip)
    batches = hd_batches(dopt)
    if len(batches) < c["steps"]:
        raise ValueError("%d steps but %d batches" % (c["steps"], len(batches)))
    for b, batch in enumerate(batches):
        out["input.%d.A" % b] = batch["label"]
        out["input.%d.B" % b] = batch["image"]
        if not no_instance:
            out["input.%d.inst" % b] = model.get_edges(batch["inst"])
            if opt["instance_feat"]:  # the ids themselves, as gogan's batch holds them: high, low byte
                ids = batch["inst"].long()
                out["input.%d.inst_id" % b] = torch.cat((ids // 256, ids % 256), dim=1).float()

    # train.py: optimizer_G, optimizer_D = model.optimizer_G, model.optimizer_D before the loop
    # (binding "local", 14b3b3c) or model.module.optimizer_G at every use (binding "model", 2c0c4a2)
    optimizer_G, optimizer_D = model.optimizer_G, model.optimizer_D
    epoch_end_after = c.get("epoch_end_after")
    torch.manual_seed(c["step_seed"])
    random.seed(c.get("pool_seed", c["step_seed"]))  # fake_pool.query draws from Python's random
    for step in range(1, c["steps"] + 1):
        data_ = batches[step - 1]
        if binding == "model":
            optimizer_G, optimizer_D = model.optimizer_G, model.optimizer_D
        loss_dict = hd_train_step(model, optimizer_G, optimizer_D, data_)
        for name in model.loss_names:
            v = loss_dict[name]
            out["loss.%d.%s" % (step, name)] = torch.tensor([float(v)], dtype=torch.float32)

        if epoch_end_after is not None and step == epoch_end_after:
            epoch = 1
            ### instead of only training the local enhancer, train the entire network after certain iterations
            if (opt["niter_fix_global"] != 0) and (epoch == opt["niter_fix_global"]):
                model.update_fixed_params()
            ### linearly decay learning rate after certain iterations
            if epoch > opt["niter"]:
                model.update_learning_rate()
    if binding == "model":
        optimizer_G, optimizer_D = model.optimizer_G, model.optimizer_D

    out.update(state("final.G.", netG))
    out.update(state("final.D.", netD))
    if netE is not None:
        out.update(state("final.E.", netE))
    adam_moments("final.optG", optimizer_G, optimizer_G.param_groups[0]["params"], out)
    adam_moments("final.optD", optimizer_D, netD, out)
    for k, v in out.items():
        if v.is_floating_point() and v.dtype != torch.float32:
            out[k] = v.float()
    reference_nets.fast_save(c["out"], out)


def run_case(c):
    if c["recipe"] == "cyclegan":
        return run_cyclegan(c)
    if c["recipe"] == "pix2pixhd":
        return run_pix2pixhd(c)
    if c["recipe"] == "dcgan" and c.get("nz", c["G"]["NZ"]) != c["G"]["NZ"]:
        raise ValueError("nz %d != G.NZ %d" % (c["nz"], c["G"]["NZ"]))
    c.setdefault("nz", c["G"].get("NZ"))
    c.setdefault("beta2", 0.999)
    reference_net_options(c)
    out = {}

    netG, netD, fixed_noise = build_and_init(c)
    out.update(state("init.G.", netG))
    out.update(state("init.D.", netD))
    load_weights(c, netG, netD)
    netG.train()
    netD.train()

    data = c["data"]
    random.seed(c["step_seed"])  # only get_params draws from it; see the docstring
    if c["recipe"] == "dcgan":
        make = {"mnist": mnist_batches, "cifar10": cifar10_batches, "lsun": lsun_batches,
                "imagefolder": imagefolder_batches}.get(data["kind"])
        if make is None:
            raise ValueError("dcgan data kind %r: want mnist, cifar10, lsun or imagefolder" % data["kind"])
        batches = make(data)
        for b, real in enumerate(batches):
            out["input.%d.real" % b] = real
    elif c["recipe"] == "pix2pix":
        if data["kind"] != "aligned":
            raise ValueError("pix2pix data kind %r: want aligned" % data["kind"])
        batches = aligned_batches(data)
    elif c["recipe"] == "colorization":
        # ColorizationModel is Pix2PixModel with its visuals in RGB; its data set_defaults
        # dataset_mode colorization.
        if data["kind"] != "colorization":
            raise ValueError("colorization data kind %r: want colorization" % data["kind"])
        batches = colorization_batches(data)
    else:
        raise ValueError("recipe %r: want dcgan, pix2pix, colorization, cyclegan or pix2pixhd" % c["recipe"])
    if len(batches) < c["steps"]:
        raise ValueError("%d steps but %d batches" % (c["steps"], len(batches)))

    if c["recipe"] == "dcgan":
        if c["gan_mode"] == "vanilla":
            criterion = nn.BCELoss()
        elif c["gan_mode"] == "lsgan":
            criterion = nn.MSELoss()
        else:
            raise ValueError("dcgan gan_mode %r: want vanilla or lsgan" % c["gan_mode"])
        # setup optimizer
        optimizerD = torch.optim.Adam(netD.parameters(), lr=c["lr"], betas=(c["beta1"], c["beta2"]))
        optimizerG = torch.optim.Adam(netG.parameters(), lr=c["lr"], betas=(c["beta1"], c["beta2"]))
        every = c.get("fixed_noise_every")
        torch.manual_seed(c["step_seed"])
        for step in range(1, c["steps"] + 1):
            losses = dcgan_step(netG, netD, criterion, optimizerD, optimizerG, batches[step - 1], c["nz"])
            if every and (step - 1) % every == 0:
                netG(fixed_noise)  # `if i % 100 == 0: fake = netG(fixed_noise)` (train mode)
            for name, v in losses:
                out["loss.%d.%s" % (step, name)] = torch.tensor([v], dtype=torch.float32)
        optG, optD = optimizerG, optimizerD
    else:
        opt = dict(data)
        opt.update({k: c[k] for k in ("gan_mode", "lr", "beta1", "beta2", "lambda_L1", "lambda_gp")})
        model = Pix2PixModel(opt, netG, netD)
        for b, batch in enumerate(batches):
            model.set_input(batch)
            out["input.%d.A" % b] = model.real_A
            out["input.%d.B" % b] = model.real_B
        torch.manual_seed(c["step_seed"])
        for step in range(1, c["steps"] + 1):
            model.set_input(batches[step - 1])  # unpack data from dataset and apply preprocessing
            model.optimize_parameters()  # calculate loss functions, get gradients, update network weights
            for name, v in model.get_current_losses():
                out["loss.%d.%s" % (step, name)] = torch.tensor([v], dtype=torch.float32)
        optG, optD = model.optimizer_G, model.optimizer_D

    out.update(state("final.G.", netG))
    out.update(state("final.D.", netD))
    adam_moments("final.optG", optG, netG, out)
    adam_moments("final.optD", optD, netD, out)
    for k, v in out.items():
        if v.is_floating_point() and v.dtype != torch.float32:
            out[k] = v.float()
    reference_nets.fast_save(c["out"], out)


def main():
    torch.set_num_threads(int(os.environ.get("GOGAN_REF_THREADS", "1")))
    with open(sys.argv[1]) as f:
        cases = json.load(f)
    for c in cases:
        try:
            run_case(c)
        except Exception as e:
            raise RuntimeError("case %s: %s" % (c.get("name"), e)) from e


if __name__ == "__main__":
    main()
