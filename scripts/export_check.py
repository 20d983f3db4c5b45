"""PyTorch side of gogan export's test (e2e_export_test.go): runs the reference command lines
that gogan export printed as far as the references get before their data: their option
parsing, network construction and checkpoint loading, transcribed from their sources, then
checks that every network holds the gogan checkpoint's tensors, bit for bit.

  export_check.py CASE.json
      CASE: {"weights": RUN/.../weights.safetensors, "commands": [the printed command lines],
             "write_options": true|false}
      With write_options, each train.py command's options (without --continue_train, as the
      run that first trained would have had them) are also written where the reference writes
      them: pytorch-CycleGAN-and-pix2pix's print_options ([checkpoints_dir]/[name]/train_opt.txt),
      pix2pixHD's parse (opt.txt), for gogan import --from.

Transcribed (option definitions of the flags the commands use, and what follows them up to
load_state_dict):
  - pytorch-CycleGAN-and-pix2pix: options/base_options.py (BaseOptions.initialize and
    gather_options' two parses: the model's then the dataset's modify_commandline_options),
    options/test_options.py, train_options' --continue_train; models/pix2pix_model.py,
    colorization_model.py, cycle_gan_model.py, test_model.py (their __init__'s define_G and
    define_D calls and model_names); models/base_model.py load_networks; data/single_dataset.py's
    channels (gray or RGB, by --direction), which the test model's G must take.
  - pix2pixHD: options/base_options.py, test_options.py, train_options.py;
    models/pix2pixHD_model.py initialize (netG/netD/netE input channels, define_G, define_D)
    and base_model.py load_network (its first try, load_state_dict(torch.load(path)): the
    fallbacks after it load what fits, which would hide a wrong file).
  - pytorch/examples dcgan/main.py: its argparse, nc, Generator/Discriminator, weights_init,
    and `netG.load_state_dict(torch.load(opt.netG))`.
"""
import argparse
import json
import os
import shlex
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402

import reference_nets as rn  # noqa: E402
import safetensors_torch  # noqa: E402


# ---------------------------------------------------------------------------
# pytorch-CycleGAN-and-pix2pix

def cg_base_options(parser):
    parser.add_argument('--dataroot', required=True)
    parser.add_argument('--name', type=str, default='experiment_name')
    parser.add_argument('--gpu_ids', type=str, default='0')
    parser.add_argument('--checkpoints_dir', type=str, default='./checkpoints')
    parser.add_argument('--model', type=str, default='cycle_gan')
    parser.add_argument('--input_nc', type=int, default=3)
    parser.add_argument('--output_nc', type=int, default=3)
    parser.add_argument('--ngf', type=int, default=64)
    parser.add_argument('--ndf', type=int, default=64)
    parser.add_argument('--netD', type=str, default='basic')
    parser.add_argument('--netG', type=str, default='resnet_9blocks')
    parser.add_argument('--n_layers_D', type=int, default=3)
    parser.add_argument('--norm', type=str, default='instance')
    parser.add_argument('--init_type', type=str, default='normal')
    parser.add_argument('--init_gain', type=float, default=0.02)
    parser.add_argument('--no_dropout', action='store_true')
    parser.add_argument('--dataset_mode', type=str, default='unaligned')
    parser.add_argument('--direction', type=str, default='AtoB')
    parser.add_argument('--serial_batches', action='store_true')
    parser.add_argument('--num_threads', default=4, type=int)
    parser.add_argument('--batch_size', type=int, default=1)
    parser.add_argument('--load_size', type=int, default=286)
    parser.add_argument('--crop_size', type=int, default=256)
    parser.add_argument('--max_dataset_size', type=int, default=float("inf"))
    parser.add_argument('--preprocess', type=str, default='resize_and_crop')
    parser.add_argument('--no_flip', action='store_true')
    parser.add_argument('--display_winsize', type=int, default=256)
    parser.add_argument('--epoch', type=str, default='latest')
    parser.add_argument('--load_iter', type=int, default='0')
    parser.add_argument('--verbose', action='store_true')
    parser.add_argument('--suffix', default='', type=str)
    parser.add_argument('--use_wandb', action='store_true')
    parser.add_argument('--wandb_project_name', type=str, default='CycleGAN-and-pix2pix')
    return parser


def cg_test_options(parser):
    parser.add_argument('--results_dir', type=str, default='./results/')
    parser.add_argument('--aspect_ratio', type=float, default=1.0)
    parser.add_argument('--phase', type=str, default='test')
    parser.add_argument('--eval', action='store_true')
    parser.add_argument('--num_test', type=int, default=50)
    parser.set_defaults(model='test')
    parser.set_defaults(load_size=parser.get_default('crop_size'))


def cg_train_options(parser):
    parser.add_argument('--display_freq', type=int, default=400)
    parser.add_argument('--display_ncols', type=int, default=4)
    parser.add_argument('--display_id', type=int, default=1)
    parser.add_argument('--display_server', type=str, default="http://localhost")
    parser.add_argument('--display_env', type=str, default='main')
    parser.add_argument('--display_port', type=int, default=8097)
    parser.add_argument('--update_html_freq', type=int, default=1000)
    parser.add_argument('--print_freq', type=int, default=100)
    parser.add_argument('--save_latest_freq', type=int, default=5000)
    parser.add_argument('--save_epoch_freq', type=int, default=5)
    parser.add_argument('--save_by_iter', action='store_true')
    parser.add_argument('--continue_train', action='store_true')
    parser.add_argument('--epoch_count', type=int, default=1)
    parser.add_argument('--phase', type=str, default='train')
    parser.add_argument('--n_epochs', type=int, default=100)
    parser.add_argument('--n_epochs_decay', type=int, default=100)
    parser.add_argument('--beta1', type=float, default=0.5)
    parser.add_argument('--lr', type=float, default=0.0002)
    parser.add_argument('--gan_mode', type=str, default='lsgan')
    parser.add_argument('--pool_size', type=int, default=50)
    parser.add_argument('--no_html', action='store_true')
    parser.add_argument('--lr_policy', type=str, default='linear')
    parser.add_argument('--lr_decay_iters', type=int, default=50)


def cg_model_options(model, parser, is_train):
    if model in ('pix2pix', 'colorization'):
        parser.set_defaults(norm='batch', netG='unet_256', dataset_mode='aligned')
        if is_train:
            parser.set_defaults(pool_size=0, gan_mode='vanilla')
            parser.add_argument('--lambda_L1', type=float, default=100.0)
        if model == 'colorization':
            parser.set_defaults(dataset_mode='colorization')
    elif model == 'cycle_gan':
        parser.set_defaults(no_dropout=True)
        if is_train:
            parser.add_argument('--lambda_A', type=float, default=10.0)
            parser.add_argument('--lambda_B', type=float, default=10.0)
            parser.add_argument('--lambda_identity', type=float, default=0.5)
    elif model == 'test':
        assert not is_train, 'TestModel cannot be used during training time'
        parser.set_defaults(dataset_mode='single')
        parser.add_argument('--model_suffix', type=str, default='')
    else:
        raise SystemExit("model %r is not one gogan exports to" % model)


def cg_dataset_options(mode, parser):
    if mode == 'colorization':
        parser.set_defaults(input_nc=1, output_nc=2, direction='AtoB')


def cg_options(argv, is_train):
    parser = cg_base_options(argparse.ArgumentParser())
    if is_train:
        cg_train_options(parser)
    else:
        cg_test_options(parser)
    opt, _ = parser.parse_known_args(argv)
    cg_model_options(opt.model, parser, is_train)
    opt, _ = parser.parse_known_args(argv)
    cg_dataset_options(opt.dataset_mode, parser)
    opt = parser.parse_args(argv)
    opt.isTrain = is_train
    opt.parser = parser
    return opt


def cg_print_options(opt):
    """BaseOptions.print_options: the options, each with its default where it differs, into
    [checkpoints_dir]/[name]/[phase]_opt.txt."""
    message = cg_options_message(opt)
    expr_dir = os.path.join(opt.checkpoints_dir, opt.name)
    os.makedirs(expr_dir, exist_ok=True)
    file_name = os.path.join(expr_dir, '{}_opt.txt'.format(opt.phase))
    with open(file_name, 'wt') as opt_file:
        opt_file.write(message)
        opt_file.write('\n')


def cg_options_message(opt):
    """print_options' message of cg_options' opt."""
    parser = opt.parser
    del opt.parser
    message = ''
    message += '----------------- Options ---------------\n'
    for k, v in sorted(vars(opt).items()):
        comment = ''
        default = parser.get_default(k)
        if v != default:
            comment = '\t[default: %s]' % str(default)
        message += '{:>25}: {:<30}{}\n'.format(str(k), str(v), comment)
    message += '----------------- End -------------------'
    return message


def cg_networks(opt):
    """{name: net} as the model's __init__ defines them (model_names)."""
    G = lambda i, o: rn.define_G(i, o, opt.ngf, opt.netG, opt.norm, not opt.no_dropout)  # noqa: E731
    D = lambda i: rn.define_D(i, opt.ndf, opt.netD, opt.n_layers_D, opt.norm)  # noqa: E731
    if opt.model in ('pix2pix', 'colorization'):
        nets = {'G': G(opt.input_nc, opt.output_nc)}
        if opt.isTrain:
            nets['D'] = D(opt.input_nc + opt.output_nc)
    elif opt.model == 'cycle_gan':
        nets = {'G_A': G(opt.input_nc, opt.output_nc), 'G_B': G(opt.output_nc, opt.input_nc)}
        if opt.isTrain:
            nets['D_A'] = D(opt.output_nc)
            nets['D_B'] = D(opt.input_nc)
    else:  # test
        nets = {'G' + opt.model_suffix: G(opt.input_nc, opt.output_nc)}
    return nets


def patch_instance_norm_state_dict(state_dict, module, keys, i=0):
    key = keys[i]
    if i + 1 == len(keys):
        if module.__class__.__name__.startswith('InstanceNorm') and (key == 'running_mean' or key == 'running_var'):
            if getattr(module, key) is None:
                state_dict.pop('.'.join(keys))
        if module.__class__.__name__.startswith('InstanceNorm') and (key == 'num_batches_tracked'):
            state_dict.pop('.'.join(keys))
    else:
        patch_instance_norm_state_dict(state_dict, getattr(module, key), keys, i + 1)


def cg_load_networks(opt, nets):
    save_dir = os.path.join(opt.checkpoints_dir, opt.name)
    for name, net in nets.items():
        load_path = os.path.join(save_dir, '%s_net_%s.pth' % (opt.epoch, name))
        state_dict = torch.load(load_path, map_location='cpu')
        if hasattr(state_dict, '_metadata'):
            del state_dict._metadata
        for key in list(state_dict.keys()):
            patch_instance_norm_state_dict(state_dict, net, key.split('.'))
        net.load_state_dict(state_dict)


# ---------------------------------------------------------------------------
# pix2pixHD

def hd_options(argv, is_train):
    p = argparse.ArgumentParser()
    p.add_argument('--name', type=str, default='label2city')
    p.add_argument('--gpu_ids', type=str, default='0')
    p.add_argument('--checkpoints_dir', type=str, default='./checkpoints')
    p.add_argument('--model', type=str, default='pix2pixHD')
    p.add_argument('--norm', type=str, default='instance')
    p.add_argument('--use_dropout', action='store_true')
    p.add_argument('--data_type', default=32, type=int, choices=[8, 16, 32])
    p.add_argument('--verbose', action='store_true', default=False)
    p.add_argument('--fp16', action='store_true', default=False)
    p.add_argument('--local_rank', type=int, default=0)
    p.add_argument('--batchSize', type=int, default=1)
    p.add_argument('--loadSize', type=int, default=1024)
    p.add_argument('--fineSize', type=int, default=512)
    p.add_argument('--label_nc', type=int, default=35)
    p.add_argument('--input_nc', type=int, default=3)
    p.add_argument('--output_nc', type=int, default=3)
    p.add_argument('--dataroot', type=str, default='./datasets/cityscapes/')
    p.add_argument('--resize_or_crop', type=str, default='scale_width')
    p.add_argument('--serial_batches', action='store_true')
    p.add_argument('--no_flip', action='store_true')
    p.add_argument('--nThreads', default=2, type=int)
    p.add_argument('--max_dataset_size', type=int, default=float("inf"))
    p.add_argument('--display_winsize', type=int, default=512)
    p.add_argument('--tf_log', action='store_true')
    p.add_argument('--netG', type=str, default='global')
    p.add_argument('--ngf', type=int, default=64)
    p.add_argument('--n_downsample_global', type=int, default=4)
    p.add_argument('--n_blocks_global', type=int, default=9)
    p.add_argument('--n_blocks_local', type=int, default=3)
    p.add_argument('--n_local_enhancers', type=int, default=1)
    p.add_argument('--niter_fix_global', type=int, default=0)
    p.add_argument('--no_instance', action='store_true')
    p.add_argument('--instance_feat', action='store_true')
    p.add_argument('--label_feat', action='store_true')
    p.add_argument('--feat_num', type=int, default=3)
    p.add_argument('--load_features', action='store_true')
    p.add_argument('--n_downsample_E', type=int, default=4)
    p.add_argument('--nef', type=int, default=16)
    p.add_argument('--n_clusters', type=int, default=10)
    if is_train:
        p.add_argument('--display_freq', type=int, default=100)
        p.add_argument('--print_freq', type=int, default=100)
        p.add_argument('--save_latest_freq', type=int, default=1000)
        p.add_argument('--save_epoch_freq', type=int, default=10)
        p.add_argument('--no_html', action='store_true')
        p.add_argument('--debug', action='store_true')
        p.add_argument('--continue_train', action='store_true')
        p.add_argument('--load_pretrain', type=str, default='')
        p.add_argument('--which_epoch', type=str, default='latest')
        p.add_argument('--phase', type=str, default='train')
        p.add_argument('--niter', type=int, default=100)
        p.add_argument('--niter_decay', type=int, default=100)
        p.add_argument('--beta1', type=float, default=0.5)
        p.add_argument('--lr', type=float, default=0.0002)
        p.add_argument('--num_D', type=int, default=2)
        p.add_argument('--n_layers_D', type=int, default=3)
        p.add_argument('--ndf', type=int, default=64)
        p.add_argument('--lambda_feat', type=float, default=10.0)
        p.add_argument('--no_ganFeat_loss', action='store_true')
        p.add_argument('--no_vgg_loss', action='store_true')
        p.add_argument('--no_lsgan', action='store_true')
        p.add_argument('--pool_size', type=int, default=0)
    else:
        p.add_argument('--ntest', type=int, default=float("inf"))
        p.add_argument('--results_dir', type=str, default='./results/')
        p.add_argument('--aspect_ratio', type=float, default=1.0)
        p.add_argument('--phase', type=str, default='test')
        p.add_argument('--which_epoch', type=str, default='latest')
        p.add_argument('--how_many', type=int, default=50)
        p.add_argument('--cluster_path', type=str, default='features_clustered_010.npy')
        p.add_argument('--use_encoded_image', action='store_true')
        p.add_argument("--export_onnx", type=str)
        p.add_argument("--engine", type=str)
        p.add_argument("--onnx", type=str)
    opt = p.parse_args(argv)
    opt.isTrain = is_train
    str_ids = opt.gpu_ids.split(',')
    opt.gpu_ids = []
    for str_id in str_ids:
        id = int(str_id)
        if id >= 0:
            opt.gpu_ids.append(id)
    return opt


def hd_save_options(opt):
    """BaseOptions.parse's save: opt.txt in [checkpoints_dir]/[name] unless continue_train."""
    expr_dir = os.path.join(opt.checkpoints_dir, opt.name)
    os.makedirs(expr_dir, exist_ok=True)
    if not opt.continue_train:
        file_name = os.path.join(expr_dir, 'opt.txt')
        with open(file_name, 'wt') as opt_file:
            opt_file.write(hd_options_text(opt))


def hd_options_text(opt):
    """What parse writes to opt.txt for hd_options' opt."""
    text = '------------ Options -------------\n'
    for k, v in sorted(vars(opt).items()):
        text += '%s: %s\n' % (str(k), str(v))
    return text + '-------------- End ----------------\n'


def hd_networks(opt):
    """Pix2PixHDModel.initialize's networks (gen_features: E)."""
    use_features = opt.instance_feat or opt.label_feat
    gen_features = use_features and not opt.load_features
    input_nc = opt.label_nc if opt.label_nc != 0 else opt.input_nc
    netG_input_nc = input_nc
    if not opt.no_instance:
        netG_input_nc += 1
    if use_features:
        netG_input_nc += opt.feat_num
    nets = {'G': rn.hd_define_G(netG_input_nc, opt.output_nc, opt.ngf, opt.netG, opt.n_downsample_global,
                                opt.n_blocks_global, opt.n_local_enhancers, opt.n_blocks_local, opt.norm)}
    if opt.isTrain:
        use_sigmoid = opt.no_lsgan
        netD_input_nc = input_nc + opt.output_nc
        if not opt.no_instance:
            netD_input_nc += 1
        nets['D'] = rn.hd_define_D(netD_input_nc, opt.ndf, opt.n_layers_D, opt.norm, use_sigmoid, opt.num_D,
                                   not opt.no_ganFeat_loss)
    if gen_features:
        nets['E'] = rn.hd_define_G(opt.output_nc, opt.feat_num, opt.nef, 'encoder', opt.n_downsample_E, norm=opt.norm)
    return nets


def hd_load_networks(opt, nets):
    save_dir = os.path.join(opt.checkpoints_dir, opt.name)
    for label, net in nets.items():
        save_path = os.path.join(save_dir, '%s_net_%s.pth' % (opt.which_epoch, label))
        if not os.path.isfile(save_path):
            raise SystemExit('%s not exists yet!' % save_path)
        net.load_state_dict(torch.load(save_path))


# ---------------------------------------------------------------------------
# pytorch/examples dcgan/main.py

def dcgan(argv):
    parser = argparse.ArgumentParser()
    parser.add_argument('--dataset', required=True)
    parser.add_argument('--dataroot', required=False)
    parser.add_argument('--workers', type=int, default=2)
    parser.add_argument('--batchSize', type=int, default=64)
    parser.add_argument('--imageSize', type=int, default=64)
    parser.add_argument('--nz', type=int, default=100)
    parser.add_argument('--ngf', type=int, default=64)
    parser.add_argument('--ndf', type=int, default=64)
    parser.add_argument('--niter', type=int, default=25)
    parser.add_argument('--lr', type=float, default=0.0002)
    parser.add_argument('--beta1', type=float, default=0.5)
    parser.add_argument('--dry-run', action='store_true')
    parser.add_argument('--ngpu', type=int, default=1)
    parser.add_argument('--netG', default='')
    parser.add_argument('--netD', default='')
    parser.add_argument('--outf', default='.')
    parser.add_argument('--manualSeed', type=int)
    parser.add_argument('--classes', default='bedroom')
    parser.add_argument('--accel', action='store_true', default=False)  # --cuda and --mps before May 2025
    opt = parser.parse_args(argv)
    nc = 1 if opt.dataset == 'mnist' else 3
    ngpu, nz, ngf, ndf = int(opt.ngpu), int(opt.nz), int(opt.ngf), int(opt.ndf)
    netG = rn.Generator(ngpu, nz, ngf, nc)
    netG.apply(rn.weights_init)
    if opt.netG != '':
        netG.load_state_dict(torch.load(opt.netG))
    netD = rn.Discriminator(ngpu, ndf, nc)
    netD.apply(rn.weights_init)
    if opt.netD != '':
        netD.load_state_dict(torch.load(opt.netD))
    return {'G': netG, 'D': netD}


# ---------------------------------------------------------------------------

def write_options(cmd):
    """The options file of the run that first trained: the train command without --continue_train."""
    words = [w for w in shlex.split(cmd) if w != '--continue_train']
    if words[1] != 'train.py':
        return
    if '--label_nc' in words:
        hd_save_options(hd_options(words[2:], True))
    else:
        cg_print_options(cg_options(words[2:], True))


def run(cmd):
    words = shlex.split(cmd)
    if words[0] != 'python':
        raise SystemExit('not a python command line: %s' % cmd)
    script, argv = words[1], words[2:]
    if script == 'main.py':
        return dcgan(argv)
    is_train = script == 'train.py'
    if script not in ('test.py', 'train.py'):
        raise SystemExit('unknown script %s' % script)
    if '--label_nc' in argv:  # pix2pixHD's options
        opt = hd_options(argv, is_train)
        nets = hd_networks(opt)
        hd_load_networks(opt, nets)
        return nets
    opt = cg_options(argv, is_train)
    if not is_train and opt.load_size != opt.crop_size:
        # test.py would resize to load_size and take a random crop_size crop, where gogan
        # translate gives the generator the image resized to the crop size
        raise SystemExit('%s: test-time load_size %d is not crop_size %d' % (cmd, opt.load_size, opt.crop_size))
    if opt.dataset_mode == 'single':
        # data/single_dataset.py: the images are read gray where this is 1, else RGB; the test
        # model's G takes input_nc channels (a BtoA with other output_nc feeds it the wrong ones)
        read_nc = opt.output_nc if opt.direction == 'BtoA' else opt.input_nc
        if (read_nc == 1) != (opt.input_nc == 1):
            raise SystemExit('%s: the single dataset reads %s images for a G of %d input channels'
                             % (cmd, 'gray' if read_nc == 1 else 'RGB', opt.input_nc))
    nets = cg_networks(opt)
    cg_load_networks(opt, nets)
    return nets


def main():
    with open(sys.argv[1]) as f:
        case = json.load(f)
    weights, _ = safetensors_torch.load(case["weights"])
    loaded = []
    if case.get("write_options"):
        for cmd in case["commands"]:
            write_options(cmd)
    for cmd in case["commands"]:
        for role, net in run(cmd).items():
            sd = net.state_dict()
            theirs = {k[len(role) + 1:]: v for k, v in weights.items() if k.startswith(role + ".")}
            if sorted(sd) != sorted(theirs):
                raise SystemExit("%s: network %s has keys %s, the checkpoint %s" % (cmd, role, sorted(sd)[:5], sorted(theirs)[:5]))
            for k, v in sd.items():
                w = theirs[k]
                if v.dtype != w.dtype or v.shape != w.shape or not torch.equal(v.reshape(-1).view(torch.uint8), w.reshape(-1).view(torch.uint8)):
                    raise SystemExit("%s: network %s: %s differs from the checkpoint's" % (cmd, role, k))
            loaded.append(role)
    print("loaded " + " ".join(loaded))


if __name__ == "__main__":
    main()
