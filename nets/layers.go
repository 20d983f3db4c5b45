package nets

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	torch "gogan/cgo"
)

func newLeaf(class, args string) Base {
	b := newBase(class, args)
	b.row = true
	return b
}

// param is a new trainable float32 tensor on dev that no scope frees.
func param(dev torch.Device, shape ...int64) *torch.Tensor {
	return torch.Zeros(torch.Float32, dev, shape...).Persist().SetRequiresGrad(true)
}

// buffer is a new tensor filled with v that no scope frees.
func buffer(v float64, dt torch.DType, dev torch.Device, shape ...int64) *torch.Tensor {
	return torch.Full(v, dt, dev, shape...).Persist()
}

func pyTuple(v [2]int64) string { return fmt.Sprintf("(%d, %d)", v[0], v[1]) }

func pyBool(v bool) string {
	if v {
		return "True"
	}
	return "False"
}

func pyFloat(v float64) string {
	if v != 0 && math.Abs(v) < 1e-4 {
		return strconv.FormatFloat(v, 'e', -1, 64) // 1e-05, as Python
	}
	s := strconv.FormatFloat(v, 'f', -1, 64)
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	return s
}

// ConvSpec is the geometry of a (transposed) convolution with a square kernel.
type ConvSpec struct {
	In, Out       int64
	Kernel        int64
	Stride        int64 // 0 means 1
	Padding       int64
	OutputPadding int64 // ConvTranspose2d only
	Bias          bool
}

func (s ConvSpec) opts() torch.ConvOpts {
	st := s.Stride
	if st == 0 {
		st = 1
	}
	return torch.ConvOpts{Stride: [2]int64{st, st}, Padding: [2]int64{s.Padding, s.Padding},
		OutputPadding: [2]int64{s.OutputPadding, s.OutputPadding}}
}

// repr is PyTorch's extra_repr of _ConvNd.
func (s ConvSpec) repr(transposed bool) string {
	o := s.opts()
	var b strings.Builder
	fmt.Fprintf(&b, "%d, %d, kernel_size=%s, stride=%s", s.In, s.Out, pyTuple([2]int64{s.Kernel, s.Kernel}), pyTuple(o.Stride))
	if s.Padding != 0 {
		fmt.Fprintf(&b, ", padding=%s", pyTuple(o.Padding))
	}
	if transposed && s.OutputPadding != 0 {
		fmt.Fprintf(&b, ", output_padding=%s", pyTuple(o.OutputPadding))
	}
	if !s.Bias {
		b.WriteString(", bias=False")
	}
	return b.String()
}

// resetConv is _ConvNd.reset_parameters: kaiming_uniform_(a=sqrt(5)) for the
// weight, U(-1/sqrt(fan_in), 1/sqrt(fan_in)) for the bias, where fan_in is
// weight.size(1) times the kernel area (as PyTorch computes it, for
// transposed convolutions too). The draws come from the CPU generator
// whatever the device w is on: the references build their networks on the
// CPU and move them to the GPU before init_weights (init_net, main.py's
// .to(device), pix2pixHD's define_G), so only the initialisation draws from
// the GPU's generator, and the CPU's has moved on by the construction's
// draws when the DataLoader takes its seeds.
func resetConv(w, b *torch.Tensor) {
	if w.Device().IsCUDA() {
		sc := torch.NewScope()
		defer sc.Close()
		cw := torch.Empty(torch.Float32, torch.CPUDevice, false, w.Shape()...) // every value drawn below
		var cb *torch.Tensor
		if b != nil {
			cb = torch.Empty(torch.Float32, torch.CPUDevice, false, b.Shape()...)
		}
		resetConv(cw, cb)
		w.CopyFrom(cw)
		if b != nil {
			b.CopyFrom(cb)
		}
		return
	}
	w.Init(torch.KaimingUniform, math.Sqrt(5))
	if b != nil {
		s := w.Shape()
		fanIn := s[1] * s[2] * s[3]
		if fanIn > 0 {
			bound := 1 / math.Sqrt(float64(fanIn))
			b.FillUniform(-bound, bound)
		}
	}
}

// Conv2d is nn.Conv2d: parameters weight [out, in, k, k] and bias [out] (when Bias).
type Conv2d struct {
	Base
	Spec         ConvSpec
	Weight, Bias *torch.Tensor
}

// NewConv2d makes an nn.Conv2d on dev, initialised as PyTorch does.
func NewConv2d(s ConvSpec, dev torch.Device) *Conv2d {
	b, w, bias := convLeaf("Conv2d", s, false, dev, s.Out, s.In, s.Kernel, s.Kernel)
	return &Conv2d{Base: b, Spec: s, Weight: w, Bias: bias}
}

// Forward is F.conv2d.
func (c *Conv2d) Forward(x *torch.Tensor) *torch.Tensor {
	return torch.Conv2d(x, c.Weight, c.Bias, c.Spec.opts())
}

// ConvTranspose2d is nn.ConvTranspose2d: weight [in, out, k, k] and bias [out] (when Bias).
type ConvTranspose2d struct {
	Base
	Spec         ConvSpec
	Weight, Bias *torch.Tensor
}

// NewConvTranspose2d makes an nn.ConvTranspose2d on dev, initialised as PyTorch does.
func NewConvTranspose2d(s ConvSpec, dev torch.Device) *ConvTranspose2d {
	b, w, bias := convLeaf("ConvTranspose2d", s, true, dev, s.In, s.Out, s.Kernel, s.Kernel)
	return &ConvTranspose2d{Base: b, Spec: s, Weight: w, Bias: bias}
}

// Forward is F.conv_transpose2d.
func (c *ConvTranspose2d) Forward(x *torch.Tensor) *torch.Tensor {
	return torch.ConvTranspose2d(x, c.Weight, c.Bias, c.Spec.opts())
}

// convLeaf builds what nn.Conv2d and nn.ConvTranspose2d have alike, which
// differ only in the weight's shape (in and out swapped) and the forward:
// the module named class, its weight and its bias [out] (when s.Bias),
// initialised as PyTorch's reset_parameters does and registered as "weight"
// and "bias".
func convLeaf(class string, s ConvSpec, transposed bool, dev torch.Device, weightShape ...int64) (b Base, weight, bias *torch.Tensor) {
	b = newLeaf(class, s.repr(transposed))
	weight = param(dev, weightShape...)
	if s.Bias {
		bias = param(dev, s.Out)
	}
	resetConv(weight, bias)
	b.addParam("weight", weight)
	b.addParam("bias", bias)
	return b, weight, bias
}

// Norm layer defaults, as PyTorch's.
const (
	normEps      = 1e-5
	normMomentum = 0.1
)

// BatchNorm2d is nn.BatchNorm2d(n, affine, track_running_stats): parameters
// weight and bias (affine), buffers running_mean, running_var and the int64
// scalar num_batches_tracked (tracking). In train mode it normalises with the
// batch's statistics and updates the running ones (momentum 0.1); in eval mode
// it uses the running ones.
type BatchNorm2d struct {
	normBase
	syncRanks int // > 1: SyncBatchNorm over that many ranks
}

// normBase is nn._NormBase: a norm layer's features, affine parameters and
// running statistics.
type normBase struct {
	Base
	Features                                   int64
	Weight, Bias                               *torch.Tensor
	RunningMean, RunningVar, NumBatchesTracked *torch.Tensor
	track                                      bool
}

// newNormBase is nn._NormBase(n, eps, momentum, affine, track_running_stats)
// named kind on dev (weight 1, bias 0, running mean 0, variance 1).
func newNormBase(kind string, n int64, affine, trackRunningStats bool, dev torch.Device) normBase {
	args := fmt.Sprintf("%d, eps=%s, momentum=%s, affine=%s, track_running_stats=%s", n, pyFloat(normEps),
		pyFloat(normMomentum), pyBool(affine), pyBool(trackRunningStats))
	l := normBase{Base: newLeaf(kind, args), Features: n, track: trackRunningStats}
	if affine {
		l.Weight = param(dev, n)
		l.Weight.Fill(1)
		l.Bias = param(dev, n)
	}
	if trackRunningStats {
		l.RunningMean = buffer(0, torch.Float32, dev, n)
		l.RunningVar = buffer(1, torch.Float32, dev, n)
		l.NumBatchesTracked = buffer(0, torch.Int64, dev)
	}
	l.addParam("weight", l.Weight)
	l.addParam("bias", l.Bias)
	l.addBuffer("running_mean", l.RunningMean)
	l.addBuffer("running_var", l.RunningVar)
	l.addBuffer("num_batches_tracked", l.NumBatchesTracked)
	return l
}

// NewBatchNorm2d makes an nn.BatchNorm2d on dev (weight 1, bias 0, running mean 0, variance 1).
func NewBatchNorm2d(n int64, affine, trackRunningStats bool, dev torch.Device) *BatchNorm2d {
	return &BatchNorm2d{normBase: newNormBase("BatchNorm2d", n, affine, trackRunningStats, dev)}
}

// Forward is nn.BatchNorm2d.forward.
func (b *BatchNorm2d) Forward(x *torch.Tensor) *torch.Tensor {
	if d := x.Dim(); d != 4 {
		panic(&torch.Error{Op: "batch_norm2d", Msg: fmt.Sprintf("expected 4D input, got %dD input %v", d, x.Shape())})
	}
	if c := x.Shape()[1]; c != b.Features {
		panic(&torch.Error{Op: "batch_norm2d", Msg: fmt.Sprintf("input has %d channels, the layer %d", c, b.Features)})
	}
	training := b.Training()
	if (training || !b.track) && b.syncRanks > 1 {
		return b.syncForward(x)
	}
	if training && b.track {
		y := torch.BatchNorm(x, b.Weight, b.Bias, b.RunningMean, b.RunningVar, true, normMomentum, normEps)
		b.NumBatchesTracked.AddInPlace(1)
		return y
	}
	if !b.track {
		// no running statistics: batch statistics in both modes, as PyTorch
		return torch.BatchNorm(x, b.Weight, b.Bias, nil, nil, true, normMomentum, normEps)
	}
	return torch.BatchNorm(x, b.Weight, b.Bias, b.RunningMean, b.RunningVar, false, normMomentum, normEps)
}

// InstanceNorm2d is nn.InstanceNorm2d(n, affine, track_running_stats) (the
// references use affine=False, track_running_stats=False: no parameters, no
// buffers).
type InstanceNorm2d struct {
	normBase
}

// NewInstanceNorm2d makes an nn.InstanceNorm2d on dev.
func NewInstanceNorm2d(n int64, affine, trackRunningStats bool, dev torch.Device) *InstanceNorm2d {
	return &InstanceNorm2d{normBase: newNormBase("InstanceNorm2d", n, affine, trackRunningStats, dev)}
}

// Forward is F.instance_norm with the input's statistics unless the layer
// tracks running statistics and is in eval mode.
func (l *InstanceNorm2d) Forward(x *torch.Tensor) *torch.Tensor {
	if d := x.Dim(); d != 4 {
		panic(&torch.Error{Op: "instance_norm2d", Msg: fmt.Sprintf("expected 4D input, got %dD input %v", d, x.Shape())})
	}
	return torch.InstanceNorm(x, l.Weight, l.Bias, l.RunningMean, l.RunningVar, l.Training() || !l.track,
		normMomentum, normEps)
}

// Dropout is nn.Dropout(p): active in train mode only.
type Dropout struct {
	Base
	P float64
	// ranks > 1: data parallelism (Net.DropoutOverRanks); this process is
	// rank of them.
	rank, ranks int64
}

// NewDropout is nn.Dropout(p).
func NewDropout(p float64) *Dropout {
	return &Dropout{Base: newLeaf("Dropout", fmt.Sprintf("p=%s, inplace=False", pyFloat(p))), P: p}
}

// Forward is F.dropout(x, p, training). Over several ranks, each holding an
// equal share of the global batch, the mask is drawn for the global batch
// (F.dropout of ones, the same kernel and draws as one process's) and this
// rank's rows of it scale x: the ranks drop what one process would, and
// their generators move on as its does.
func (d *Dropout) Forward(x *torch.Tensor) *torch.Tensor {
	if d.ranks < 2 || !d.Training() || d.P == 0 {
		return torch.Dropout(x, d.P, d.Training())
	}
	sh := x.Shape()
	n := sh[0]
	sh[0] *= d.ranks
	mask := torch.Dropout(torch.Ones(x.DType(), x.Device(), sh...), d.P, true)
	return x.Mul(mask.Narrow(0, d.rank*n, n))
}

// act is a parameter-free elementwise layer.
type act struct {
	Base
	f func(*torch.Tensor) *torch.Tensor
}

func (a *act) Forward(x *torch.Tensor) *torch.Tensor { return a.f(x) }

// NewReLU is nn.ReLU. inplace overwrites the input as the references do
// (their layers are ReLU(True) after a convolution or a norm): the backward
// pass then keeps one tensor where it would keep two.
func NewReLU(inplace bool) Module {
	if inplace {
		return &act{Base: newLeaf("ReLU", "inplace=True"), f: (*torch.Tensor).Relu_}
	}
	return &act{Base: newLeaf("ReLU", ""), f: (*torch.Tensor).Relu}
}

// NewLeakyReLU is nn.LeakyReLU(slope), overwriting its input when inplace
// (as NewReLU).
func NewLeakyReLU(slope float64, inplace bool) Module {
	args := "negative_slope=" + pyFloat(slope)
	if inplace {
		return &act{Base: newLeaf("LeakyReLU", args+", inplace=True"), f: func(x *torch.Tensor) *torch.Tensor { return x.LeakyRelu_(slope) }}
	}
	return &act{Base: newLeaf("LeakyReLU", args), f: func(x *torch.Tensor) *torch.Tensor { return x.LeakyRelu(slope) }}
}

// NewTanh is nn.Tanh.
func NewTanh() Module { return &act{Base: newLeaf("Tanh", ""), f: (*torch.Tensor).Tanh} }

// NewSigmoid is nn.Sigmoid.
func NewSigmoid() Module { return &act{Base: newLeaf("Sigmoid", ""), f: (*torch.Tensor).Sigmoid} }

// NewIdentity is the references' Identity (norm "none"): a placeholder that
// takes an index in its Sequential.
func NewIdentity() Module { return &act{Base: newLeaf("Identity", ""), f: alias} }

// Pad2d is nn.ReflectionPad2d, nn.ReplicationPad2d or nn.ZeroPad2d with the same padding on every side.
type Pad2d struct {
	Base
	Mode torch.PadMode
	N    int64
}

// NewPad2d pads by n on every side.
func NewPad2d(mode torch.PadMode, n int64) *Pad2d {
	class := map[torch.PadMode]string{torch.PadReflect: "ReflectionPad2d", torch.PadReplicate: "ReplicationPad2d",
		torch.PadZero: "ZeroPad2d"}[mode]
	return &Pad2d{Base: newLeaf(class, fmt.Sprintf("(%d, %d, %d, %d)", n, n, n, n)), Mode: mode, N: n}
}

// Forward pads the last two dimensions.
func (p *Pad2d) Forward(x *torch.Tensor) *torch.Tensor {
	return torch.Pad2d(x, p.Mode, p.N, p.N, p.N, p.N)
}

// AvgPool2d is nn.AvgPool2d with a square kernel.
type AvgPool2d struct {
	Base
	Kernel, Stride, Padding int64
	CountIncludePad         bool
}

// NewAvgPool2d is nn.AvgPool2d(kernel, stride, padding, count_include_pad=...).
func NewAvgPool2d(kernel, stride, padding int64, countIncludePad bool) *AvgPool2d {
	args := fmt.Sprintf("kernel_size=%d, stride=%d, padding=[%d, %d]", kernel, stride, padding, padding)
	return &AvgPool2d{Base: newLeaf("AvgPool2d", args), Kernel: kernel, Stride: stride, Padding: padding,
		CountIncludePad: countIncludePad}
}

// Forward is F.avg_pool2d.
func (p *AvgPool2d) Forward(x *torch.Tensor) *torch.Tensor {
	return torch.AvgPool2d(x, [2]int64{p.Kernel, p.Kernel}, [2]int64{p.Stride, p.Stride},
		[2]int64{p.Padding, p.Padding}, false, p.CountIncludePad)
}

// syncForward is torch.nn.SyncBatchNorm in training: the mean and the
// (biased) variance of the global batch, each a per-rank sum added up over
// the ranks by a differentiable allreduce, so the gradients see the global
// statistics too. Every rank's batch has the same size (the loader makes
// it so); the running statistics take the unbiased variance, as
// BatchNorm's.
func (b *BatchNorm2d) syncForward(x *torch.Tensor) *torch.Tensor {
	s := x.Shape()
	c := s[1]
	count := float64(s[0]*s[2]*s[3]) * float64(b.syncRanks)
	dims := []int64{0, 2, 3}
	mean := torch.SumOverRanks(x.SumDims(dims, false)).DivScalar(count)
	xm := x.Sub(mean.View(1, c, 1, 1))
	variance := torch.SumOverRanks(xm.Square().SumDims(dims, false)).DivScalar(count)
	y := xm.Div(variance.AddScalar(normEps).Sqrt().View(1, c, 1, 1))
	if b.Weight != nil {
		y = y.Mul(b.Weight.View(1, c, 1, 1)).Add(b.Bias.View(1, c, 1, 1))
	}
	if b.track {
		torch.NoGrad(func() {
			unbiased := variance.Detach().MulScalar(count / max(count-1, 1))
			b.RunningMean.CopyFrom(mean.Detach().MulScalar(normMomentum).Add(b.RunningMean.MulScalar(1 - normMomentum)))
			b.RunningVar.CopyFrom(unbiased.MulScalar(normMomentum).Add(b.RunningVar.MulScalar(1 - normMomentum)))
		})
		b.NumBatchesTracked.AddInPlace(1)
	}
	return y
}

// DropoutOverRanks makes the network's Dropout layers draw their masks for
// the global batch of ranks processes and keep rank's rows (1 undoes it),
// so that data-parallel ranks drop what one process with the global batch
// drops, where each would otherwise draw the first rows' mask.
func (n *Net) DropoutOverRanks(rank, ranks int) {
	for _, m := range n.modules {
		if l, ok := m.(*Dropout); ok {
			l.rank, l.ranks = int64(rank), int64(ranks)
		}
	}
}

// HasBatchNorm and HasDropout say whether the network has such layers: what
// a data-parallel run's ranks normalise with, and mask, sample by sample.
func (n *Net) HasBatchNorm() bool { return hasLayer[*BatchNorm2d](n) }
func (n *Net) HasDropout() bool   { return hasLayer[*Dropout](n) }

func hasLayer[T Module](n *Net) bool {
	for _, m := range n.modules {
		if _, ok := m.(T); ok {
			return true
		}
	}
	return false
}

// SyncBatchNorm makes the network's BatchNorm layers SyncBatchNorm over
// ranks processes (torch.nn.SyncBatchNorm.convert_sync_batchnorm); 1 undoes
// it. The process group must be joined.
func (n *Net) SyncBatchNorm(ranks int) (converted int) {
	for _, m := range n.modules {
		if l, ok := m.(*BatchNorm2d); ok {
			l.syncRanks = ranks
			converted++
		}
	}
	return converted
}
