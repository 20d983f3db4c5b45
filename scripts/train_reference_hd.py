"""NVIDIA pix2pixHD's train.py training run on the CPU, for gogan's whole-run parity test
(TestPix2PixHDIsTrainPyStepForStep): the steps, and the crops and flips the reference draws in its
DataLoader workers.

Usage: OPENBLAS_NUM_THREADS=1 /usr/bin/python3 scripts/train_reference_hd.py CASE.json

Written from NVIDIA/pix2pixHD at 14b3b3c (2024-09-30, the newest upstream commit; read with git
show from its mirror):

  - train.py: opt = TrainOptions().parse(); data_loader = CreateDataLoader(opt) (before the
    model); model = create_model(opt); then `for epoch in range(start_epoch, opt.niter +
    opt.niter_decay + 1)`: `for i, data in enumerate(dataset, start=epoch_iter)`: model(label,
    inst, image, feat, infer=save_fake) -> losses; torch.mean of each; loss_dict = dict(zip(
    loss_names, losses)); loss_D = (D_fake + D_real) * 0.5; loss_G = G_GAN + G_GAN_Feat + G_VGG
    (those present); optimizer_G.zero_grad(); loss_G.backward(); optimizer_G.step();
    optimizer_D.zero_grad(); loss_D.backward(); optimizer_D.step(); `if epoch_iter >=
    dataset_size: break` (after the epoch's last batch: the same batches as running the iterator
    out). End of epoch: update_fixed_params() when epoch == niter_fix_global (!= 0), then
    update_learning_rate() when epoch > niter. optimizer_G, optimizer_D are taken from the model
    once, before the loop (since b129d49; the case's "optimizer_binding" "model" takes them at
    every step instead, as before b129d49 and as gogan does: see parity_reference.py).
    continue_train, fp16 (apex), the visualizer, printing and saving are left out (they draw
    nothing); infer=save_fake only returns the fake image as well. One JSON line per step takes
    the printing's place.
  - data/data_loader.py, data/custom_dataset_data_loader.py: CreateDataset = AlignedDataset;
    torch.utils.data.DataLoader(dataset, batch_size=opt.batchSize, shuffle=not
    opt.serial_batches, num_workers=int(opt.nThreads)); len(data_loader) = min(len(dataset),
    max_dataset_size) (max_dataset_size inf here).
  - data/aligned_dataset.py AlignedDataset: initialize's folders ({phase}_A / {phase}_B with
    label_nc 0, else {phase}_label / {phase}_img; {phase}_inst unless no_instance), sorted
    make_dataset; __len__ = len(A_paths) // batchSize * batchSize (the sampler never draws the
    last len % batchSize files); __getitem__ is parity_reference.hd_aligned_item (get_params,
    get_transform with NEAREST and no normalisation for label and instance maps, * 255.0 for the
    label map).
  - data/image_folder.py make_dataset (os.walk, sorted; its IMG_EXTENSIONS, .tiff but no .tif).
  - data/base_dataset.py get_params / get_transform, models/pix2pixHD_model.py
    (Pix2PixHDModel.initialize's losses and optimizers, encode_input, forward, get_edges,
    update_fixed_params, update_learning_rate), models/networks.py (GANLoss, define_G, define_D,
    weights_init, nets, VGGLoss, Vgg19): reused from scripts/parity_reference.py and
    scripts/reference_nets.py (see their docstrings).
  - Pix2PixHDModel.initialize's draws from the CPU generator, in order: define_G (construction:
    every conv's reset_parameters; then apply(weights_init): normal_ on every conv weight),
    define_D (the same), with instance_feat or label_feat define_G(output_nc, feat_num, nef,
    'encoder', n_downsample_E, norm) (the same), then unless no_vgg_loss VGGLoss -> Vgg19() ->
    torchvision's models.vgg19(pretrained=True): the whole VGG19 built with init_weights=False
    (every conv's and the classifier's Linear layers' reset_parameters draw; no init after),
    then its weights loaded. Here that is torchvision.models.vgg19(init_weights=False) with
    the case's "vgg_weights" (a torchvision vgg19 state dict) loaded into its features.
  - Option defaults: options/base_options.py and options/train_options.py (see DEFAULTS).

Random streams, as in the reference: pix2pixHD never seeds; this script does
torch.manual_seed(seed) and random.seed(seed) first (gogan's seed). Each epoch, iter(DataLoader)
draws its workers' base seed from the main CPU generator, then RandomSampler draws its own seed
(neither with serial_batches). With nThreads > 0 each epoch's workers are new, worker w does
random.seed(base_seed + w) and torch.manual_seed(base_seed + w) and builds batches w, w + n, ...;
get_params' crop position and flip come from that worker's Python random. Nothing in a step
draws (no dropout in pix2pixHD's nets, pool_size 0), so the next epoch's base seed follows the
previous epoch's sampler seed.

Case (JSON object): mode (train | draws), dataroot, phase, seed, epochs (how many of train.py's
niter + niter_decay epochs to run; default all), batchSize, nThreads, serial_batches, loadSize,
fineSize, resize_or_crop, no_flip, label_nc, input_nc, output_nc, no_instance, netG (global |
local), ngf, n_downsample_global, n_blocks_global, n_local_enhancers, n_blocks_local, norm,
ndf, n_layers_D, num_D, no_ganFeat_loss, no_vgg_loss, vgg_weights (needed unless no_vgg_loss),
no_lsgan, lambda_feat, pool_size (0 only), lr, beta1, niter, niter_decay, niter_fix_global,
instance_feat, label_feat, feat_num, nef, n_downsample_E, optimizer_binding (local | model),
intermfeat_sigmoid (apply | reference: see parity_reference.py); absent keys take the
reference's defaults.

Output:
  - mode "train": one JSON object per step, loss_dict as floats (loss_names: G_GAN, G_GAN_Feat
    unless no_ganFeat_loss, G_VGG unless no_vgg_loss, D_real, D_fake).
  - mode "draws": no training (the nets are still built, so the first epoch's base seed is train
    mode's, and so are later epochs' as nothing in a step draws); per epoch one JSON line
    {"base_seed", "items": [{"index", "x", "y", "flip", "worker"} per item, in batch order]}.

Not modelled: CUDA (on a GPU the inits draw from the CUDA generator, not the CPU one),
DataParallel (model.module is the model here), fp16, continue_train / load_pretrain,
load_features, max_dataset_size, pool_size > 0, data_type 8/16.
"""
import json
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402
import torch.utils.data  # noqa: E402

import parity_reference  # noqa: E402
import reference_nets  # noqa: E402

# options/base_options.py, options/train_options.py
DEFAULTS = {
    "mode": "train",
    "phase": "train",
    "epochs": None,
    "batchSize": 1,
    "loadSize": 1024,
    "fineSize": 512,
    "label_nc": 35,
    "input_nc": 3,
    "output_nc": 3,
    "resize_or_crop": "scale_width",
    "serial_batches": False,
    "no_flip": False,
    "nThreads": 2,
    "netG": "global",
    "ngf": 64,
    "n_downsample_global": 4,
    "n_blocks_global": 9,
    "n_blocks_local": 3,
    "n_local_enhancers": 1,
    "niter_fix_global": 0,
    "no_instance": False,
    "instance_feat": False,
    "label_feat": False,
    "feat_num": 3,
    "nef": 16,
    "n_downsample_E": 4,
    "norm": "instance",
    "niter": 100,
    "niter_decay": 100,
    "beta1": 0.5,
    "lr": 0.0002,
    "num_D": 2,
    "n_layers_D": 3,
    "ndf": 64,
    "lambda_feat": 10.0,
    "no_ganFeat_loss": False,
    "no_vgg_loss": False,
    "no_lsgan": False,
    "pool_size": 0,
    "optimizer_binding": "local",
    "intermfeat_sigmoid": "apply",
}


def options(case):
    for k in ("dataroot", "seed"):
        if k not in case:
            raise ValueError("case needs %r" % k)
    unknown = set(case) - set(DEFAULTS) - {"dataroot", "seed", "vgg_weights"}
    if unknown:
        raise ValueError("unknown case keys %s" % sorted(unknown))
    opt = dict(DEFAULTS)
    opt.update(case)
    opt["beta2"] = 0.999  # betas=(opt.beta1, 0.999) in Pix2PixHDModel.initialize
    if opt["mode"] not in ("train", "draws"):
        raise ValueError("mode %r: want train or draws" % opt["mode"])
    if opt["optimizer_binding"] not in ("local", "model"):
        raise ValueError("optimizer_binding %r: want local or model" % opt["optimizer_binding"])
    if opt["intermfeat_sigmoid"] not in ("apply", "reference"):
        raise ValueError("intermfeat_sigmoid %r: want apply or reference" % opt["intermfeat_sigmoid"])
    if opt["netG"] not in ("global", "local"):
        raise ValueError("netG %r: want global or local" % opt["netG"])
    if not opt["no_vgg_loss"] and not opt.get("vgg_weights"):
        raise ValueError("the VGG loss needs vgg_weights (or no_vgg_loss)")
    # what parity_reference's Pix2PixHDModel reads under other names
    opt["sigmoid_last"] = opt["no_lsgan"] and not opt["no_ganFeat_loss"] and opt["intermfeat_sigmoid"] == "apply"
    return opt


# ---------------------------------------------------------------------------
# data/image_folder.py make_dataset

IMG_EXTENSIONS = [".jpg", ".JPG", ".jpeg", ".JPEG", ".png", ".PNG", ".ppm", ".PPM", ".bmp", ".BMP", ".tiff"]


def is_image_file(filename):
    return any(filename.endswith(extension) for extension in IMG_EXTENSIONS)


def make_dataset(dir):
    images = []
    assert os.path.isdir(dir), "%s is not a valid directory" % dir

    for root, _, fnames in sorted(os.walk(dir)):
        for fname in fnames:
            if is_image_file(fname):
                path = os.path.join(root, fname)
                images.append(path)

    return images


# ---------------------------------------------------------------------------
# data/aligned_dataset.py AlignedDataset (isTrain, no load_features)


def record_params():
    """Wraps parity_reference.hd_get_params (which hd_aligned_item calls) to keep the last draws."""
    inner = parity_reference.hd_get_params
    last = {}

    def hd_get_params(opt, size):
        p = inner(opt, size)
        last["params"] = p
        return p

    parity_reference.hd_get_params = hd_get_params
    return last


LAST_PARAMS = record_params()


class AlignedDataset(torch.utils.data.Dataset):
    def __init__(self, opt):
        self.opt = opt
        self.root = opt["dataroot"]

        ### input A (label maps)
        dir_A = "_A" if self.opt["label_nc"] == 0 else "_label"
        self.dir_A = os.path.join(opt["dataroot"], opt["phase"] + dir_A)
        self.A_paths = sorted(make_dataset(self.dir_A))

        ### input B (real images)
        dir_B = "_B" if self.opt["label_nc"] == 0 else "_img"
        self.dir_B = os.path.join(opt["dataroot"], opt["phase"] + dir_B)
        self.B_paths = sorted(make_dataset(self.dir_B))

        ### instance maps
        if not opt["no_instance"]:
            self.dir_inst = os.path.join(opt["dataroot"], opt["phase"] + "_inst")
            self.inst_paths = sorted(make_dataset(self.dir_inst))

        self.dataset_size = len(self.A_paths)

    def __getitem__(self, index):
        inst_path = None if self.opt["no_instance"] else self.inst_paths[index]
        item = parity_reference.hd_aligned_item(self.opt, self.A_paths[index], self.B_paths[index], inst_path)
        # added: what get_params drew, as a string so that default_collate passes it through
        p = LAST_PARAMS["params"]
        info = torch.utils.data.get_worker_info()
        item["draws"] = json.dumps({"index": int(index), "x": int(p["crop_pos"][0]), "y": int(p["crop_pos"][1]),
                                    "flip": bool(p["flip"]), "worker": None if info is None else info.id})
        return item

    def __len__(self):
        return len(self.A_paths) // self.opt["batchSize"] * self.opt["batchSize"]


# ---------------------------------------------------------------------------
# models/pix2pixHD_model.py Pix2PixHDModel.initialize's nets


def build_nets(opt):
    """define_G, define_D, (define_G 'encoder'), each ending in apply(weights_init), then Vgg19()."""
    input_nc = opt["label_nc"] if opt["label_nc"] != 0 else opt["input_nc"]
    use_features = opt["instance_feat"] or opt["label_feat"]
    netG_input_nc = input_nc
    if not opt["no_instance"]:
        netG_input_nc += 1
    if use_features:
        netG_input_nc += opt["feat_num"]
    netD_input_nc = input_nc + opt["output_nc"]
    if not opt["no_instance"]:
        netD_input_nc += 1
    c = {
        "seed": opt["seed"],
        "G": {"Kind": opt["netG"], "InputNC": netG_input_nc, "OutputNC": opt["output_nc"], "NGF": opt["ngf"],
              "NDownsampleGlobal": opt["n_downsample_global"], "NBlocksGlobal": opt["n_blocks_global"],
              "NLocalEnhancers": opt["n_local_enhancers"], "NBlocksLocal": opt["n_blocks_local"], "Norm": opt["norm"],
              "PadType": "reflect"},
        "D": {"InputNC": netD_input_nc, "NDF": opt["ndf"], "NLayers": opt["n_layers_D"], "Norm": opt["norm"],
              "NumD": opt["num_D"], "GetIntermFeat": not opt["no_ganFeat_loss"]},
    }
    # build_and_init_pix2pixhd starts with torch.manual_seed(seed): main() did that already, and
    # nothing drew since
    netG, netD, netE = parity_reference.build_and_init_pix2pixhd(c, opt)
    vgg = None
    if not opt["no_vgg_loss"]:
        # VGGLoss -> Vgg19(): models.vgg19(pretrained=True).features; pretrained sets init_weights=False
        import torchvision
        full = torchvision.models.vgg19(init_weights=False)
        features = reference_nets.load_vgg19_features(full.features, opt["vgg_weights"])
        vgg = reference_nets.Vgg19(features)
    return netG, netD, netE, vgg


# ---------------------------------------------------------------------------


def main():
    with open(sys.argv[1]) as f:
        opt = options(json.load(f))
    torch.set_num_threads(1)
    torch.manual_seed(opt["seed"])
    random.seed(opt["seed"])

    # data_loader = CreateDataLoader(opt) (draws nothing)
    dataset = AlignedDataset(opt)
    dataloader = torch.utils.data.DataLoader(dataset, batch_size=opt["batchSize"],
                                             shuffle=not opt["serial_batches"],
                                             num_workers=int(opt["nThreads"]))
    dataset_size = len(dataset)  # len(data_loader): min(len(dataset), max_dataset_size)

    # model = create_model(opt)
    netG, netD, netE, vgg = build_nets(opt)
    model = parity_reference.Pix2PixHDModel()
    model.initialize(opt, netG, netD, vgg, netE)
    model.train()

    last_epoch = opt["niter"] + opt["niter_decay"]
    if opt["epochs"] is not None:
        last_epoch = min(last_epoch, opt["epochs"])

    if opt["mode"] == "draws":
        for epoch in range(1, last_epoch + 1):
            items = []
            it = iter(dataloader)
            for data in it:
                items.extend(json.loads(s) for s in data["draws"])
            print(json.dumps({"base_seed": it._base_seed, "items": items}), flush=True)
        return

    optimizer_G, optimizer_D = model.optimizer_G, model.optimizer_D
    for epoch in range(1, last_epoch + 1):
        epoch_iter = 0
        for i, data in enumerate(dataloader, start=epoch_iter):
            epoch_iter += opt["batchSize"]
            if opt["optimizer_binding"] == "model":
                optimizer_G, optimizer_D = model.optimizer_G, model.optimizer_D

            loss_dict = parity_reference.hd_train_step(model, optimizer_G, optimizer_D, data)

            print(json.dumps({k: float(v) for k, v in loss_dict.items()}), flush=True)

            if epoch_iter >= dataset_size:
                break

        ### instead of only training the local enhancer, train the entire network after certain iterations
        if (opt["niter_fix_global"] != 0) and (epoch == opt["niter_fix_global"]):
            model.update_fixed_params()

        ### linearly decay learning rate after certain iterations
        if epoch > opt["niter"]:
            model.update_learning_rate()


if __name__ == "__main__":
    main()
