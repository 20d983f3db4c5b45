"""pix2pixHD's test.py on label maps, for gogan translate's parity test (e2e_translate_hd_test.go).

  testpy_hd_reference.py 'python test.py ...' DATAROOT OUT [--eval] [--features FILE]

The first argument is the test.py command line that gogan export printed; DATAROOT replaces its
--dataroot (test.py reads DATAROOT/test_label/ and, without --no_instance, DATAROOT/test_inst/).
Each synthesized image is written to OUT/<label map's base name>.png.

Transcribed from NVIDIA/pix2pixHD (not from gogan):
  - test.py: opt.nThreads = 1, batchSize = 1, serial_batches, no_flip; for each item of the
    dataset (up to --how_many), model.inference(data['label'], data['inst'], data['image']), then
    util.tensor2im(generated.data[0]) saved with PIL under the label map's base name.
    test.py never calls model.eval(): create_model builds an InferenceModel (a Pix2PixHDModel,
    an nn.Module in train mode) and nothing switches its netG to eval mode, so its BatchNorm
    layers normalise with the image's own statistics. That is what runs here by default;
    --eval is gogan translate's --eval, which the reference does not have: netG.eval() is
    called explicitly (BatchNorm's running statistics).
  - data/aligned_dataset.py __getitem__ (test phase, label_nc > 0): A = Image.open(label map),
    params = get_params(opt, A.size), transform_A = get_transform(opt, params,
    method=Image.NEAREST, normalize=False), A_tensor = transform_A(A) * 255.0; the instance map
    through the same transform_A (ToTensor: an 8-bit map divided by 255, a 16-bit one not).
  - data/base_dataset.py get_params and get_transform: parity_reference.py's transcription of
    them (hd_get_params, hd_get_transform), which the training parity test uses too; no flip
    outside training (test.py's no_flip, set below).
  - models/pix2pixHD_model.py encode_input (the one-hot scatter_ of the label map into
    label_nc channels, get_edges of the instance map concatenated after them; with label_feat the
    label map is the "instance" map), inference, get_edges, and sample_features (--features: each
    region id i of the instance map gets, for its class i if i < 1000 else i // 1000, the centre
    np.random.randint(0, k) of that class's k clusters, channel by channel; G's input is the
    label's channels then these). test.py without --use_encoded_image samples them, so that flag
    of the printed command is dropped with --features.
  - networks.define_G as Pix2PixHDModel.initialize calls it, and load_network: through
    export_check.py's transcription of options/*.py and the model's initialize
    (reference_nets.py's networks).
Where the reference cannot run as written: sample_features reads features_clustered_NNN.npy with
np.load(path, encoding='latin1').item(), which NumPy 1.16.3 and later refuse for a pickled dict
(allow_pickle=False); here the centres come from gogan features' file (tensors class.<id>, [k,
feat_num]), the dict encode_features.py would have pickled. A region whose class has no clusters
gets the uninitialised memory of sample_features' self.Tensor(...): undefined, so refused here.
One deliberate difference: Visualizer.save_images writes '<name>_synthesized_image.jpg' (JPEG,
lossy); this writes the same uint8 array as a PNG, as gogan translate does, so the two can be
compared pixel for pixel.
"""
import os
import shlex
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image  # noqa: E402

import export_check  # noqa: E402
import parity_reference  # noqa: E402
import safetensors_torch  # noqa: E402

IMG_EXTENSIONS = ['.jpg', '.JPG', '.jpeg', '.JPEG', '.png', '.PNG', '.ppm', '.PPM', '.bmp', '.BMP', '.tiff']


def is_image_file(filename):
    return any(filename.endswith(extension) for extension in IMG_EXTENSIONS)


def make_dataset(dir):
    images = []
    assert os.path.isdir(dir), '%s is not a valid directory' % dir
    for root, _, fnames in sorted(os.walk(dir)):
        for fname in fnames:
            if is_image_file(fname):
                images.append(os.path.join(root, fname))
    return images


def get_edges(t):
    edge = torch.ByteTensor(t.size()).zero_()
    edge[:, :, :, 1:] = edge[:, :, :, 1:] | (t[:, :, :, 1:] != t[:, :, :, :-1])
    edge[:, :, :, :-1] = edge[:, :, :, :-1] | (t[:, :, :, 1:] != t[:, :, :, :-1])
    edge[:, :, 1:, :] = edge[:, :, 1:, :] | (t[:, :, 1:, :] != t[:, :, :-1, :])
    edge[:, :, :-1, :] = edge[:, :, :-1, :] | (t[:, :, 1:, :] != t[:, :, :-1, :])
    return edge.float()


def tensor2im(image_tensor, imtype=np.uint8, normalize=True):
    image_numpy = image_tensor.cpu().float().numpy()
    if normalize:
        image_numpy = (np.transpose(image_numpy, (1, 2, 0)) + 1) / 2.0 * 255.0
    else:
        image_numpy = np.transpose(image_numpy, (1, 2, 0)) * 255.0
    image_numpy = np.clip(image_numpy, 0, 255)
    if image_numpy.shape[2] == 1 or image_numpy.shape[2] > 3:
        image_numpy = image_numpy[:, :, 0]
    return image_numpy.astype(imtype)


def sample_features(inst, features_clustered, feat_num):
    """Pix2PixHDModel.sample_features, the clusters given (see above); NaN where the reference
    leaves its tensor unset."""
    inst_np = inst.cpu().numpy().astype(int)
    feat_map = torch.full((inst.size()[0], feat_num, inst.size()[2], inst.size()[3]), float('nan'))
    for i in np.unique(inst_np):
        label = i if i < 1000 else i // 1000
        if label in features_clustered:
            feat = features_clustered[label]
            cluster_idx = np.random.randint(0, feat.shape[0])

            idx = (inst == int(i)).nonzero()
            for k in range(feat_num):
                feat_map[idx[:, 0], idx[:, 1] + k, idx[:, 2], idx[:, 3]] = feat[cluster_idx, k]
    if torch.isnan(feat_map).any():
        raise SystemExit('a region of a class without clusters: sample_features leaves its features unset')
    return feat_map


def read_clusters(path):
    """gogan features' file as encode_features.py's dict: class -> [k, feat_num] float64 centres."""
    tensors, _ = safetensors_torch.load(path)
    return {int(k[len('class.'):]): v.double().numpy() for k, v in tensors.items() if k.startswith('class.')}


def main():
    cmd, dataroot, out = sys.argv[1], sys.argv[2], sys.argv[3]
    eval_mode = '--eval' in sys.argv[4:]
    clusters = None
    if '--features' in sys.argv[4:]:
        clusters = read_clusters(sys.argv[sys.argv.index('--features') + 1])
    words = shlex.split(cmd)
    if words[:2] != ['python', 'test.py']:
        raise SystemExit('not a test.py command line: %s' % cmd)
    opt = export_check.hd_options(words[2:] + ['--dataroot', dataroot], False)
    opt.nThreads = 1
    opt.batchSize = 1
    opt.serial_batches = True
    opt.no_flip = True
    use_features = opt.instance_feat or opt.label_feat
    if clusters is not None:
        opt.use_encoded_image = False
    if opt.label_nc == 0 or (use_features and clusters is None):
        raise SystemExit('this transcription covers label maps, with features from clusters (--features) only')

    nets = export_check.hd_networks(opt)
    export_check.hd_load_networks(opt, nets)
    netG = nets['G']  # in train mode, as test.py leaves it
    if eval_mode:
        netG.eval()

    A_paths = sorted(make_dataset(os.path.join(opt.dataroot, opt.phase + '_label')))
    if not opt.no_instance:
        inst_paths = sorted(make_dataset(os.path.join(opt.dataroot, opt.phase + '_inst')))
    os.makedirs(out, exist_ok=True)
    for i, A_path in enumerate(A_paths):
        if i >= opt.how_many:
            break
        # AlignedDataset.__getitem__, then the DataLoader's batch of 1
        A = Image.open(A_path)
        params = parity_reference.hd_get_params(vars(opt), A.size)
        transform_A = parity_reference.hd_get_transform(vars(opt), params, method=Image.NEAREST, normalize=False)
        label = (transform_A(A) * 255.0).unsqueeze(0)
        inst = 0
        if not opt.no_instance:
            inst = transform_A(Image.open(inst_paths[i])).unsqueeze(0)
        # Pix2PixHDModel.encode_input
        size = label.size()
        oneHot_size = (size[0], opt.label_nc, size[2], size[3])
        input_label = torch.FloatTensor(torch.Size(oneHot_size)).zero_()
        input_label = input_label.scatter_(1, label.data.long(), 1.0)
        if not opt.no_instance:
            input_label = torch.cat((input_label, get_edges(inst.data)), dim=1)
        # inference: torch 1.13 is not 0.4, so no torch.no_grad() there
        input_concat = input_label
        if use_features:
            inst_map = label if opt.label_feat else inst
            input_concat = torch.cat((input_label, sample_features(inst_map, clusters, opt.feat_num)), dim=1)
        with torch.no_grad():  # the outputs are the same; only no graph is kept
            generated = netG.forward(input_concat)
        image_numpy = tensor2im(generated.data[0])
        name = os.path.splitext(os.path.basename(A_path))[0]
        Image.fromarray(image_numpy).save(os.path.join(out, name + '.png'))
        print('process image... %s' % A_path)


if __name__ == '__main__':
    main()
