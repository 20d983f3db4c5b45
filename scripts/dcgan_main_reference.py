"""pytorch/examples dcgan/main.py's training run, for gogan's whole-run DCGAN parity test.

Usage: dcgan_main_reference.py DATAROOT SEED BATCH IMAGESIZE NGF NDF EPOCHS WORKERS [OUTF]

Written from main.py (13caa07): random.seed and torch.manual_seed(SEED);
dset.ImageFolder(DATAROOT) through Resize, CenterCrop, ToTensor and Normalize(0.5, 0.5);
torch.utils.data.DataLoader(batch_size=BATCH, shuffle=True, num_workers=WORKERS) (its
iterator takes a base seed from the CPU generator each epoch, RandomSampler another for its
randperm); Generator and Discriminator (nz 100, 3 channels, 64x64; scripts/reference_nets.py)
with weights_init, G first; BCELoss; fixed_noise of BATCH rows drawn after both networks;
Adam(lr 0.0002, betas (0.5, 0.999)) for each; then per batch: D on the real batch, noise,
D on G(noise).detach(), optimizerD.step(), G through D, optimizerG.step(), and at i % 100 == 0
netG(fixed_noise) in train mode (main.py's sample grid, which moves G's BatchNorm statistics)
and, given OUTF, vutils.save_image(real_cpu, OUTF/real_samples.png, normalize=True).
Prints one JSON object per step: Loss_D, Loss_G, D_x, D_G_z1, D_G_z2.
"""
import json
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.optim as optim  # noqa: E402
import torchvision.datasets as dset  # noqa: E402
import torchvision.transforms as transforms  # noqa: E402
import torchvision.utils as vutils  # noqa: E402

import parity_reference  # noqa: E402
import reference_nets  # noqa: E402


def main():
    dataroot = sys.argv[1]
    seed, batch, size, ngf, ndf, epochs, workers = (int(a) for a in sys.argv[2:9])
    outf = sys.argv[9] if len(sys.argv) > 9 else None
    torch.set_num_threads(1)
    random.seed(seed)
    torch.manual_seed(seed)
    dataset = dset.ImageFolder(root=dataroot, transform=transforms.Compose([
        transforms.Resize(size),
        transforms.CenterCrop(size),
        transforms.ToTensor(),
        transforms.Normalize((0.5, 0.5, 0.5), (0.5, 0.5, 0.5)),
    ]))
    dataloader = torch.utils.data.DataLoader(dataset, batch_size=batch, shuffle=True, num_workers=workers)
    nz = 100
    netG = reference_nets.Generator(0, nz, ngf, 3)
    netG.apply(reference_nets.weights_init)
    netD = reference_nets.Discriminator(0, ndf, 3)
    netD.apply(reference_nets.weights_init)
    criterion = nn.BCELoss()
    fixed_noise = torch.randn(batch, nz, 1, 1)
    optimizerD = optim.Adam(netD.parameters(), lr=0.0002, betas=(0.5, 0.999))
    optimizerG = optim.Adam(netG.parameters(), lr=0.0002, betas=(0.5, 0.999))
    for epoch in range(epochs):
        for i, data in enumerate(dataloader, 0):
            # main.py's step (parity_reference.dcgan_step is its transcription)
            losses = dict(parity_reference.dcgan_step(netG, netD, criterion, optimizerD, optimizerG, data[0], nz))
            print(json.dumps({k: float(v) for k, v in losses.items()}))
            if i % 100 == 0:
                if outf:
                    vutils.save_image(data[0], '%s/real_samples.png' % outf, normalize=True)
                netG(fixed_noise)


if __name__ == "__main__":
    main()
