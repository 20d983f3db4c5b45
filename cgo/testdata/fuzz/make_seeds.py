# Writes the torch.save seeds of the .pth fuzz targets (run with
# Debian's /usr/bin/python3, which has torch): whole archives for
# FuzzLoadPTH, and (data.pkl, data/0) pairs for FuzzPTHPickle.
import collections, io, os, zipfile
import torch


def go_bytes(b):
    return '[]byte("' + ''.join(chr(c) if 32 <= c < 127 and c not in (34, 92) else '\\x%02x' % c for c in b) + '")\n'


def seed(target, name, *values):
    d = os.path.join(os.path.dirname(os.path.abspath(__file__)), target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), 'w') as f:
        f.write('go test fuzz v1\n' + ''.join(go_bytes(v) for v in values))


def saved(obj, **kw):
    buf = io.BytesIO()
    torch.save(obj, buf, **kw)
    return buf.getvalue()


torch.manual_seed(0)
sd = collections.OrderedDict()
sd['conv.weight'] = torch.randn(2, 1, 2, 2)
sd['bn.num_batches_tracked'] = torch.tensor(3)
sd['half'] = torch.randn(3).half()
sd['bf16'] = torch.randn(2).bfloat16()
sd['mask'] = torch.tensor([True, False])
sd['bytes'] = torch.arange(3, dtype=torch.uint8)
sd['param'] = torch.nn.Parameter(torch.randn(2))
sd._metadata = collections.OrderedDict({'': {'version': 1}})
seed('FuzzLoadPTH', 'torch-save-state-dict', saved(sd))
seed('FuzzLoadPTH', 'torch-save-nested-protocol-4', saved({'epoch': 1, 'netG': sd}, pickle_protocol=4))
# The legacy format (PyTorch before 1.6; the published weights of 2017-2019).
seed('FuzzLoadPTH', 'torch-save-legacy', saved(sd, _use_new_zipfile_serialization=False))

# Views of one storage, so that the pickle needs the single record data/0.
base = torch.arange(12, dtype=torch.float32)
views = collections.OrderedDict()
views['flat'] = base
views['transposed'] = base.view(3, 4).t()
views['slice'] = base.view(3, 4)[1:, 1:3]
views['expanded'] = base[:1].expand(3)
views['param'] = torch.nn.Parameter(base.view(2, 6))
for proto in (2, 4):
    z = zipfile.ZipFile(io.BytesIO(saved({'model': views}, pickle_protocol=proto)))
    names = {n.split('/', 1)[1]: n for n in z.namelist()}
    seed('FuzzPTHPickle', 'torch-views-protocol-%d' % proto, z.read(names['data.pkl']), z.read(names['data/0']))
