"""Python side of gogan export's options-file test (e2e_export_test.go): checks that an
options file gogan export wrote is, byte for byte, the one the reference's train.py would have
written for the values it holds.

  options_check.py FILE

FILE is pytorch-CycleGAN-and-pix2pix's [phase]_opt.txt or pix2pixHD's opt.txt. Each option's value
in it is given back as a command-line flag (store_true flags where True) to the reference's
parser, transcribed in export_check.py (cg_options: BaseOptions, TrainOptions and the model's and
dataset's modify_commandline_options; hd_options: pix2pixHD's BaseOptions and TrainOptions); the
options that parser makes are printed as the reference prints them (print_options'
'{:>25}: {:<30}{}' with '\t[default: X]' where a value is not the parser's default; pix2pixHD's
parse's '%s: %s'), and that text must be FILE's. So every line's format, the options present, their
order and each printed default are the reference's. Neither reference reads the file back.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import export_check as ec  # noqa: E402


def argv_of(values, hd):
    argv = []
    for k, v in values:
        if k == 'isTrain':  # set after parsing
            continue
        if v in ('True', 'False'):  # the references' store_true flags
            if v == 'True':
                argv.append('--' + k)
            continue
        if k == 'max_dataset_size' and v == 'inf':  # float('inf'): the default, not an int to give
            continue
        if hd and k == 'gpu_ids':  # parse has made the list of it
            ids = v.strip('[]').replace(' ', '')
            v = ids if ids else '-1'
        argv += ['--' + k, v]
    return argv


def main():
    path = sys.argv[1]
    with open(path) as f:
        text = f.read()
    lines = text.split('\n')
    hd = lines[0] == '------------ Options -------------'
    values = []
    for line in lines[1:]:
        if line.startswith('---') or line == '':
            continue
        k, _, v = line.partition(': ')
        if not hd:
            v = v.split('\t[default: ')[0].rstrip(' ')
        values.append((k.strip(), v))
    argv = argv_of(values, hd)
    if hd:
        want = ec.hd_options_text(ec.hd_options(argv, True))
    else:
        want = ec.cg_options_message(ec.cg_options(argv, True)) + '\n'
    if text != want:
        got_lines, want_lines = text.split('\n'), want.split('\n')
        for i, (g, w) in enumerate(zip(got_lines, want_lines)):
            if g != w:
                raise SystemExit('%s line %d: %r, the reference prints %r (from %s)' % (path, i + 1, g, w, ' '.join(argv)))
        raise SystemExit('%s: %d lines, the reference prints %d' % (path, len(got_lines), len(want_lines)))
    print('ok %d options' % len(values))


if __name__ == '__main__':
    main()
