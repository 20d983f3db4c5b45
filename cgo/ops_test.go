package torch

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

// in describes one input of a case: its shape, its distribution, and whether
// its gradient is checked (grad) or its final value is (state, for running stats).
type in struct {
	shape  []int64
	lo, hi float64 // uniform in [lo, hi); lo == hi means standard normal
	grad   bool
	state  bool
}

func normal(shape ...int64) in                  { return in{shape: shape, grad: true} }
func positive(shape ...int64) in                { return in{shape: shape, lo: 0.5, hi: 2, grad: true} }
func prob(shape ...int64) in                    { return in{shape: shape, lo: 0.05, hi: 0.95, grad: true} }
func (i in) noGrad() in                         { i.grad = false; return i }
func (i in) stateOnly() in                      { i.grad, i.state = false, true; return i }
func uniform(lo, hi float64, shape ...int64) in { return in{shape: shape, lo: lo, hi: hi} }

type opCase struct {
	Name   string         `json:"name"`
	Op     string         `json:"op"`
	Params map[string]any `json:"params"`
	Inputs []string       `json:"inputs"`
	Grad   []string       `json:"grad"`
	State  []string       `json:"state,omitempty"`

	ins []in
	run func(x []*Tensor) *Tensor
}

type P = map[string]any

func opCases() []*opCase {
	x4 := func(s ...int64) in { return normal(s...) }
	conv := func(stride, pad, dil [2]int64, groups int64) func(x []*Tensor) *Tensor {
		return func(x []*Tensor) *Tensor {
			var b *Tensor
			if len(x) > 2 {
				b = x[2]
			}
			return Conv2d(x[0], x[1], b, ConvOpts{Stride: stride, Padding: pad, Dilation: dil, Groups: groups})
		}
	}
	convT := func(stride, pad, outPad [2]int64, groups int64) func(x []*Tensor) *Tensor {
		return func(x []*Tensor) *Tensor {
			var b *Tensor
			if len(x) > 2 {
				b = x[2]
			}
			return ConvTranspose2d(x[0], x[1], b, ConvOpts{Stride: stride, Padding: pad, OutputPadding: outPad, Groups: groups})
		}
	}
	convP := func(stride, pad, dil [2]int64, groups int64) P {
		return P{"stride": stride, "padding": pad, "dilation": dil, "groups": groups}
	}
	cs := []*opCase{
		{Name: "conv2d_groups", Op: "conv2d", Params: convP([2]int64{2, 1}, [2]int64{1, 2}, [2]int64{1, 1}, 2),
			ins: []in{x4(2, 4, 9, 9), x4(6, 2, 3, 3), x4(6)}, run: conv([2]int64{2, 1}, [2]int64{1, 2}, [2]int64{1, 1}, 2)},
		{Name: "conv2d_dcgan_nobias", Op: "conv2d", Params: convP([2]int64{2, 2}, [2]int64{1, 1}, [2]int64{1, 1}, 1),
			ins: []in{x4(2, 3, 8, 8), x4(5, 3, 4, 4)}, run: conv([2]int64{2, 2}, [2]int64{1, 1}, [2]int64{1, 1}, 1)},
		{Name: "conv2d_dilated", Op: "conv2d", Params: convP([2]int64{1, 1}, [2]int64{2, 2}, [2]int64{2, 2}, 1),
			ins: []in{x4(1, 2, 7, 7), x4(3, 2, 3, 3), x4(3)}, run: conv([2]int64{1, 1}, [2]int64{2, 2}, [2]int64{2, 2}, 1)},
		{Name: "conv_transpose2d", Op: "conv_transpose2d",
			Params: P{"stride": [2]int64{2, 2}, "padding": [2]int64{1, 1}, "output_padding": [2]int64{0, 0}, "groups": 1, "dilation": [2]int64{1, 1}},
			ins:    []in{x4(2, 4, 5, 5), x4(4, 3, 4, 4), x4(3)}, run: convT([2]int64{2, 2}, [2]int64{1, 1}, [2]int64{0, 0}, 1)},
		{Name: "conv_transpose2d_groups_outpad", Op: "conv_transpose2d",
			Params: P{"stride": [2]int64{2, 2}, "padding": [2]int64{1, 1}, "output_padding": [2]int64{1, 1}, "groups": 2, "dilation": [2]int64{1, 1}},
			ins:    []in{x4(2, 4, 5, 5), x4(4, 3, 3, 3)}, run: convT([2]int64{2, 2}, [2]int64{1, 1}, [2]int64{1, 1}, 2)},
		{Name: "batch_norm_train", Op: "batch_norm", Params: P{"training": true, "momentum": 0.1, "eps": 1e-5},
			ins: []in{x4(4, 3, 5, 5), x4(3), x4(3), uniform(-0.5, 0.5, 3).stateOnly(), uniform(0.5, 1.5, 3).stateOnly()},
			run: func(x []*Tensor) *Tensor { return BatchNorm(x[0], x[1], x[2], x[3], x[4], true, 0.1, 1e-5) }},
		{Name: "batch_norm_eval", Op: "batch_norm", Params: P{"training": false, "momentum": 0.1, "eps": 1e-5},
			ins: []in{x4(4, 3, 5, 5), x4(3), x4(3), uniform(-0.5, 0.5, 3).stateOnly(), uniform(0.5, 1.5, 3).stateOnly()},
			run: func(x []*Tensor) *Tensor { return BatchNorm(x[0], x[1], x[2], x[3], x[4], false, 0.1, 1e-5) }},
		{Name: "instance_norm_affine", Op: "instance_norm", Params: P{"eps": 1e-5},
			ins: []in{x4(2, 3, 6, 6), x4(3), x4(3)},
			run: func(x []*Tensor) *Tensor { return InstanceNorm(x[0], x[1], x[2], nil, nil, true, 0.1, 1e-5) }},
		{Name: "instance_norm", Op: "instance_norm", Params: P{"eps": 1e-5},
			ins: []in{x4(2, 3, 6, 6)},
			run: func(x []*Tensor) *Tensor { return InstanceNorm(x[0], nil, nil, nil, nil, true, 0.1, 1e-5) }},
		{Name: "dropout", Op: "dropout", Params: P{"p": 0.5, "train": true, "seed": 7},
			ins: []in{x4(4, 64)},
			run: func(x []*Tensor) *Tensor { ManualSeed(7); return Dropout(x[0], 0.5, true) }},
		{Name: "dropout_eval", Op: "dropout", Params: P{"p": 0.5, "train": false, "seed": 7},
			ins: []in{x4(4, 8)}, run: func(x []*Tensor) *Tensor { return Dropout(x[0], 0.5, false) }},
		{Name: "leaky_relu", Op: "scalar", Params: P{"fn": "leaky_relu", "s": 0.2},
			ins: []in{x4(3, 4)}, run: func(x []*Tensor) *Tensor { return x[0].LeakyRelu(0.2) }},
		{Name: "cat", Op: "cat", Params: P{"dim": 1},
			ins: []in{x4(2, 3, 4, 4), x4(2, 2, 4, 4)}, run: func(x []*Tensor) *Tensor { return Cat(x, 1) }},
		{Name: "pad_reflect", Op: "pad", Params: P{"mode": 1, "pad": []int{1, 2, 3, 1}},
			ins: []in{x4(2, 3, 6, 6)}, run: func(x []*Tensor) *Tensor { return Pad2d(x[0], PadReflect, 1, 2, 3, 1) }},
		{Name: "pad_replicate", Op: "pad", Params: P{"mode": 2, "pad": []int{3, 3, 3, 3}},
			ins: []in{x4(2, 3, 6, 6)}, run: func(x []*Tensor) *Tensor { return Pad2d(x[0], PadReplicate, 3, 3, 3, 3) }},
		{Name: "pad_zero", Op: "pad", Params: P{"mode": 0, "pad": []int{1, 1, 2, 0}},
			ins: []in{x4(2, 3, 6, 6)}, run: func(x []*Tensor) *Tensor { return Pad2d(x[0], PadZero, 1, 1, 2, 0) }},
		{Name: "avg_pool2d_hd", Op: "avg_pool2d", Params: P{"kernel": []int{3, 3}, "stride": []int{2, 2}, "padding": []int{1, 1}, "ceil_mode": false, "count_include_pad": false},
			ins: []in{x4(2, 3, 9, 9)}, run: func(x []*Tensor) *Tensor {
				return AvgPool2d(x[0], [2]int64{3, 3}, [2]int64{2, 2}, [2]int64{1, 1}, false, false)
			}},
		{Name: "avg_pool2d_ceil", Op: "avg_pool2d", Params: P{"kernel": []int{2, 2}, "stride": []int{2, 2}, "padding": []int{0, 0}, "ceil_mode": true, "count_include_pad": true},
			ins: []in{x4(2, 3, 7, 7)}, run: func(x []*Tensor) *Tensor {
				return AvgPool2d(x[0], [2]int64{2, 2}, [2]int64{2, 2}, [2]int64{0, 0}, true, true)
			}},
		{Name: "max_pool2d_vgg", Op: "max_pool2d", Params: P{"kernel": []int{2, 2}, "stride": []int{2, 2}, "padding": []int{0, 0}},
			ins: []in{x4(2, 3, 8, 6)}, run: func(x []*Tensor) *Tensor {
				return MaxPool2d(x[0], [2]int64{2, 2}, [2]int64{2, 2}, [2]int64{0, 0}, false)
			}},
		{Name: "max_pool2d_pad", Op: "max_pool2d", Params: P{"kernel": []int{3, 3}, "stride": []int{2, 2}, "padding": []int{1, 1}},
			ins: []in{x4(1, 2, 7, 7)}, run: func(x []*Tensor) *Tensor {
				return MaxPool2d(x[0], [2]int64{3, 3}, [2]int64{2, 2}, [2]int64{1, 1}, false)
			}},
		{Name: "upsample_nearest", Op: "upsample", Params: P{"mode": 0, "size": []int{10, 10}},
			ins: []in{x4(2, 3, 5, 5)}, run: func(x []*Tensor) *Tensor { return Upsample(x[0], Nearest, 10, 10, false) }},
		{Name: "upsample_bilinear", Op: "upsample", Params: P{"mode": 1, "size": []int{11, 7}, "align_corners": false},
			ins: []in{x4(2, 3, 5, 5)}, run: func(x []*Tensor) *Tensor { return Upsample(x[0], Bilinear, 11, 7, false) }},
		{Name: "upsample_bilinear_aligned", Op: "upsample", Params: P{"mode": 1, "size": []int{10, 10}, "align_corners": true},
			ins: []in{x4(2, 3, 5, 5)}, run: func(x []*Tensor) *Tensor { return Upsample(x[0], Bilinear, 10, 10, true) }},
		{Name: "clamp", Op: "clamp", Params: P{"min": -0.5, "max": 0.5},
			ins: []in{x4(3, 5)}, run: func(x []*Tensor) *Tensor { return x[0].Clamp(-0.5, 0.5) }},
		{Name: "clamp_min", Op: "clamp", Params: P{"min": 0.1},
			ins: []in{x4(3, 5)}, run: func(x []*Tensor) *Tensor { return x[0].ClampMin(0.1) }},
		{Name: "clamp_max", Op: "clamp", Params: P{"max": -0.1},
			ins: []in{x4(3, 5)}, run: func(x []*Tensor) *Tensor { return x[0].ClampMax(-0.1) }},
		{Name: "sum", Op: "sum", Params: P{}, ins: []in{x4(3, 4, 5)}, run: func(x []*Tensor) *Tensor { return x[0].Sum() }},
		{Name: "mean", Op: "mean", Params: P{}, ins: []in{x4(3, 4, 5)}, run: func(x []*Tensor) *Tensor { return x[0].Mean() }},
		{Name: "sum_dims", Op: "sum", Params: P{"dims": []int{1, 2}, "keepdim": true},
			ins: []in{x4(3, 4, 5)}, run: func(x []*Tensor) *Tensor { return x[0].SumDims([]int64{1, 2}, true) }},
		{Name: "mean_dims", Op: "mean", Params: P{"dims": []int{0}, "keepdim": false},
			ins: []in{x4(3, 4, 5)}, run: func(x []*Tensor) *Tensor { return x[0].MeanDims([]int64{0}, false) }},
		{Name: "norm2_dims", Op: "norm2", Params: P{"dims": []int{1}, "keepdim": false},
			ins: []in{x4(3, 40, 5)}, run: func(x []*Tensor) *Tensor { return x[0].Norm2Dims([]int64{1}, false) }},
		{Name: "norm2_dims_keep", Op: "norm2", Params: P{"dims": []int{1, 2}, "keepdim": true},
			ins: []in{x4(3, 4, 5)}, run: func(x []*Tensor) *Tensor { return x[0].Norm2Dims([]int64{1, 2}, true) }},
		{Name: "reshape", Op: "reshape", Params: P{"shape": []int{-1, 6}},
			ins: []in{x4(2, 3, 4)}, run: func(x []*Tensor) *Tensor { return x[0].Reshape(-1, 6) }},
		{Name: "view", Op: "view", Params: P{"shape": []int{4, 6}},
			ins: []in{x4(2, 3, 4)}, run: func(x []*Tensor) *Tensor { return x[0].View(4, 6) }},
		{Name: "permute", Op: "permute", Params: P{"dims": []int{0, 2, 3, 1}},
			ins: []in{x4(2, 3, 4, 5)}, run: func(x []*Tensor) *Tensor { return x[0].Permute(0, 2, 3, 1) }},
		{Name: "flatten", Op: "flatten", Params: P{"start": 1, "end": -1},
			ins: []in{x4(2, 3, 4, 5)}, run: func(x []*Tensor) *Tensor { return x[0].Flatten(1, -1) }},
		{Name: "narrow", Op: "narrow", Params: P{"dim": 3, "start": 1, "length": 2},
			ins: []in{x4(2, 3, 4, 5)}, run: func(x []*Tensor) *Tensor { return x[0].Narrow(3, 1, 2) }},
		// repeated and skipped positions: the gradients gather and accumulate
		{Name: "index_select", Op: "index_select", Params: P{"dim": 1, "index": []int64{2, 0, 2, 3, 2}},
			ins: []in{x4(2, 4, 3)}, run: func(x []*Tensor) *Tensor {
				return x[0].IndexSelect(1, FromInt64([]int64{2, 0, 2, 3, 2}, 5))
			}},
		{Name: "index_add", Op: "index_add", Params: P{"dim": 1, "index": []int64{2, 0, 2, 3, 2}},
			ins: []in{x4(2, 4, 3), x4(2, 5, 3)}, run: func(x []*Tensor) *Tensor {
				return x[0].IndexAdd(1, FromInt64([]int64{2, 0, 2, 3, 2}, 5), x[1])
			}},
		{Name: "grad_penalty", Op: "grad_penalty", Params: P{},
			ins: []in{x4(4, 3, 5, 5), x4(4, 3, 5, 5)}, run: func(x []*Tensor) *Tensor {
				out := x[0].Mul(x[1]).Tanh().Sum()
				g := Grads([]*Tensor{out}, []*Tensor{x[0]}, GradOpts{CreateGraph: true})[0]
				norm := g.Flatten(1, -1).Norm2Dims([]int64{1}, false)
				return norm.SubScalar(1).Pow(2).Mean()
			}},
	}
	for _, fn := range []string{"relu", "tanh", "sigmoid", "neg", "abs", "exp", "square", "sqrt", "log"} {
		i := x4(3, 4)
		if fn == "sqrt" || fn == "log" {
			i = positive(3, 4)
		}
		m := map[string]func(*Tensor) *Tensor{
			"relu": (*Tensor).Relu, "tanh": (*Tensor).Tanh, "sigmoid": (*Tensor).Sigmoid, "neg": (*Tensor).Neg,
			"abs": (*Tensor).Abs, "exp": (*Tensor).Exp, "square": (*Tensor).Square, "sqrt": (*Tensor).Sqrt, "log": (*Tensor).Log,
		}[fn]
		cs = append(cs, &opCase{Name: fn, Op: "unary", Params: P{"fn": fn}, ins: []in{i},
			run: func(x []*Tensor) *Tensor { return m(x[0]) }})
	}
	for _, fn := range []string{"add", "sub", "mul", "div", "maximum", "minimum"} {
		m := map[string]func(*Tensor, *Tensor) *Tensor{
			"add": (*Tensor).Add, "sub": (*Tensor).Sub, "mul": (*Tensor).Mul, "div": (*Tensor).Div,
			"maximum": (*Tensor).Maximum, "minimum": (*Tensor).Minimum,
		}[fn]
		b := x4(3, 1)
		if fn == "div" {
			b = positive(3, 1)
		}
		cs = append(cs, &opCase{Name: fn, Op: "binary", Params: P{"fn": fn}, ins: []in{x4(2, 3, 4), b},
			run: func(x []*Tensor) *Tensor { return m(x[0], x[1]) }})
	}
	for _, sc := range []struct {
		fn string
		s  float64
		f  func(*Tensor, float64) *Tensor
	}{
		{"add", 1.5, (*Tensor).AddScalar}, {"sub", 0.25, (*Tensor).SubScalar}, {"mul", -3, (*Tensor).MulScalar},
		{"div", 7, (*Tensor).DivScalar}, {"pow", 2, (*Tensor).Pow}, {"pow", 0.5, (*Tensor).Pow}, {"rsub", 1, (*Tensor).RSub},
	} {
		i := x4(3, 4)
		if sc.fn == "pow" {
			i = positive(3, 4)
		}
		f, s := sc.f, sc.s
		cs = append(cs, &opCase{Name: fmt.Sprintf("%s_scalar_%g", sc.fn, sc.s), Op: "scalar", Params: P{"fn": sc.fn, "s": sc.s},
			ins: []in{i}, run: func(x []*Tensor) *Tensor { return f(x[0], s) }})
	}
	for _, r := range []Reduction{ReduceMean, ReduceSum, ReduceNone} {
		for _, l := range []struct {
			fn     string
			input  in
			target in
			f      func(a, b *Tensor, r Reduction) *Tensor
		}{
			{"bce", prob(4, 1, 3, 3), uniform(0, 1, 4, 1, 3, 3), BCELoss},
			{"bce_with_logits", x4(4, 1, 3, 3), uniform(0, 1, 4, 1, 3, 3), BCEWithLogitsLoss},
			{"mse", x4(4, 3, 2, 2), x4(4, 3, 2, 2).noGrad(), MSELoss},
			{"l1", x4(4, 3, 2, 2), x4(4, 3, 2, 2), L1Loss},
		} {
			f, r := l.f, r
			cs = append(cs, &opCase{Name: fmt.Sprintf("%s_%d", l.fn, r), Op: "loss", Params: P{"fn": l.fn, "reduction": int(r)},
				ins: []in{l.input, l.target}, run: func(x []*Tensor) *Tensor { return f(x[0], x[1], r) }})
		}
	}
	return cs
}

// TestOpsMatchPyTorch runs every op, forward and backward, on the same random
// inputs in gogan and in Debian's PyTorch, and compares outputs, input and
// weight gradients, and updated running statistics (rtol 1e-5).
func TestOpsMatchPyTorch(t *testing.T) {
	LockThread()
	if _, err := SetNumThreads(1); err != nil {
		t.Fatal(err)
	}
	s := NewScope()
	defer s.Close()
	r := rand.New(rand.NewPCG(1, 2))
	cases := opCases()
	var inputs []Named
	got := map[string]*Tensor{}
	for _, c := range cases {
		var xs []*Tensor
		for i, spec := range c.ins {
			name := fmt.Sprintf("%s.x%d", c.Name, i)
			c.Inputs = append(c.Inputs, name)
			v := randTensor(r, spec.lo == spec.hi, spec.lo, spec.hi, spec.shape...)
			inputs = append(inputs, Named{name, v})
			x := v.Clone()
			if spec.grad {
				x.SetRequiresGrad(true)
				c.Grad = append(c.Grad, name)
			}
			if spec.state {
				c.State = append(c.State, name)
			}
			xs = append(xs, x)
		}
		var y *Tensor
		if err := Try(func() { y = c.run(xs) }); err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		got[c.Name+".out"] = y
		if len(c.Grad) > 0 {
			gout := randTensor(r, true, 0, 0, y.Shape()...)
			inputs = append(inputs, Named{c.Name + ".gout", gout})
			y.BackwardWith(gout, false, false)
			for i, x := range xs {
				if c.ins[i].grad {
					got[c.Name+".grad."+c.Inputs[i]] = x.Grad()
				}
			}
		}
		for i, x := range xs {
			if c.ins[i].state {
				got[c.Name+".state."+c.Inputs[i]] = x
			}
		}
	}
	want := runReference(t, "ops", cases, inputs)
	for name, g := range got {
		w, ok := want[name]
		if !ok {
			t.Errorf("%s: PyTorch computed no such value", name)
			continue
		}
		assertClose(t, name, g, w, 1e-5, 1e-6)
	}
	if len(want) != len(got) {
		t.Errorf("PyTorch computed %d values, gogan %d", len(want), len(got))
	}
	t.Logf("%d cases, %d outputs and gradients compared", len(cases), len(got))
}

// TestScalarWeightGradientIsPyTorchs: a 0-dim loss times a weight that is
// not exact in float32 (pix2pixHD's feature matching: 1/num_D *
// 4/(n_layers_D+1) * lambda_feat) must pass back the gradient Python's
// `loss * w` does, rounded in float32, not the Scalar overload's double.
func TestScalarWeightGradientIsPyTorchs(t *testing.T) {
	w := 0.5 * (4.0 / 3)
	err := Try(func() {
		s := NewScope()
		defer s.Close()
		x := Full(1.5, Float32, CPUDevice).SetRequiresGrad(true)
		x.MulScalar(w).MulScalar(10).Backward()
		got := x.Grad().Float32s()[0]
		want := float32(10) * float32(w) // PyTorch: 6.666667
		if got != want {
			t.Errorf("d(x*%v*10)/dx = %.9g, PyTorch %.9g (the double product rounds to %.9g)", w, got, want, float32(10*w))
		}
		for _, op := range []struct {
			name string
			f    func(*Tensor) *Tensor
			want float32
		}{
			{"add", func(x *Tensor) *Tensor { return x.AddScalar(w).MulScalar(3) }, 3},
			{"div", func(x *Tensor) *Tensor { return x.DivScalar(3).MulScalar(10) }, float32(10) / float32(3)},
		} {
			y := Full(1.5, Float32, CPUDevice).SetRequiresGrad(true)
			op.f(y).Backward()
			if g := y.Grad().Float32s()[0]; g != op.want {
				t.Errorf("%s: gradient %.9g, want %.9g", op.name, g, op.want)
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestIndexCopyInPlace: index_copy_ writes rows where a device tensor of
// positions says, read when the op runs (as a graph replay reads it), and
// leaves autograd out of it.
func TestIndexCopyInPlace(t *testing.T) {
	err := Try(func() {
		s := NewScope()
		defer s.Close()
		buf := Zeros(Float32, CPUDevice, 3, 2)
		index := FromInt64([]int64{2, 0}, 2)
		src := FromFloat32([]float32{1, 2, 3, 4}, 2, 2).SetRequiresGrad(true)
		buf.IndexCopy_(0, index, src)
		if got, want := buf.Float32s(), []float32{3, 4, 0, 0, 1, 2}; !slices.Equal(got, want) {
			t.Errorf("after index [2 0]: %v, want %v", got, want)
		}
		if buf.RequiresGrad() {
			t.Error("the buffer requires grad after an index_copy_ of a tensor that does")
		}
		index.CopyFrom(FromInt64([]int64{1, 2}, 2)) // new positions, same tensor
		buf.IndexCopy_(0, index, FromFloat32([]float32{5, 6, 7, 8}, 2, 2))
		if got, want := buf.Float32s(), []float32{3, 4, 5, 6, 7, 8}; !slices.Equal(got, want) {
			t.Errorf("after index [1 2]: %v, want %v", got, want)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
}
