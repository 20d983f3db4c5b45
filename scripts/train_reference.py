"""pytorch-CycleGAN-and-pix2pix train.py's training run (pix2pix, colorization and cycle_gan, on the
CPU), for gogan's whole-run parity test: the steps, and the data draws the reference makes in its
DataLoader workers.

Usage: OPENBLAS_NUM_THREADS=1 /usr/bin/python3 scripts/train_reference.py CASE.json

Written from junyanz/pytorch-CycleGAN-and-pix2pix at 2a7afba (2025-08-06, "fix bugs (when use
wandb without torchrun)"; read with git show from a fork's mirror that carries upstream's history):

  - train.py: create_dataset(opt) (before the model), create_model(opt), model.setup(opt), then
    for each epoch: dataset.set_epoch(epoch) (only with a DistributedSampler, i.e. torchrun; not
    here), `for i, data in enumerate(dataset)`: model.set_input(data); model.optimize_parameters();
    and model.update_learning_rate() at the end of the epoch. The visualizer, printing and saving
    draw nothing and are left out; one JSON line per step takes their place.
  - data/__init__.py: CustomDatasetDataLoader = torch.utils.data.DataLoader(dataset,
    batch_size=opt.batch_size, shuffle=not opt.serial_batches, sampler=None,
    num_workers=int(opt.num_threads)) (no LOCAL_RANK), iterated by its __iter__ generator (the
    max_dataset_size break never fires: not modelled, max_dataset_size is inf).
  - data/image_folder.py: make_dataset (Path.rglob("*"), sorted, IMG_EXTENSIONS).
  - data/aligned_dataset.py: AlignedDataset (root/phase, sorted paths, assert load_size >=
    crop_size, input_nc/output_nc after the direction swap; __getitem__: open, convert RGB, split
    at w2 = int(w / 2), get_params(opt, A.size), one get_transform per side with those params).
  - data/colorization_dataset.py: ColorizationDataset (root/phase, sorted; input_nc 1, output_nc
    2, AtoB; get_transform(opt, convert=False), i.e. RandomCrop and RandomHorizontalFlip, then
    skimage's rgb2lab: parity_reference.colorization_item), and models/colorization_model.py
    (a Pix2PixModel: its steps are pix2pix's).
  - data/unaligned_dataset.py: UnalignedDataset (root/phaseA, root/phaseB, sorted; transform_A /
    transform_B = get_transform(opt, grayscale=...) without params, i.e. torchvision RandomCrop and
    RandomHorizontalFlip; __getitem__: A_paths[index % A_size], index_B = index % B_size with
    serial_batches, else random.randint(0, B_size - 1); transform_A(A) then transform_B(B));
    len = max(A_size, B_size).
  - data/base_dataset.py get_params / get_transform / __scale_width / __crop / __flip /
    __make_power_2, models/pix2pix_model.py, models/cycle_gan_model.py, util/image_pool.py,
    models/networks.py (GANLoss, nets, init_weights): reused from scripts/parity_reference.py and
    scripts/reference_nets.py (see their docstrings for their sources).
  - models/base_model.py setup(): init_net on every net in model_names order (init_order "setup");
    before c95974f define_G/define_D initialised each net as it was built (init_order "define",
    the default here, as in parity_reference.build_and_init / build_and_init_cyclegan).
    setup() also makes the schedulers: networks.get_scheduler (lr_policy "linear": LambdaLR,
    lr_l = 1 - max(0, epoch + epoch_count - n_epochs) / (n_epochs_decay + 1); "step": StepLR by
    0.1 every lr_decay_iters epochs; "cosine": CosineAnnealingLR over n_epochs; "plateau":
    ReduceLROnPlateau stepped with BaseModel's metric, 0), stepped by update_learning_rate() after
    every epoch; the case's lr_policy / n_epochs / n_epochs_decay / epoch_count / lr_decay_iters
    (reference defaults linear / 100 / 100 / 1 / 50) feed it.
  - Option defaults: options/base_options.py, options/train_options.py, and the models'
    modify_commandline_options (pix2pix: norm batch, netG unet_256, dataset_mode aligned,
    pool_size 0, gan_mode vanilla, lambda_L1 100; cycle_gan: no_dropout True, lambda_A 10,
    lambda_B 10, lambda_identity 0.5, base netG resnet_9blocks, norm instance, train gan_mode
    lsgan, pool_size 50). Both: netD basic, n_layers_D 3, ngf 64, ndf 64, init normal 0.02,
    direction AtoB, num_threads 4, batch_size 1, load_size 286, crop_size 256, preprocess
    resize_and_crop, lr 0.0002, beta1 0.5 (beta2 hard-coded 0.999).

Random streams, as in the reference: the reference never seeds; this script does
torch.manual_seed(seed) and random.seed(seed) first (gogan's seed), then builds and initialises
the nets (every nn.Conv2d's own reset_parameters draws at construction, then init_weights), then
makes the dataset and DataLoader (these draw nothing) and the model's losses and Adam optimizers
(nothing). Each epoch, iter(DataLoader) draws the workers' base seed from the main CPU generator
(torch 1.13 _BaseDataLoaderIter.__init__), then RandomSampler draws its own seed at the first
batch (randperm from a private generator); neither with serial_batches. With num_workers > 0 the
DataLoader is real: each epoch's workers are new (persistent_workers False), worker w does
random.seed(base_seed + w) and torch.manual_seed(base_seed + w), and takes batches w, w + n,
w + 2n, ...; __getitem__'s Python random (get_params, index_B) and torch (RandomCrop,
RandomHorizontalFlip) draws come from that worker's streams. With num_workers 0 they come from
the main process's streams, made lazily at each next(), i.e. after the previous step's draws
(Dropout from torch, ImagePool from Python's random).

Case (JSON object): model (pix2pix | colorization | cycle_gan), mode (train | draws; draws not
for colorization), dataroot, phase, seed,
epochs (default 1), batch_size, num_threads, serial_batches, load_size, crop_size, preprocess,
no_flip, direction, input_nc, output_nc, netG, netD, n_layers_D, ngf, ndf, norm, no_dropout,
init_type, init_gain, init_order (define | setup), gan_mode, lr, beta1, lambda_L1 (pix2pix),
lambda_A, lambda_B, lambda_identity, pool_size (cycle_gan), lr_policy, n_epochs, n_epochs_decay,
epoch_count, lr_decay_iters (the lr schedule); absent keys take the reference's defaults for the model.

Output:
  - mode "train": one JSON object per step, the losses as model.get_current_losses() names them
    (pix2pix: G_GAN, G_L1, D_real, D_fake; cycle_gan: D_A, G_A, cycle_A, idt_A, D_B, G_B,
    cycle_B, idt_B), as floats.
  - mode "draws": no training. The nets are still built and initialised (so the first epoch's
    base seed is train mode's); per epoch one JSON line: {"base_seed": the DataLoader iterator's
    _base_seed, "items": a list, in batch order (items in batch order), of each item's draws
    as its __getitem__ made them, plus "worker" (the DataLoader
    worker id, null in the main process): aligned {"index", "x", "y", "flip", "worker"};
    unaligned {"index", "index_B", "A": [i (row), j (col)] or null when RandomCrop drew nothing,
    "A_flip": bool or null without RandomHorizontalFlip, "B", "B_flip", "worker"}.
    Epoch 2 onward (and every item with num_workers 0) matches train mode only when the training
    steps draw nothing from the main streams: pix2pix's U-Net Dropout (no_dropout False, the
    pix2pix default) draws from the CPU generator in every step here, which moves the next
    epoch's base seed; ImagePool (pool_size > 0) draws from Python's random, which only the
    num_workers 0 items share.

Not modelled: CUDA (on a GPU the reference's init_net moves each net to cuda:0 before
init_weights, so the init draws and Dropout come from the CUDA generator and leave the CPU
generator, and so the DataLoader seeds, where construction left them; here all is on the CPU);
DDP / DistributedSampler; max_dataset_size; continue_train / loading; the visualizer, wandb, saving. gan_mode wgangp for pix2pix gets parity_reference's added
gradient penalty (lambda_gp, default 10; upstream pix2pix has none), which draws torch.rand.
"""
import json
import os
import random
import sys
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402
import torch.utils.data  # noqa: E402
import torchvision.transforms as transforms  # noqa: E402
import torchvision.transforms.functional as TF  # noqa: E402
from PIL import Image  # noqa: E402

import parity_reference  # noqa: E402

# ---------------------------------------------------------------------------
# options: base_options.py / train_options.py defaults, then the model's set_defaults

COMMON_DEFAULTS = {
    "mode": "train",
    "phase": "train",
    "epochs": 1,
    "input_nc": 3,
    "output_nc": 3,
    "ngf": 64,
    "ndf": 64,
    "netD": "basic",
    "n_layers_D": 3,
    "init_type": "normal",
    "init_gain": 0.02,
    "init_order": "define",
    "direction": "AtoB",
    "serial_batches": False,
    "num_threads": 4,
    "batch_size": 1,
    "load_size": 286,
    "crop_size": 256,
    "preprocess": "resize_and_crop",
    "no_flip": False,
    "lr": 0.0002,
    "beta1": 0.5,
    "n_epochs": 100,
    "n_epochs_decay": 100,
    "epoch_count": 1,
    "lr_policy": "linear",
    "lr_decay_iters": 50,
}
MODEL_DEFAULTS = {
    "pix2pix": {"netG": "unet_256", "norm": "batch", "no_dropout": False, "gan_mode": "vanilla",
                "pool_size": 0, "lambda_L1": 100.0, "lambda_gp": 10.0},
    "cycle_gan": {"netG": "resnet_9blocks", "norm": "instance", "no_dropout": True, "gan_mode": "lsgan",
                  "pool_size": 50, "lambda_A": 10.0, "lambda_B": 10.0, "lambda_identity": 0.5},
}
# colorization_model.py: pix2pix's defaults, dataset_mode colorization, whose
# modify_commandline_options sets input_nc 1, output_nc 2, direction AtoB.
MODEL_DEFAULTS["colorization"] = dict(MODEL_DEFAULTS["pix2pix"], input_nc=1, output_nc=2, direction="AtoB")


def options(case):
    model = case.get("model")
    if model not in MODEL_DEFAULTS:
        raise ValueError("model %r: want pix2pix, colorization or cycle_gan" % model)
    for k in ("dataroot", "seed"):
        if k not in case:
            raise ValueError("case needs %r" % k)
    opt = dict(COMMON_DEFAULTS)
    opt.update(MODEL_DEFAULTS[model])
    opt.update(case)
    opt["beta2"] = 0.999  # betas=(opt.beta1, 0.999) in both models
    if opt["mode"] not in ("train", "draws"):
        raise ValueError("mode %r: want train or draws" % opt["mode"])
    if opt["mode"] == "draws" and model == "colorization":
        raise ValueError("draws mode: pix2pix or cycle_gan")
    return opt


# ---------------------------------------------------------------------------
# data/image_folder.py make_dataset

IMG_EXTENSIONS = [".jpg", ".JPG", ".jpeg", ".JPEG", ".png", ".PNG", ".ppm", ".PPM", ".bmp", ".BMP",
                  ".tif", ".TIF", ".tiff", ".TIFF"]


def is_image_file(filename):
    return any(filename.endswith(extension) for extension in IMG_EXTENSIONS)


def make_dataset(dir, max_dataset_size=float("inf")):
    images = []
    dir_path = Path(dir)
    assert dir_path.is_dir(), f"{dir} is not a valid directory"
    for path in sorted(dir_path.rglob("*")):
        if path.is_file() and is_image_file(path.name):
            images.append(str(path))
    return images[: min(max_dataset_size, len(images))]


def worker_id():
    info = torch.utils.data.get_worker_info()
    return None if info is None else info.id


# ---------------------------------------------------------------------------
# data/aligned_dataset.py AlignedDataset


class AlignedDataset(torch.utils.data.Dataset):
    def __init__(self, opt):
        self.opt = opt
        self.dir_AB = os.path.join(opt["dataroot"], opt["phase"])  # get the image directory
        self.AB_paths = sorted(make_dataset(self.dir_AB))  # get image paths
        assert self.opt["load_size"] >= self.opt["crop_size"]  # crop_size should be smaller than the size of loaded image
        self.input_nc = self.opt["output_nc"] if self.opt["direction"] == "BtoA" else self.opt["input_nc"]
        self.output_nc = self.opt["input_nc"] if self.opt["direction"] == "BtoA" else self.opt["output_nc"]

    def __getitem__(self, index):
        # read a image given a random integer index
        AB_path = self.AB_paths[index]
        AB = Image.open(AB_path).convert("RGB")
        # split AB image into A and B
        w, h = AB.size
        w2 = int(w / 2)
        A = AB.crop((0, 0, w2, h))
        B = AB.crop((w2, 0, w, h))

        # apply the same transform to both A and B
        transform_params = parity_reference.get_params(self.opt, A.size)
        A_transform = parity_reference.get_transform(self.opt, transform_params, grayscale=(self.input_nc == 1))
        B_transform = parity_reference.get_transform(self.opt, transform_params, grayscale=(self.output_nc == 1))

        A = A_transform(A)
        B = B_transform(B)

        # added: what this item drew (get_params' Python random draws), as a string so that
        # default_collate passes it through
        x, y = transform_params["crop_pos"]
        draws = {"index": int(index), "x": int(x), "y": int(y), "flip": bool(transform_params["flip"]),
                 "worker": worker_id()}
        return {"A": A, "B": B, "A_paths": AB_path, "B_paths": AB_path, "draws": json.dumps(draws)}

    def __len__(self):
        return len(self.AB_paths)


# ---------------------------------------------------------------------------
# data/unaligned_dataset.py UnalignedDataset, with torchvision's RandomCrop / RandomHorizontalFlip
# recording what they drew (same calls, same order)


class RecordingRandomCrop(transforms.RandomCrop):
    """transforms.RandomCrop whose forward (torchvision's, unchanged) calls self.get_params(img,
    self.size): this one calls RandomCrop.get_params and records (i, j), or None when it returned
    without drawing (image already crop size)."""

    def get_params(self, img, output_size):
        i, j, h, w = transforms.RandomCrop.get_params(img, output_size)
        _, ih, iw = TF.get_dimensions(img)
        th, tw = output_size
        self.last = None if (iw == tw and ih == th) else [int(i), int(j)]
        return i, j, h, w


class RecordingRandomHorizontalFlip(transforms.RandomHorizontalFlip):
    """transforms.RandomHorizontalFlip.forward (torchvision 0.14) with the outcome recorded."""

    def forward(self, img):
        flip = bool(torch.rand(1) < self.p)
        self.last = flip
        if flip:
            return TF.hflip(img)
        return img


def instrument(compose):
    """Swap the class of compose's RandomCrop / RandomHorizontalFlip (same attributes, same draws)."""
    crop = flip = None
    for t in compose.transforms:
        if type(t) is transforms.RandomCrop:
            t.__class__ = RecordingRandomCrop
            crop = t
        elif type(t) is transforms.RandomHorizontalFlip:
            t.__class__ = RecordingRandomHorizontalFlip
            flip = t
    return crop, flip


def run_recorded(transform, crop, flip, img):
    for t in (crop, flip):
        if t is not None:
            t.last = None
    out = transform(img)
    return out, (crop.last if crop is not None else None), (flip.last if flip is not None else None)


class UnalignedDataset(torch.utils.data.Dataset):
    def __init__(self, opt):
        self.opt = opt
        self.dir_A = os.path.join(opt["dataroot"], opt["phase"] + "A")  # create a path '/path/to/data/trainA'
        self.dir_B = os.path.join(opt["dataroot"], opt["phase"] + "B")  # create a path '/path/to/data/trainB'
        self.A_paths = sorted(make_dataset(self.dir_A))  # load images from '/path/to/data/trainA'
        self.B_paths = sorted(make_dataset(self.dir_B))  # load images from '/path/to/data/trainB'
        self.A_size = len(self.A_paths)  # get the size of dataset A
        self.B_size = len(self.B_paths)  # get the size of dataset B
        # transform_A / transform_B with the BtoA channel swap
        self.transform_A, self.transform_B = parity_reference.unaligned_transforms(opt)
        self.crop_A, self.flip_A = instrument(self.transform_A)
        self.crop_B, self.flip_B = instrument(self.transform_B)

    def __getitem__(self, index):
        A_path = self.A_paths[index % self.A_size]  # make sure index is within then range
        if self.opt["serial_batches"]:  # make sure index is within then range
            index_B = index % self.B_size
        else:  # randomize the index for domain B to avoid fixed pairs.
            index_B = random.randint(0, self.B_size - 1)
        B_path = self.B_paths[index_B]
        A_img = Image.open(A_path).convert("RGB")
        B_img = Image.open(B_path).convert("RGB")
        # apply image transformation
        A, A_crop, A_flip = run_recorded(self.transform_A, self.crop_A, self.flip_A, A_img)
        B, B_crop, B_flip = run_recorded(self.transform_B, self.crop_B, self.flip_B, B_img)

        draws = {"index": int(index), "index_B": int(index_B), "A": A_crop, "A_flip": A_flip,
                 "B": B_crop, "B_flip": B_flip, "worker": worker_id()}
        return {"A": A, "B": B, "A_paths": A_path, "B_paths": B_path, "draws": json.dumps(draws)}

    def __len__(self):
        return max(self.A_size, self.B_size)


# ---------------------------------------------------------------------------
# data/colorization_dataset.py ColorizationDataset


class ColorizationDataset(torch.utils.data.Dataset):
    def __init__(self, opt):
        self.opt = opt
        self.dir = os.path.join(opt["dataroot"], opt["phase"])
        self.AB_paths = sorted(make_dataset(self.dir))
        assert opt["input_nc"] == 1 and opt["output_nc"] == 2 and opt["direction"] == "AtoB"

    def __getitem__(self, index):
        # get_transform(self.opt, convert=False) (RandomCrop, RandomHorizontalFlip), RGB -> Lab
        return parity_reference.colorization_item(self.opt, self.AB_paths[index])

    def __len__(self):
        return len(self.AB_paths)


# ---------------------------------------------------------------------------
# nets: pix2pix_model.py / cycle_gan_model.py define_G / define_D calls


def g_opts(opt, input_nc, output_nc):
    return {"Kind": opt["netG"], "InputNC": input_nc, "OutputNC": output_nc, "NGF": opt["ngf"],
            "Norm": opt["norm"], "Dropout": not opt["no_dropout"], "PadType": "reflect"}


def d_opts(opt, input_nc):
    return {"Kind": opt["netD"], "InputNC": input_nc, "NDF": opt["ndf"], "NLayers": opt["n_layers_D"],
            "Norm": opt["norm"]}


def build_nets(opt):
    """torch.manual_seed(seed), then the nets built and initialised in init_order (parity_reference)."""
    inc, onc = opt["input_nc"], opt["output_nc"]
    c = {"seed": opt["seed"], "init_order": opt["init_order"], "init_type": opt["init_type"],
         "init_gain": opt["init_gain"], "recipe": "pix2pix" if opt["model"] == "colorization" else opt["model"]}
    if opt["model"] in ("pix2pix", "colorization"):  # ColorizationModel is a Pix2PixModel
        # define_G(input_nc, output_nc, ...); define_D(input_nc + output_nc, ...)
        c["G"] = g_opts(opt, inc, onc)
        c["D"] = d_opts(opt, inc + onc)
        netG, netD, _ = parity_reference.build_and_init(c)
        return {"G": netG, "D": netD}
    # G_A: input_nc -> output_nc, G_B: output_nc -> input_nc, D_A on output_nc, D_B on input_nc
    c["G_A"] = g_opts(opt, inc, onc)
    c["G_B"] = g_opts(opt, onc, inc)
    c["D_A"] = d_opts(opt, onc)
    c["D_B"] = d_opts(opt, inc)
    return parity_reference.build_and_init_cyclegan(c)


def make_model(opt, nets):
    if opt["model"] in ("pix2pix", "colorization"):
        model = parity_reference.Pix2PixModel(opt, nets["G"], nets["D"])
        optimizers = [model.optimizer_G, model.optimizer_D]
    else:
        if opt["gan_mode"] not in ("lsgan", "vanilla"):
            raise ValueError("cycle_gan gan_mode %r: want lsgan or vanilla" % opt["gan_mode"])
        model = parity_reference.CycleGANModel(opt, nets["G_A"], nets["G_B"], nets["D_A"], nets["D_B"])
        optimizers = [model.optimizer_G, model.optimizer_D]

    # BaseModel.setup: schedulers = [networks.get_scheduler(optimizer, opt) for optimizer in self.optimizers]
    return model, [get_scheduler(o, opt) for o in optimizers]


def get_scheduler(optimizer, opt):
    """models/networks.py get_scheduler."""
    lr_scheduler = torch.optim.lr_scheduler
    if opt["lr_policy"] == "linear":
        def lambda_rule(epoch):
            lr_l = 1.0 - max(0, epoch + opt["epoch_count"] - opt["n_epochs"]) / float(opt["n_epochs_decay"] + 1)
            return lr_l
        scheduler = lr_scheduler.LambdaLR(optimizer, lr_lambda=lambda_rule)
    elif opt["lr_policy"] == "step":
        scheduler = lr_scheduler.StepLR(optimizer, step_size=opt["lr_decay_iters"], gamma=0.1)
    elif opt["lr_policy"] == "plateau":
        scheduler = lr_scheduler.ReduceLROnPlateau(optimizer, mode="min", factor=0.2, threshold=0.01, patience=5)
    elif opt["lr_policy"] == "cosine":
        scheduler = lr_scheduler.CosineAnnealingLR(optimizer, T_max=opt["n_epochs"], eta_min=0)
    else:
        return NotImplementedError("learning rate policy [%s] is not implemented", opt["lr_policy"])
    return scheduler


# ---------------------------------------------------------------------------


def main():
    with open(sys.argv[1]) as f:
        opt = options(json.load(f))
    torch.set_num_threads(1)
    torch.manual_seed(opt["seed"])
    random.seed(opt["seed"])

    # model = create_model(opt); model.setup(opt): the nets (the only generator draws before the first epoch)
    nets = build_nets(opt)
    for net in nets.values():
        net.train()

    # dataset = create_dataset(opt) (train.py makes it first; it draws nothing)
    dataset = {"pix2pix": AlignedDataset, "colorization": ColorizationDataset, "cycle_gan": UnalignedDataset}[opt["model"]](opt)
    dataloader = torch.utils.data.DataLoader(dataset, batch_size=opt["batch_size"],
                                             shuffle=not opt["serial_batches"],
                                             num_workers=int(opt["num_threads"]))

    if opt["mode"] == "draws":
        for epoch in range(opt["epochs"]):
            items = []
            it = iter(dataloader)
            for i, data in enumerate(it):
                items.extend(json.loads(s) for s in data["draws"])
            # the base seed the iterator drew, that its workers were seeded from
            print(json.dumps({"base_seed": it._base_seed, "items": items}), flush=True)
        return

    model, schedulers = make_model(opt, nets)
    for epoch in range(opt["epoch_count"], opt["epoch_count"] + opt["epochs"]):
        for i, data in enumerate(dataloader):  # inner loop within one epoch
            model.set_input(data)  # unpack data from dataset and apply preprocessing
            model.optimize_parameters()  # calculate loss functions, get gradients, update network weights
            print(json.dumps({k: float(v) for k, v in model.get_current_losses()}), flush=True)
        # model.update_learning_rate() (base_model.py): plateau steps with self.metric, which
        # BaseModel.__init__ sets to 0 and no model changes
        for scheduler in schedulers:
            if opt["lr_policy"] == "plateau":
                scheduler.step(0)
            else:
                scheduler.step()


if __name__ == "__main__":
    main()
