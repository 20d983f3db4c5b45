"""Reference networks for gogan's nets/ tests, written from their published definitions.

Usage: reference_nets.py CASES.json

  - DCGAN: pytorch/examples dcgan/main.py (Generator, Discriminator, weights_init), which
    works at 64x64 only; DCGANGenerator/DCGANDiscriminator extend it to 32, 128 and 256
    the way gogan does (one stage fewer or more, the channel multiplier halving per stage)
    and are the published nets at 64 (checked below).
  - pix2pix / CycleGAN: junyanz/pytorch-CycleGAN-and-pix2pix models/networks.py
    (get_norm_layer, init_weights, ResnetGenerator, ResnetBlock, UnetGenerator,
    UnetSkipConnectionBlock, NLayerDiscriminator, PixelDiscriminator, define_G, define_D).
  - pix2pixHD: NVIDIA/pix2pixHD models/networks.py [14b3b3c] (MultiscaleDiscriminator and its own
    NLayerDiscriminator, padw = ceil((4-1)/2) = 2, every conv with a bias; weights_init, define_G,
    define_D, GlobalGenerator, LocalEnhancer, ResnetBlock (HDResnetBlock here), Encoder (with its
    instance-wise average pooling, for the recipe's parity test), Vgg19). Options
    by build(): G Kind "global" / "local" (InputNC, OutputNC, NGF, Norm, NDownsampleGlobal,
    NBlocksGlobal, NLocalEnhancers, NBlocksLocal, PadType), D Kind "multiscale" (optional
    UseSigmoid), role "VGG" Kind "vgg19" (Vgg19Interop: torchvision's features.N keys of the
    first 30 layers, output the five slices); init kind "pix2pixhd" is its weights_init.

The Go test (nets/interop_test.go) writes each network's gogan weights and an input; for
each case this script builds the reference network, loads gogan's weights with
load_state_dict(strict=True), runs it in eval mode and then in train mode, and writes the
outputs and the buffers the train-mode pass updated. It then builds a PyTorch-initialised
network (seeded), writes its state dict and its outputs the same way, for the Go side to
load and compare. Init checks apply init_weights / weights_init after a seed and write
the state dict, for gogan's Init to reproduce under the same seed. The case's meta.json
also holds every module's output shape in an eval forward of the input (forward hooks on a
copy whose shared modules are one per place), for gogan's layer table.

Nothing here is pasted from gogan; only the safetensors files connect the two.
"""
import copy
import ctypes
import functools
import json
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
from torch.nn import init  # noqa: E402

import safetensors_torch  # noqa: E402

# ---------------------------------------------------------------------------
# pytorch/examples dcgan/main.py (module-level nz, ngf, ndf, nc there; arguments here)


class Generator(nn.Module):
    def __init__(self, ngpu, nz, ngf, nc):
        super(Generator, self).__init__()
        self.ngpu = ngpu
        self.main = nn.Sequential(
            # input is Z, going into a convolution
            nn.ConvTranspose2d(nz, ngf * 8, 4, 1, 0, bias=False),
            nn.BatchNorm2d(ngf * 8),
            nn.ReLU(True),
            # state size. (ngf*8) x 4 x 4
            nn.ConvTranspose2d(ngf * 8, ngf * 4, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf * 4),
            nn.ReLU(True),
            # state size. (ngf*4) x 8 x 8
            nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf * 2),
            nn.ReLU(True),
            # state size. (ngf*2) x 16 x 16
            nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf),
            nn.ReLU(True),
            # state size. (ngf) x 32 x 32
            nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False),
            nn.Tanh()
            # state size. (nc) x 64 x 64
        )

    def forward(self, input):
        return self.main(input)


class Discriminator(nn.Module):
    def __init__(self, ngpu, ndf, nc):
        super(Discriminator, self).__init__()
        self.ngpu = ngpu
        self.main = nn.Sequential(
            # input is (nc) x 64 x 64
            nn.Conv2d(nc, ndf, 4, 2, 1, bias=False),
            nn.LeakyReLU(0.2, inplace=True),
            # state size. (ndf) x 32 x 32
            nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ndf * 2),
            nn.LeakyReLU(0.2, inplace=True),
            # state size. (ndf*2) x 16 x 16
            nn.Conv2d(ndf * 2, ndf * 4, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ndf * 4),
            nn.LeakyReLU(0.2, inplace=True),
            # state size. (ndf*4) x 8 x 8
            nn.Conv2d(ndf * 4, ndf * 8, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ndf * 8),
            nn.LeakyReLU(0.2, inplace=True),
            # state size. (ndf*8) x 4 x 4
            nn.Conv2d(ndf * 8, 1, 4, 1, 0, bias=False),
            nn.Sigmoid()
        )

    def forward(self, input):
        output = self.main(input)
        return output.view(-1, 1).squeeze(1)


def weights_init(m):
    # custom weights initialization called on netG and netD
    classname = m.__class__.__name__
    if classname.find('Conv') != -1:
        torch.nn.init.normal_(m.weight, 0.0, 0.02)
    elif classname.find('BatchNorm') != -1:
        torch.nn.init.normal_(m.weight, 1.0, 0.02)
        torch.nn.init.zeros_(m.bias)


# DCGAN at other sizes: the same pattern with log2(size)-2 up/down stages; the widest
# layer has ngf * size/8 (ndf * size/8) channels, so 64 gives the published nets.

def _stages(size):
    n = {32: 3, 64: 4, 128: 5, 256: 6}[size]
    return n


class DCGANGenerator(nn.Module):
    def __init__(self, nz, ngf, nc, size):
        super().__init__()
        n = _stages(size)
        mult = 2 ** (n - 1)
        layers = [nn.ConvTranspose2d(nz, ngf * mult, 4, 1, 0, bias=False), nn.BatchNorm2d(ngf * mult), nn.ReLU(True)]
        while mult > 1:
            layers += [nn.ConvTranspose2d(ngf * mult, ngf * mult // 2, 4, 2, 1, bias=False),
                       nn.BatchNorm2d(ngf * mult // 2), nn.ReLU(True)]
            mult //= 2
        layers += [nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False), nn.Tanh()]
        self.main = nn.Sequential(*layers)

    def forward(self, input):
        return self.main(input)


class DCGANDiscriminator(nn.Module):
    def __init__(self, ndf, nc, size):
        super().__init__()
        n = _stages(size)
        layers = [nn.Conv2d(nc, ndf, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, inplace=True)]
        mult = 1
        for _ in range(n - 1):
            layers += [nn.Conv2d(ndf * mult, ndf * mult * 2, 4, 2, 1, bias=False),
                       nn.BatchNorm2d(ndf * mult * 2), nn.LeakyReLU(0.2, inplace=True)]
            mult *= 2
        layers += [nn.Conv2d(ndf * mult, 1, 4, 1, 0, bias=False), nn.Sigmoid()]
        self.main = nn.Sequential(*layers)

    def forward(self, input):
        output = self.main(input)
        return output.view(-1, 1).squeeze(1)


# ---------------------------------------------------------------------------
# pytorch-CycleGAN-and-pix2pix models/networks.py


class Identity(nn.Module):
    def forward(self, x):
        return x


def get_norm_layer(norm_type='instance'):
    if norm_type == 'batch':
        norm_layer = functools.partial(nn.BatchNorm2d, affine=True, track_running_stats=True)
    elif norm_type == 'instance':
        norm_layer = functools.partial(nn.InstanceNorm2d, affine=False, track_running_stats=False)
    elif norm_type == 'none':
        def norm_layer(x):
            return Identity()
    else:
        raise NotImplementedError('normalization layer [%s] is not found' % norm_type)
    return norm_layer


def init_weights(net, init_type='normal', init_gain=0.02):
    def init_func(m):  # define the initialization function
        classname = m.__class__.__name__
        if hasattr(m, 'weight') and (classname.find('Conv') != -1 or classname.find('Linear') != -1):
            if init_type == 'normal':
                init.normal_(m.weight.data, 0.0, init_gain)
            elif init_type == 'xavier':
                init.xavier_normal_(m.weight.data, gain=init_gain)
            elif init_type == 'kaiming':
                init.kaiming_normal_(m.weight.data, a=0, mode='fan_in')
            elif init_type == 'orthogonal':
                init.orthogonal_(m.weight.data, gain=init_gain)
            else:
                raise NotImplementedError('initialization method [%s] is not implemented' % init_type)
            if hasattr(m, 'bias') and m.bias is not None:
                init.constant_(m.bias.data, 0.0)
        elif classname.find('BatchNorm2d') != -1:  # BatchNorm Layer's weight is not a matrix; only normal distribution applies.
            init.normal_(m.weight.data, 1.0, init_gain)
            init.constant_(m.bias.data, 0.0)

    net.apply(init_func)  # apply the function <init_func>


def define_G(input_nc, output_nc, ngf, netG, norm='batch', use_dropout=False, padding_type='reflect'):
    norm_layer = get_norm_layer(norm_type=norm)
    if netG == 'resnet_9blocks':
        return ResnetGenerator(input_nc, output_nc, ngf, norm_layer=norm_layer, use_dropout=use_dropout, n_blocks=9,
                               padding_type=padding_type)
    elif netG == 'resnet_6blocks':
        return ResnetGenerator(input_nc, output_nc, ngf, norm_layer=norm_layer, use_dropout=use_dropout, n_blocks=6,
                               padding_type=padding_type)
    elif netG == 'unet_128':
        return UnetGenerator(input_nc, output_nc, 7, ngf, norm_layer=norm_layer, use_dropout=use_dropout)
    elif netG == 'unet_256':
        return UnetGenerator(input_nc, output_nc, 8, ngf, norm_layer=norm_layer, use_dropout=use_dropout)
    raise NotImplementedError('Generator model name [%s] is not recognized' % netG)


def define_D(input_nc, ndf, netD, n_layers_D=3, norm='batch'):
    norm_layer = get_norm_layer(norm_type=norm)
    if netD == 'basic':  # default PatchGAN classifier
        return NLayerDiscriminator(input_nc, ndf, n_layers=3, norm_layer=norm_layer)
    elif netD == 'n_layers':  # more options
        return NLayerDiscriminator(input_nc, ndf, n_layers_D, norm_layer=norm_layer)
    elif netD == 'pixel':     # classify if each pixel is real or fake
        return PixelDiscriminator(input_nc, ndf, norm_layer=norm_layer)
    raise NotImplementedError('Discriminator model name [%s] is not recognized' % netD)


class ResnetGenerator(nn.Module):
    def __init__(self, input_nc, output_nc, ngf=64, norm_layer=nn.BatchNorm2d, use_dropout=False, n_blocks=6, padding_type='reflect'):
        assert(n_blocks >= 0)
        super(ResnetGenerator, self).__init__()
        if type(norm_layer) == functools.partial:
            use_bias = norm_layer.func == nn.InstanceNorm2d
        else:
            use_bias = norm_layer == nn.InstanceNorm2d

        model = [nn.ReflectionPad2d(3),
                 nn.Conv2d(input_nc, ngf, kernel_size=7, padding=0, bias=use_bias),
                 norm_layer(ngf),
                 nn.ReLU(True)]

        n_downsampling = 2
        for i in range(n_downsampling):  # add downsampling layers
            mult = 2 ** i
            model += [nn.Conv2d(ngf * mult, ngf * mult * 2, kernel_size=3, stride=2, padding=1, bias=use_bias),
                      norm_layer(ngf * mult * 2),
                      nn.ReLU(True)]

        mult = 2 ** n_downsampling
        for i in range(n_blocks):       # add ResNet blocks

            model += [ResnetBlock(ngf * mult, padding_type=padding_type, norm_layer=norm_layer, use_dropout=use_dropout, use_bias=use_bias)]

        for i in range(n_downsampling):  # add upsampling layers
            mult = 2 ** (n_downsampling - i)
            model += [nn.ConvTranspose2d(ngf * mult, int(ngf * mult / 2),
                                         kernel_size=3, stride=2,
                                         padding=1, output_padding=1,
                                         bias=use_bias),
                      norm_layer(int(ngf * mult / 2)),
                      nn.ReLU(True)]
        model += [nn.ReflectionPad2d(3)]
        model += [nn.Conv2d(ngf, output_nc, kernel_size=7, padding=0)]
        model += [nn.Tanh()]

        self.model = nn.Sequential(*model)

    def forward(self, input):
        return self.model(input)


class ResnetBlock(nn.Module):
    def __init__(self, dim, padding_type, norm_layer, use_dropout, use_bias):
        super(ResnetBlock, self).__init__()
        self.conv_block = self.build_conv_block(dim, padding_type, norm_layer, use_dropout, use_bias)

    def build_conv_block(self, dim, padding_type, norm_layer, use_dropout, use_bias):
        conv_block = []
        p = 0
        if padding_type == 'reflect':
            conv_block += [nn.ReflectionPad2d(1)]
        elif padding_type == 'replicate':
            conv_block += [nn.ReplicationPad2d(1)]
        elif padding_type == 'zero':
            p = 1
        else:
            raise NotImplementedError('padding [%s] is not implemented' % padding_type)

        conv_block += [nn.Conv2d(dim, dim, kernel_size=3, padding=p, bias=use_bias), norm_layer(dim), nn.ReLU(True)]
        if use_dropout:
            conv_block += [nn.Dropout(0.5)]

        p = 0
        if padding_type == 'reflect':
            conv_block += [nn.ReflectionPad2d(1)]
        elif padding_type == 'replicate':
            conv_block += [nn.ReplicationPad2d(1)]
        elif padding_type == 'zero':
            p = 1
        else:
            raise NotImplementedError('padding [%s] is not implemented' % padding_type)
        conv_block += [nn.Conv2d(dim, dim, kernel_size=3, padding=p, bias=use_bias), norm_layer(dim)]

        return nn.Sequential(*conv_block)

    def forward(self, x):
        out = x + self.conv_block(x)  # add skip connections
        return out


class UnetGenerator(nn.Module):
    def __init__(self, input_nc, output_nc, num_downs, ngf=64, norm_layer=nn.BatchNorm2d, use_dropout=False):
        super(UnetGenerator, self).__init__()
        # construct unet structure
        unet_block = UnetSkipConnectionBlock(ngf * 8, ngf * 8, input_nc=None, submodule=None, norm_layer=norm_layer, innermost=True)  # add the innermost layer
        for i in range(num_downs - 5):          # add intermediate layers with ngf * 8 filters
            unet_block = UnetSkipConnectionBlock(ngf * 8, ngf * 8, input_nc=None, submodule=unet_block, norm_layer=norm_layer, use_dropout=use_dropout)
        # gradually reduce the number of filters from ngf * 8 to ngf
        unet_block = UnetSkipConnectionBlock(ngf * 4, ngf * 8, input_nc=None, submodule=unet_block, norm_layer=norm_layer)
        unet_block = UnetSkipConnectionBlock(ngf * 2, ngf * 4, input_nc=None, submodule=unet_block, norm_layer=norm_layer)
        unet_block = UnetSkipConnectionBlock(ngf, ngf * 2, input_nc=None, submodule=unet_block, norm_layer=norm_layer)
        self.model = UnetSkipConnectionBlock(output_nc, ngf, input_nc=input_nc, submodule=unet_block, outermost=True, norm_layer=norm_layer)  # add the outermost layer

    def forward(self, input):
        return self.model(input)


class UnetSkipConnectionBlock(nn.Module):
    def __init__(self, outer_nc, inner_nc, input_nc=None,
                 submodule=None, outermost=False, innermost=False, norm_layer=nn.BatchNorm2d, use_dropout=False):
        super(UnetSkipConnectionBlock, self).__init__()
        self.outermost = outermost
        if type(norm_layer) == functools.partial:
            use_bias = norm_layer.func == nn.InstanceNorm2d
        else:
            use_bias = norm_layer == nn.InstanceNorm2d
        if input_nc is None:
            input_nc = outer_nc
        downconv = nn.Conv2d(input_nc, inner_nc, kernel_size=4,
                             stride=2, padding=1, bias=use_bias)
        downrelu = nn.LeakyReLU(0.2, True)
        downnorm = norm_layer(inner_nc)
        uprelu = nn.ReLU(True)
        upnorm = norm_layer(outer_nc)

        if outermost:
            upconv = nn.ConvTranspose2d(inner_nc * 2, outer_nc,
                                        kernel_size=4, stride=2,
                                        padding=1)
            down = [downconv]
            up = [uprelu, upconv, nn.Tanh()]
            model = down + [submodule] + up
        elif innermost:
            upconv = nn.ConvTranspose2d(inner_nc, outer_nc,
                                        kernel_size=4, stride=2,
                                        padding=1, bias=use_bias)
            down = [downrelu, downconv]
            up = [uprelu, upconv, upnorm]
            model = down + up
        else:
            upconv = nn.ConvTranspose2d(inner_nc * 2, outer_nc,
                                        kernel_size=4, stride=2,
                                        padding=1, bias=use_bias)
            down = [downrelu, downconv, downnorm]
            up = [uprelu, upconv, upnorm]

            if use_dropout:
                model = down + [submodule] + up + [nn.Dropout(0.5)]
            else:
                model = down + [submodule] + up

        self.model = nn.Sequential(*model)

    def forward(self, x):
        if self.outermost:
            return self.model(x)
        else:   # add skip connections
            return torch.cat([x, self.model(x)], 1)


class NLayerDiscriminator(nn.Module):
    def __init__(self, input_nc, ndf=64, n_layers=3, norm_layer=nn.BatchNorm2d):
        super(NLayerDiscriminator, self).__init__()
        if type(norm_layer) == functools.partial:  # no need to use bias as BatchNorm2d has affine parameters
            use_bias = norm_layer.func == nn.InstanceNorm2d
        else:
            use_bias = norm_layer == nn.InstanceNorm2d

        kw = 4
        padw = 1
        sequence = [nn.Conv2d(input_nc, ndf, kernel_size=kw, stride=2, padding=padw), nn.LeakyReLU(0.2, True)]
        nf_mult = 1
        nf_mult_prev = 1
        for n in range(1, n_layers):  # gradually increase the number of filters
            nf_mult_prev = nf_mult
            nf_mult = min(2 ** n, 8)
            sequence += [
                nn.Conv2d(ndf * nf_mult_prev, ndf * nf_mult, kernel_size=kw, stride=2, padding=padw, bias=use_bias),
                norm_layer(ndf * nf_mult),
                nn.LeakyReLU(0.2, True)
            ]

        nf_mult_prev = nf_mult
        nf_mult = min(2 ** n_layers, 8)
        sequence += [
            nn.Conv2d(ndf * nf_mult_prev, ndf * nf_mult, kernel_size=kw, stride=1, padding=padw, bias=use_bias),
            norm_layer(ndf * nf_mult),
            nn.LeakyReLU(0.2, True)
        ]

        sequence += [nn.Conv2d(ndf * nf_mult, 1, kernel_size=kw, stride=1, padding=padw)]  # output 1 channel prediction map
        self.model = nn.Sequential(*sequence)

    def forward(self, input):
        return self.model(input)


class PixelDiscriminator(nn.Module):
    def __init__(self, input_nc, ndf=64, norm_layer=nn.BatchNorm2d):
        super(PixelDiscriminator, self).__init__()
        if type(norm_layer) == functools.partial:  # no need to use bias as BatchNorm2d has affine parameters
            use_bias = norm_layer.func == nn.InstanceNorm2d
        else:
            use_bias = norm_layer == nn.InstanceNorm2d

        self.net = [
            nn.Conv2d(input_nc, ndf, kernel_size=1, stride=1, padding=0),
            nn.LeakyReLU(0.2, True),
            nn.Conv2d(ndf, ndf * 2, kernel_size=1, stride=1, padding=0, bias=use_bias),
            norm_layer(ndf * 2),
            nn.LeakyReLU(0.2, True),
            nn.Conv2d(ndf * 2, 1, kernel_size=1, stride=1, padding=0, bias=use_bias)]

        self.net = nn.Sequential(*self.net)

    def forward(self, input):
        return self.net(input)


# ---------------------------------------------------------------------------
# pix2pixHD models/networks.py (get_norm_layer there: batch = BatchNorm2d(affine=True),
# instance = InstanceNorm2d(affine=False))

def hd_get_norm_layer(norm_type='instance'):
    if norm_type == 'batch':
        return functools.partial(nn.BatchNorm2d, affine=True)
    elif norm_type == 'instance':
        return functools.partial(nn.InstanceNorm2d, affine=False)
    elif norm_type == 'none':  # not in pix2pixHD; gogan's 'none'
        return lambda x: Identity()
    raise NotImplementedError('normalization layer [%s] is not found' % norm_type)


class MultiscaleDiscriminator(nn.Module):
    def __init__(self, input_nc, ndf=64, n_layers=3, norm_layer=nn.BatchNorm2d,
                 use_sigmoid=False, num_D=3, getIntermFeat=False):
        super(MultiscaleDiscriminator, self).__init__()
        self.num_D = num_D
        self.n_layers = n_layers
        self.getIntermFeat = getIntermFeat

        for i in range(num_D):
            netD = HDNLayerDiscriminator(input_nc, ndf, n_layers, norm_layer, use_sigmoid, getIntermFeat)
            if getIntermFeat:
                for j in range(n_layers + 2):
                    setattr(self, 'scale' + str(i) + '_layer' + str(j), getattr(netD, 'model' + str(j)))
            else:
                setattr(self, 'layer' + str(i), netD.model)

        self.downsample = nn.AvgPool2d(3, stride=2, padding=[1, 1], count_include_pad=False)

    def singleD_forward(self, model, input):
        if self.getIntermFeat:
            result = [input]
            for i in range(len(model)):
                result.append(model[i](result[-1]))
            return result[1:]
        else:
            return [model(input)]

    def forward(self, input):
        num_D = self.num_D
        result = []
        input_downsampled = input
        for i in range(num_D):
            if self.getIntermFeat:
                model = [getattr(self, 'scale' + str(num_D - 1 - i) + '_layer' + str(j)) for j in range(self.n_layers + 2)]
            else:
                model = getattr(self, 'layer' + str(num_D - 1 - i))
            result.append(self.singleD_forward(model, input_downsampled))
            if i != (num_D - 1):
                input_downsampled = self.downsample(input_downsampled)
        return result


class HDNLayerDiscriminator(nn.Module):
    def __init__(self, input_nc, ndf=64, n_layers=3, norm_layer=nn.BatchNorm2d, use_sigmoid=False, getIntermFeat=False):
        super(HDNLayerDiscriminator, self).__init__()
        self.getIntermFeat = getIntermFeat
        self.n_layers = n_layers

        kw = 4
        padw = int(math.ceil((kw - 1.0) / 2))  # np.ceil there
        sequence = [[nn.Conv2d(input_nc, ndf, kernel_size=kw, stride=2, padding=padw), nn.LeakyReLU(0.2, True)]]

        nf = ndf
        for n in range(1, n_layers):
            nf_prev = nf
            nf = min(nf * 2, 512)
            sequence += [[
                nn.Conv2d(nf_prev, nf, kernel_size=kw, stride=2, padding=padw),
                norm_layer(nf), nn.LeakyReLU(0.2, True)
            ]]

        nf_prev = nf
        nf = min(nf * 2, 512)
        sequence += [[
            nn.Conv2d(nf_prev, nf, kernel_size=kw, stride=1, padding=padw),
            norm_layer(nf),
            nn.LeakyReLU(0.2, True)
        ]]

        sequence += [[nn.Conv2d(nf, 1, kernel_size=kw, stride=1, padding=padw)]]

        if use_sigmoid:
            sequence += [[nn.Sigmoid()]]

        if getIntermFeat:
            for n in range(len(sequence)):
                setattr(self, 'model' + str(n), nn.Sequential(*sequence[n]))
        else:
            sequence_stream = []
            for n in range(len(sequence)):
                sequence_stream += sequence[n]
            self.model = nn.Sequential(*sequence_stream)

    def forward(self, input):
        if self.getIntermFeat:
            res = [input]
            for n in range(self.n_layers + 2):
                model = getattr(self, 'model' + str(n))
                res.append(model(res[-1]))
            return res[1:]
        else:
            return self.model(input)


def hd_weights_init(m):
    """pix2pixHD models/networks.py weights_init (conv biases keep their construction values)."""
    classname = m.__class__.__name__
    if classname.find('Conv') != -1:
        m.weight.data.normal_(0.0, 0.02)
    elif classname.find('BatchNorm2d') != -1:
        m.weight.data.normal_(1.0, 0.02)
        m.bias.data.fill_(0)


def hd_define_G(input_nc, output_nc, ngf, netG, n_downsample_global=3, n_blocks_global=9, n_local_enhancers=1,
                n_blocks_local=3, norm='instance', padding_type='reflect'):
    """pix2pixHD define_G for 'global' and 'local' (no print, no .cuda(); padding_type is ours: the
    reference always builds 'reflect'), ending in netG.apply(weights_init) as there."""
    norm_layer = hd_get_norm_layer(norm_type=norm)
    if netG == 'global':
        netG = GlobalGenerator(input_nc, output_nc, ngf, n_downsample_global, n_blocks_global, norm_layer,
                               padding_type=padding_type)
    elif netG == 'local':
        netG = LocalEnhancer(input_nc, output_nc, ngf, n_downsample_global, n_blocks_global,
                             n_local_enhancers, n_blocks_local, norm_layer, padding_type=padding_type)
    elif netG == 'encoder':
        netG = Encoder(input_nc, output_nc, ngf, n_downsample_global, norm_layer)
    else:
        raise NotImplementedError('generator [%s] not implemented' % netG)
    netG.apply(hd_weights_init)
    return netG


def hd_define_D(input_nc, ndf, n_layers_D, norm='instance', use_sigmoid=False, num_D=1, getIntermFeat=False):
    """pix2pixHD define_D (no print, no .cuda()), ending in netD.apply(weights_init) as there."""
    norm_layer = hd_get_norm_layer(norm_type=norm)
    netD = MultiscaleDiscriminator(input_nc, ndf, n_layers_D, norm_layer, use_sigmoid, num_D, getIntermFeat)
    netD.apply(hd_weights_init)
    return netD


class LocalEnhancer(nn.Module):
    def __init__(self, input_nc, output_nc, ngf=32, n_downsample_global=3, n_blocks_global=9,
                 n_local_enhancers=1, n_blocks_local=3, norm_layer=nn.BatchNorm2d, padding_type='reflect'):
        super(LocalEnhancer, self).__init__()
        self.n_local_enhancers = n_local_enhancers

        ###### global generator model #####
        ngf_global = ngf * (2**n_local_enhancers)
        # the reference builds its GlobalGenerator with the default padding_type ('reflect')
        model_global = GlobalGenerator(input_nc, output_nc, ngf_global, n_downsample_global, n_blocks_global, norm_layer,
                                       padding_type=padding_type).model
        model_global = [model_global[i] for i in range(len(model_global) - 3)]  # get rid of final convolution layers
        self.model = nn.Sequential(*model_global)

        ###### local enhancer layers #####
        for n in range(1, n_local_enhancers + 1):
            ### downsample
            ngf_global = ngf * (2**(n_local_enhancers - n))
            model_downsample = [nn.ReflectionPad2d(3), nn.Conv2d(input_nc, ngf_global, kernel_size=7, padding=0),
                                norm_layer(ngf_global), nn.ReLU(True),
                                nn.Conv2d(ngf_global, ngf_global * 2, kernel_size=3, stride=2, padding=1),
                                norm_layer(ngf_global * 2), nn.ReLU(True)]
            ### residual blocks
            model_upsample = []
            for i in range(n_blocks_local):
                model_upsample += [HDResnetBlock(ngf_global * 2, padding_type=padding_type, norm_layer=norm_layer)]

            ### upsample
            model_upsample += [nn.ConvTranspose2d(ngf_global * 2, ngf_global, kernel_size=3, stride=2, padding=1, output_padding=1),
                               norm_layer(ngf_global), nn.ReLU(True)]

            ### final convolution
            if n == n_local_enhancers:
                model_upsample += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, output_nc, kernel_size=7, padding=0), nn.Tanh()]

            setattr(self, 'model' + str(n) + '_1', nn.Sequential(*model_downsample))
            setattr(self, 'model' + str(n) + '_2', nn.Sequential(*model_upsample))

        self.downsample = nn.AvgPool2d(3, stride=2, padding=[1, 1], count_include_pad=False)

    def forward(self, input):
        ### create input pyramid
        input_downsampled = [input]
        for i in range(self.n_local_enhancers):
            input_downsampled.append(self.downsample(input_downsampled[-1]))

        ### output at coarest level
        output_prev = self.model(input_downsampled[-1])
        ### build up one layer at a time
        for n_local_enhancers in range(1, self.n_local_enhancers + 1):
            model_downsample = getattr(self, 'model' + str(n_local_enhancers) + '_1')
            model_upsample = getattr(self, 'model' + str(n_local_enhancers) + '_2')
            input_i = input_downsampled[self.n_local_enhancers - n_local_enhancers]
            output_prev = model_upsample(model_downsample(input_i) + output_prev)
        return output_prev


class GlobalGenerator(nn.Module):
    def __init__(self, input_nc, output_nc, ngf=64, n_downsampling=3, n_blocks=9, norm_layer=nn.BatchNorm2d,
                 padding_type='reflect'):
        assert(n_blocks >= 0)
        super(GlobalGenerator, self).__init__()
        activation = nn.ReLU(True)

        model = [nn.ReflectionPad2d(3), nn.Conv2d(input_nc, ngf, kernel_size=7, padding=0), norm_layer(ngf), activation]
        ### downsample
        for i in range(n_downsampling):
            mult = 2**i
            model += [nn.Conv2d(ngf * mult, ngf * mult * 2, kernel_size=3, stride=2, padding=1),
                      norm_layer(ngf * mult * 2), activation]

        ### resnet blocks
        mult = 2**n_downsampling
        for i in range(n_blocks):
            model += [HDResnetBlock(ngf * mult, padding_type=padding_type, activation=activation, norm_layer=norm_layer)]

        ### upsample
        for i in range(n_downsampling):
            mult = 2**(n_downsampling - i)
            model += [nn.ConvTranspose2d(ngf * mult, int(ngf * mult / 2), kernel_size=3, stride=2, padding=1, output_padding=1),
                      norm_layer(int(ngf * mult / 2)), activation]
        model += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, output_nc, kernel_size=7, padding=0), nn.Tanh()]
        self.model = nn.Sequential(*model)

    def forward(self, input):
        return self.model(input)


class Encoder(nn.Module):
    """pix2pixHD models/networks.py Encoder [14b3b3c]; forward(input, inst) is its instance-wise
    average pooling over the ids of inst, as there."""

    def __init__(self, input_nc, output_nc, ngf=32, n_downsampling=4, norm_layer=nn.BatchNorm2d):
        super(Encoder, self).__init__()
        self.output_nc = output_nc

        model = [nn.ReflectionPad2d(3), nn.Conv2d(input_nc, ngf, kernel_size=7, padding=0),
                 norm_layer(ngf), nn.ReLU(True)]
        ### downsample
        for i in range(n_downsampling):
            mult = 2**i
            model += [nn.Conv2d(ngf * mult, ngf * mult * 2, kernel_size=3, stride=2, padding=1),
                      norm_layer(ngf * mult * 2), nn.ReLU(True)]

        ### upsample
        for i in range(n_downsampling):
            mult = 2**(n_downsampling - i)
            model += [nn.ConvTranspose2d(ngf * mult, int(ngf * mult / 2), kernel_size=3, stride=2, padding=1, output_padding=1),
                      norm_layer(int(ngf * mult / 2)), nn.ReLU(True)]

        model += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, output_nc, kernel_size=7, padding=0), nn.Tanh()]
        self.model = nn.Sequential(*model)

    def forward(self, input, inst):
        outputs = self.model(input)

        # instance-wise average pooling
        outputs_mean = outputs.clone()
        inst_list = np.unique(inst.cpu().numpy().astype(int))
        for i in inst_list:
            for b in range(input.size()[0]):
                indices = (inst[b:b+1] == int(i)).nonzero()  # n x 4
                for j in range(self.output_nc):
                    output_ins = outputs[indices[:, 0] + b, indices[:, 1] + j, indices[:, 2], indices[:, 3]]
                    mean_feat = torch.mean(output_ins).expand_as(output_ins)
                    outputs_mean[indices[:, 0] + b, indices[:, 1] + j, indices[:, 2], indices[:, 3]] = mean_feat
        return outputs_mean


class HDResnetBlock(nn.Module):
    """pix2pixHD's ResnetBlock (every conv with a bias; the activation module passed in, shared)."""

    def __init__(self, dim, padding_type, norm_layer, activation=nn.ReLU(True), use_dropout=False):
        super(HDResnetBlock, self).__init__()
        self.conv_block = self.build_conv_block(dim, padding_type, norm_layer, activation, use_dropout)

    def build_conv_block(self, dim, padding_type, norm_layer, activation, use_dropout):
        conv_block = []
        p = 0
        if padding_type == 'reflect':
            conv_block += [nn.ReflectionPad2d(1)]
        elif padding_type == 'replicate':
            conv_block += [nn.ReplicationPad2d(1)]
        elif padding_type == 'zero':
            p = 1
        else:
            raise NotImplementedError('padding [%s] is not implemented' % padding_type)

        conv_block += [nn.Conv2d(dim, dim, kernel_size=3, padding=p),
                       norm_layer(dim),
                       activation]
        if use_dropout:
            conv_block += [nn.Dropout(0.5)]

        p = 0
        if padding_type == 'reflect':
            conv_block += [nn.ReflectionPad2d(1)]
        elif padding_type == 'replicate':
            conv_block += [nn.ReplicationPad2d(1)]
        elif padding_type == 'zero':
            p = 1
        else:
            raise NotImplementedError('padding [%s] is not implemented' % padding_type)
        conv_block += [nn.Conv2d(dim, dim, kernel_size=3, padding=p),
                       norm_layer(dim)]

        return nn.Sequential(*conv_block)

    def forward(self, x):
        out = x + self.conv_block(x)
        return out


def vgg19_features():
    """torchvision.models.vgg19().features (configuration "E", 37 modules), without building the
    classifier: the weights are loaded from a file afterwards, so its initial values do not matter."""
    from torchvision.models import vgg
    return vgg.make_layers(vgg.cfgs["E"], batch_norm=False)


def load_vgg19_features(features, path):
    """Loads a torchvision vgg19 state dict's "features.N.*" entries (a whole vgg19-dcbb9e9d.pth or
    only its features keys) into a features module; "classifier.*" entries are ignored. Every
    key of the first 30 layers (those Vgg19's slices use) must be there."""
    sd = torch.load(path, map_location="cpu")
    fsd = {k[len("features."):]: v for k, v in sd.items() if k.startswith("features.")}
    res = features.load_state_dict(fsd, strict=False)
    needed = [k for k in res.missing_keys if int(k.split(".")[0]) < 30]
    if needed or res.unexpected_keys:
        raise ValueError("%s: missing %s, unexpected %s" % (path, needed, res.unexpected_keys))
    return features


class Vgg19(torch.nn.Module):
    """pix2pixHD models/networks.py Vgg19, given torchvision's vgg19 features module (the reference
    takes models.vgg19(pretrained=True).features; see load_vgg19_features)."""

    def __init__(self, vgg_pretrained_features, requires_grad=False):
        super(Vgg19, self).__init__()
        self.slice1 = torch.nn.Sequential()
        self.slice2 = torch.nn.Sequential()
        self.slice3 = torch.nn.Sequential()
        self.slice4 = torch.nn.Sequential()
        self.slice5 = torch.nn.Sequential()
        for x in range(2):
            self.slice1.add_module(str(x), vgg_pretrained_features[x])
        for x in range(2, 7):
            self.slice2.add_module(str(x), vgg_pretrained_features[x])
        for x in range(7, 12):
            self.slice3.add_module(str(x), vgg_pretrained_features[x])
        for x in range(12, 21):
            self.slice4.add_module(str(x), vgg_pretrained_features[x])
        for x in range(21, 30):
            self.slice5.add_module(str(x), vgg_pretrained_features[x])
        if not requires_grad:
            for param in self.parameters():
                param.requires_grad = False

    def forward(self, X):
        h_relu1 = self.slice1(X)
        h_relu2 = self.slice2(h_relu1)
        h_relu3 = self.slice3(h_relu2)
        h_relu4 = self.slice4(h_relu3)
        h_relu5 = self.slice5(h_relu4)
        out = [h_relu1, h_relu2, h_relu3, h_relu4, h_relu5]
        return out


class VGGLoss(nn.Module):
    """pix2pixHD models/networks.py VGGLoss, given its Vgg19 (the reference builds
    Vgg19().cuda() from torchvision's pretrained vgg19)."""

    def __init__(self, vgg):
        super(VGGLoss, self).__init__()
        self.vgg = vgg
        self.criterion = nn.L1Loss()
        self.weights = [1.0 / 32, 1.0 / 16, 1.0 / 8, 1.0 / 4, 1.0]

    def forward(self, x, y):
        x_vgg, y_vgg = self.vgg(x), self.vgg(y)
        loss = 0
        for i in range(len(x_vgg)):
            loss += self.weights[i] * self.criterion(x_vgg[i], y_vgg[i].detach())
        return loss


class Vgg19Interop(nn.Module):
    """Vgg19 for the interop test: its state dict is torchvision's "features.N.*" keys of the first
    30 layers (the ones the slices hold; gogan's VGG19 keeps those), its output the five slices'
    outputs as one scale ([[relu1_1, relu2_1, relu3_1, relu4_1, relu5_1]])."""

    def __init__(self):
        super().__init__()
        self.features = vgg19_features()[:30]  # keys "0".."29" kept
        object.__setattr__(self, "vgg", Vgg19(self.features))  # not registered: no second set of keys

    def forward(self, x):
        return [self.vgg(x)]


# ---------------------------------------------------------------------------
# Building a reference network from gogan's nets.Options (as JSON)

def build(role, o):
    kind = o["Kind"]
    if role == "VGG":  # pix2pixHD's Vgg19 over torchvision's features keys (Vgg19Interop)
        if kind != "vgg19":
            raise NotImplementedError("VGG kind %r" % kind)
        return Vgg19Interop()
    if role == "G" and kind in ("global", "local"):
        # pix2pixHD's GlobalGenerator / LocalEnhancer, unseeded construction only (no weights_init:
        # the init checks apply it, kind "pix2pixhd")
        norm_layer = hd_get_norm_layer(o["Norm"])
        if kind == "global":
            return GlobalGenerator(o["InputNC"], o["OutputNC"], o["NGF"], o["NDownsampleGlobal"], o["NBlocksGlobal"],
                                   norm_layer, padding_type=o.get("PadType") or "reflect")
        return LocalEnhancer(o["InputNC"], o["OutputNC"], o["NGF"], o["NDownsampleGlobal"], o["NBlocksGlobal"],
                             o["NLocalEnhancers"], o["NBlocksLocal"], norm_layer, padding_type=o.get("PadType") or "reflect")
    if role == "G":
        if kind == "dcgan":
            if o["ImageSize"] == 64:
                return Generator(0, o["NZ"], o["NGF"], o["OutputNC"])
            return DCGANGenerator(o["NZ"], o["NGF"], o["OutputNC"], o["ImageSize"])
        if kind == "unet" or (kind.startswith("unet_") and kind not in ("unet_128", "unet_256")):
            # gogan's other U-Nets: UnetGenerator with num_downs = NumDowns or log2(size)
            downs = o["NumDowns"] if kind == "unet" else int(math.log2(int(kind[5:])))
            return UnetGenerator(o["InputNC"], o["OutputNC"], downs, o["NGF"], norm_layer=get_norm_layer(o["Norm"]),
                                 use_dropout=o["Dropout"])
        if kind.startswith("resnet_") and kind not in ("resnet_6blocks", "resnet_9blocks"):
            return ResnetGenerator(o["InputNC"], o["OutputNC"], o["NGF"], norm_layer=get_norm_layer(o["Norm"]),
                                   use_dropout=o["Dropout"], n_blocks=int(kind[7:-6]), padding_type=o["PadType"])
        return define_G(o["InputNC"], o["OutputNC"], o["NGF"], kind, norm=o["Norm"], use_dropout=o["Dropout"],
                        padding_type=o["PadType"])
    if kind == "dcgan":
        if o["ImageSize"] == 64:
            return Discriminator(0, o["NDF"], o["InputNC"])
        return DCGANDiscriminator(o["NDF"], o["InputNC"], o["ImageSize"])
    if kind == "multiscale":
        # use_sigmoid (pix2pixHD's --no_lsgan) only when the options ask ("UseSigmoid"); gogan's D
        # returns logits
        return MultiscaleDiscriminator(o["InputNC"], o["NDF"], o["NLayers"], hd_get_norm_layer(o["Norm"]),
                                       use_sigmoid=o.get("UseSigmoid", False), num_D=o["NumD"],
                                       getIntermFeat=o["GetIntermFeat"])
    return define_D(o["InputNC"], o["NDF"], kind, n_layers_D=o["NLayers"], norm=o["Norm"])


def outputs(net, x):
    y = net(x)
    if isinstance(y, list):
        return [[t for t in scale] for scale in y]
    return [[y]]


def run(net, x, train_seed, prefix, out):
    """Eval forward, then a train-mode forward, then the buffers it updated."""
    with torch.no_grad():
        net.eval()
        for i, scale in enumerate(outputs(net, x)):
            for j, t in enumerate(scale):
                out["%s.eval.%d.%d" % (prefix, i, j)] = t
        net.train()
        torch.manual_seed(train_seed)
        for i, scale in enumerate(outputs(net, x)):
            for j, t in enumerate(scale):
                out["%s.train.%d.%d" % (prefix, i, j)] = t
        for k, v in net.state_dict().items():
            if "running_" in k or "num_batches_tracked" in k:
                out["%s.after.%s" % (prefix, k)] = v


def fast_save(path, tensors):
    """safetensors_torch.save, with the data copied by ctypes (its tolist() copy takes
    minutes for the 54M parameters of unet_256)."""
    header, blobs, off = {}, [], 0
    for name, t in tensors.items():
        t = t.detach().cpu().contiguous()
        n = t.numel() * t.element_size()
        raw = ctypes.string_at(t.data_ptr(), n) if n else b""
        header[name] = {"dtype": safetensors_torch._NAMES[t.dtype], "shape": list(t.shape),
                        "data_offsets": [off, off + n]}
        blobs.append(raw)
        off += n
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(len(h).to_bytes(8, "little"))
        f.write(h)
        for raw in blobs:
            f.write(raw)


def randomize_buffers(net):
    """Non-trivial running statistics, so that eval mode tests the buffers' mapping."""
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, nn.BatchNorm2d) and m.track_running_stats:
                m.running_mean.normal_(0, 0.1)
                m.running_var.uniform_(0.5, 1.5)
                m.num_batches_tracked.fill_(3)


def case(c):
    role, o = c["role"], c["opts"]
    net = build(role, o)
    sd = net.state_dict()
    meta = {"keys": [[k, list(v.shape), str(v.dtype).replace("torch.", "")] for k, v in sd.items()],
            "params": sum(p.numel() for p in net.parameters())}
    with open(c["meta"], "w") as f:
        json.dump(meta, f)
    if role == "G" and o["Kind"] == "dcgan" and o["ImageSize"] == 64:
        # the generalised nets are the published ones at 64
        g = DCGANGenerator(o["NZ"], o["NGF"], o["OutputNC"], 64).state_dict()
        assert [(k, v.shape) for k, v in g.items()] == [(k, v.shape) for k, v in sd.items()]
    if role == "D" and o["Kind"] == "dcgan" and o["ImageSize"] == 64:
        g = DCGANDiscriminator(o["NDF"], o["InputNC"], 64).state_dict()
        assert [(k, v.shape) for k, v in g.items()] == [(k, v.shape) for k, v in sd.items()]

    for ic in c.get("inits") or []:
        torch.manual_seed(ic["seed"])
        if ic["kind"] == "default":  # PyTorch's own initialisation, at construction
            fast_save(ic["out"], build(role, o).state_dict())
            continue
        if ic["kind"] == "dcgan":
            net.apply(weights_init)
        elif ic["kind"] == "pix2pixhd":
            # pix2pixHD's define_G / define_D: construct (the conv biases keep these draws),
            # then weights_init
            fast_save(ic["out"], build(role, o).apply(hd_weights_init).state_dict())
            continue
        else:
            init_weights(net, ic["kind"], ic["gain"])
        fast_save(ic["out"], net.state_dict())

    if not c.get("input"):
        return
    x = safetensors_torch.load(c["input"])[0]["x"]
    # every module's output shape in an eval forward (the last call's, for a
    # module called more than once), for gogan's layer table; on a copy whose
    # shared modules (pix2pixHD's one ReLU at many places) are one per place
    snet, seen = copy.deepcopy(net), set()
    for parent in list(snet.modules()):
        for attr, child in list(parent._modules.items()):
            if child is not None and id(child) in seen:
                parent._modules[attr] = copy.deepcopy(child)
            elif child is not None:
                seen.add(id(child))
    shapes = {}

    def record(name):
        def hook(_m, _i, y):
            if torch.is_tensor(y):
                shapes[name] = list(y.shape)
        return hook
    for name, m in snet.named_modules():
        if name:
            m.register_forward_hook(record(name))
    snet.eval()
    with torch.no_grad():
        outputs(snet, x)
    meta["shapes"] = shapes
    with open(c["meta"], "w") as f:
        json.dump(meta, f)
    out = {}
    if c.get("gogan"):
        w, _ = safetensors_torch.load(c["gogan"])
        net.load_state_dict(w, strict=True)
        run(net, x, c["train_seed"], "gogan", out)
    # PyTorch-initialised weights
    torch.manual_seed(c["torch_seed"])
    tnet = build(role, o)
    if c.get("torch_init"):
        init_weights(tnet, c["torch_init"], c["torch_gain"])
    randomize_buffers(tnet)
    fast_save(c["torch_sd"], tnet.state_dict())
    run(tnet, x, c["train_seed"], "torch", out)
    fast_save(c["out"], out)


def main():
    torch.set_num_threads(int(os.environ.get("GOGAN_REF_THREADS", "1")))
    with open(sys.argv[1]) as f:
        cases = json.load(f)
    for c in cases:
        try:
            case(c)
        except Exception as e:
            raise RuntimeError("case %s: %s" % (c["name"], e)) from e


if __name__ == "__main__":
    main()
