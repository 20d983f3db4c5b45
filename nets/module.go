// Package nets holds gogan's layers and networks: DCGAN (pytorch/examples), the
// pix2pix / CycleGAN U-Net and ResNet generators and PatchGAN and pixel
// discriminators (pytorch-CycleGAN-and-pix2pix), and pix2pixHD's multi-scale
// discriminator.
//
// A network is a tree of modules whose parameters and buffers carry the
// reference implementation's state-dict keys, in its order and with its
// shapes, so weights move both ways between gogan and PyTorch (Net.StateDict,
// Net.LoadStateDict; scripts/reference_nets.py is the PyTorch side of the tests).
//
// Choices where the references leave room:
//   - DCGAN at 32, 128 and 256 (pytorch/examples works at 64 only): one
//     up/down stage fewer or more, the widest layer having ngf (ndf) times
//     size/8 channels, halving (doubling) per stage; keys stay main.N.
//     The discriminator returns output.view(-1), shape [N], as the reference.
//   - The U-Net takes any num_downs >= 5 (unet_<2^k>, or unet with NumDowns)
//     and the ResNet any number of blocks (resnet_<n>blocks).
//   - The multi-scale discriminator is pix2pixHD's, keys included
//     (layer{i}.N, or scale{i}_layer{j}.N with GetIntermFeat), with its own
//     PatchGAN (padding 2, biases everywhere, widths capped at 512), not
//     pytorch-CycleGAN-and-pix2pix's.
//   - Norm defaults to batch (pix2pix's choice) for every kind.
//
// Memory: parameters and buffers are made outside any torch.Scope and live
// until Net.Free. A forward pass makes its result in the caller's scope and
// frees its own intermediate handles as it goes (autograd keeps what it needs
// on the C++ side), so it works the same with grad enabled and in torch.NoGrad.
//
// Errors: layers are plain expressions over package torch, which panics with a
// *torch.Error on a bad shape; constructors, LoadStateDict and Describe turn
// that into an error, and a training step checks once with torch.Try.
package nets

import (
	"fmt"
	"strings"

	torch "gogan/cgo"
)

// Module is a layer or a container of layers. Every Forward returns a new
// tensor handle (never its input), which the caller owns.
type Module interface {
	Forward(x *torch.Tensor) *torch.Tensor
	base() *Base
}

// state is what all modules of one network share: the train/eval mode and,
// during Describe, the recorder of output shapes.
type state struct {
	training bool
	rec      *recorder
}

type slot struct {
	name string
	t    *torch.Tensor
}

type child struct {
	name string
	m    Module
}

// Base is embedded in every module: its PyTorch class name, a repr for
// Describe, its own parameters and buffers and its children, each in
// registration order (PyTorch's state-dict order).
type Base struct {
	class    string // PyTorch's class name, e.g. "Conv2d"
	args     string // PyTorch's extra_repr, e.g. "3, 64, kernel_size=(4, 4), ..."
	params   []slot
	buffers  []slot
	children []child
	st       *state
	path     string // the state-dict prefix of this module, without the final dot
	row      bool   // Describe gives this module a row (leaves and blocks)
}

func (b *Base) base() *Base { return b }

func newBase(class, args string) Base {
	return Base{class: class, args: args, st: &state{training: true}}
}

// Training reports whether the module is in train mode.
func (b *Base) Training() bool { return b.st.training }

// Repr is the module as PyTorch prints it, e.g. "Conv2d(3, 64, kernel_size=(4, 4), ...)".
func (b *Base) Repr() string { return b.class + "(" + b.args + ")" }

func (b *Base) addParam(name string, t *torch.Tensor) {
	if t != nil {
		b.params = append(b.params, slot{name, t})
	}
}

func (b *Base) addBuffer(name string, t *torch.Tensor) {
	if t != nil {
		b.buffers = append(b.buffers, slot{name, t})
	}
}

func (b *Base) addChild(name string, m Module) { b.children = append(b.children, child{name, m}) }

// visit calls fn on m and its descendants in pre-order, with each one's
// state-dict prefix.
func visit(m Module, prefix string, fn func(m Module, prefix string)) {
	fn(m, prefix)
	for _, c := range m.base().children {
		p := c.name
		if prefix != "" {
			p = prefix + "." + c.name
		}
		visit(c.m, p, fn)
	}
}

// call runs m's Forward, recording its output shape when a Describe is running.
func call(m Module, x *torch.Tensor) *torch.Tensor {
	b := m.base()
	r := b.st.rec
	if r == nil || !b.row {
		return m.Forward(x)
	}
	i := r.begin(b)
	y := m.Forward(x)
	r.end(i, y)
	return y
}

// recorder collects Describe's rows in call order, blocks before their layers.
type recorder struct {
	rows  []row
	depth int
}

type row struct {
	name, layer string
	shape       []int64
	params      int64
	depth       int
	block       bool
}

func (r *recorder) begin(b *Base) int {
	n := int64(0)
	for _, p := range b.params {
		n += p.t.Numel()
	}
	block := len(b.children) > 0
	if block {
		n = countParams(b)
	}
	r.rows = append(r.rows, row{name: b.path, layer: b.class, params: n, depth: r.depth, block: block})
	if !block {
		r.rows[len(r.rows)-1].layer = b.Repr()
	}
	r.depth++
	return len(r.rows) - 1
}

func (r *recorder) end(i int, y *torch.Tensor) {
	r.depth--
	r.rows[i].shape = y.Shape()
}

func countParams(b *Base) int64 {
	n := int64(0)
	for _, p := range b.params {
		n += p.t.Numel()
	}
	for _, c := range b.children {
		n += countParams(c.m.base())
	}
	return n
}

// Sequential is nn.Sequential: children named 0, 1, 2, ... run in order.
type Sequential struct {
	Base
	layers []Module
}

// NewSequential is nn.Sequential(layers...).
func NewSequential(layers ...Module) *Sequential {
	s := &Sequential{Base: newBase("Sequential", "")}
	for _, l := range layers {
		s.Append(l)
	}
	return s
}

// Append adds a layer at the end, named by its index.
func (s *Sequential) Append(l Module) {
	s.addChild(fmt.Sprint(len(s.layers)), l)
	s.layers = append(s.layers, l)
}

// Len is the number of layers.
func (s *Sequential) Len() int { return len(s.layers) }

// Layer is the i-th layer.
func (s *Sequential) Layer(i int) Module { return s.layers[i] }

// Forward runs the layers in order, freeing the intermediate results.
func (s *Sequential) Forward(x *torch.Tensor) *torch.Tensor {
	h := x
	for _, l := range s.layers {
		y := call(l, h)
		if h != x {
			h.Free()
		}
		h = y
	}
	if h == x {
		return alias(x)
	}
	return h
}

// alias is a new handle to x's tensor, keeping its autograd history.
func alias(x *torch.Tensor) *torch.Tensor { return torch.Dropout(x, 0, false) }

// wrapper is a network's top module: one named child and an optional step
// after it (the DCGAN discriminator's view(-1)).
type wrapper struct {
	Base
	inner Module
	post  func(*torch.Tensor) *torch.Tensor
}

func newWrapper(class, childName string, inner Module, post func(*torch.Tensor) *torch.Tensor) *wrapper {
	w := &wrapper{Base: newBase(class, ""), inner: inner, post: post}
	w.addChild(childName, inner)
	return w
}

func (w *wrapper) Forward(x *torch.Tensor) *torch.Tensor {
	y := call(w.inner, x)
	if w.post == nil {
		return y
	}
	z := w.post(y)
	y.Free()
	return z
}

// shapeString prints a shape as [1 3 64 64].
func shapeString(s []int64) string {
	parts := make([]string, len(s))
	for i, v := range s {
		parts[i] = fmt.Sprint(v)
	}
	return "[" + strings.Join(parts, " ") + "]"
}
