package nets

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	torch "gogan/cgo"
)

var cpu = torch.CPUDevice

func TestMain(m *testing.M) {
	if _, err := torch.SetNumThreads(2); err != nil {
		panic(err)
	}
	os.Exit(m.Run())
}

func mustG(t *testing.T, o Options) *Net {
	t.Helper()
	n, err := NewGenerator(o, cpu)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.Free)
	return n
}

func mustD(t *testing.T, o Options) *Net {
	t.Helper()
	n, err := NewDiscriminator(o, cpu)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.Free)
	return n
}

// The parameter counts the issue gives.
func TestParamCounts(t *testing.T) {
	cases := []struct {
		name string
		g    bool
		o    Options
		want int64
	}{
		{"dcgan-64 G, 3 channels", true, Options{Kind: "dcgan", ImageSize: 64, OutputNC: 3}, 3576704},
		{"dcgan-64 D, 3 channels", false, Options{Kind: "dcgan", ImageSize: 64, InputNC: 3}, 2765568},
		{"dcgan-32 G, 1 channel", true, Options{Kind: "dcgan", ImageSize: 32, OutputNC: 1}, 1066880},
		{"dcgan-32 D, 1 channel", false, Options{Kind: "dcgan", ImageSize: 32, InputNC: 1}, 661248},
		{"unet_256, batch norm, dropout", true, Options{Kind: "unet_256", Norm: "batch", Dropout: true}, 54413955},
		{"70x70 PatchGAN, 6 channels, batch norm", false, Options{Kind: "basic", InputNC: 6, Norm: "batch"}, 2768705},
		// pix2pixHD's default D (35 labels, boundaries, photo; ndf 64, 3
		// layers, 2 scales; widths 64, 128, 256, 512), and one of 4 layers
		// and 3 scales, whose widths reach the cap: 64, 128, 256, 512,
		// min(1024, 512). The counts are NVIDIA/pix2pixHD models/networks.py's
		// MultiscaleDiscriminator(39, 64, n_layers, InstanceNorm2d, False,
		// num_D, True).
		{"pix2pixHD multiscale D, default", false, Options{Kind: "multiscale", InputNC: 39, NDF: 64, NLayers: 3, NumD: 2, Norm: "instance",
			GetIntermFeat: true}, 5603202},
		{"pix2pixHD multiscale D, 4 layers, 3 scales", false, Options{Kind: "multiscale", InputNC: 39, NDF: 64, NLayers: 4, NumD: 3,
			Norm: "instance", GetIntermFeat: true}, 20989251},
		// pix2pixHD's generators at its train options' depths, left to the
		// defaults (n_downsample_global 4, n_blocks_global 9,
		// n_local_enhancers 1, n_blocks_local 3), narrow: the counts are
		// NVIDIA/pix2pixHD models/networks.py's GlobalGenerator(36, 3, 8,
		// 4, 9, InstanceNorm2d) and LocalEnhancer(36, 3, 4, 4, 9, 1, 3,
		// InstanceNorm2d).
		{"pix2pixHD global G, default depth", true, Options{Kind: "global", InputNC: 36, NGF: 8, Norm: "instance"}, 2868011},
		{"pix2pixHD local G, default depth", true, Options{Kind: "local", InputNC: 36, NGF: 4, Norm: "instance"}, 2878575},
	}
	for _, c := range cases {
		var n *Net
		if c.g {
			n = mustG(t, c.o)
		} else {
			n = mustD(t, c.o)
		}
		if got := n.NumParams(); got != c.want {
			t.Errorf("%s: %d parameters, want %d", c.name, got, c.want)
		}
		n.Free()
	}
}

func forwardShape(t *testing.T, n *Net, in []int64) [][][]int64 {
	t.Helper()
	var shapes [][][]int64
	err := torch.Try(func() {
		s := torch.NewScope()
		defer s.Close()
		torch.NoGrad(func() {
			x := torch.Randn(torch.Float32, cpu, in...)
			for _, scale := range n.ForwardMultiScale(x) {
				var ss [][]int64
				for _, y := range scale {
					ss = append(ss, y.Shape())
				}
				shapes = append(shapes, ss)
			}
		})
	})
	if err != nil {
		t.Fatalf("%s %s on %v: %v", n.Options.Kind, n.Role, in, err)
	}
	return shapes
}

func TestOutputShapes(t *testing.T) {
	type tc struct {
		name string
		g    bool
		o    Options
		in   []int64
		want string
	}
	var cases []tc
	for _, s := range []int{32, 64, 128, 256} {
		w := 64
		if s >= 128 {
			w = 8 // the widths do not change the shapes; keep the 256 nets small
		}
		ss := int64(s)
		cases = append(cases,
			tc{fmt.Sprintf("dcgan-%d G", s), true, Options{Kind: "dcgan", ImageSize: s, OutputNC: 1, NGF: w},
				[]int64{2, 100, 1, 1}, fmt.Sprint([][][]int64{{{2, 1, ss, ss}}})},
			tc{fmt.Sprintf("dcgan-%d D", s), false, Options{Kind: "dcgan", ImageSize: s, InputNC: 3, NDF: w},
				[]int64{2, 3, ss, ss}, "[[[2]]]"})
	}
	cases = append(cases,
		tc{"unet_128 at 128", true, Options{Kind: "unet_128", NGF: 8, Norm: "instance"}, []int64{1, 3, 128, 128}, "[[[1 3 128 128]]]"},
		tc{"unet_256 at 256", true, Options{Kind: "unet_256", NGF: 8, OutputNC: 2}, []int64{1, 3, 256, 256}, "[[[1 2 256 256]]]"},
		tc{"unet_256 at 512", true, Options{Kind: "unet_256", NGF: 4, Norm: "none"}, []int64{1, 3, 512, 512}, "[[[1 3 512 512]]]"},
		tc{"unet (num_downs 5) at 32", true, Options{Kind: "unet", NumDowns: 5, NGF: 8, InputNC: 1}, []int64{2, 1, 32, 32}, "[[[2 3 32 32]]]"},
		tc{"resnet_6blocks at 64", true, Options{Kind: "resnet_6blocks", NGF: 8, PadType: "zero"}, []int64{1, 3, 64, 64}, "[[[1 3 64 64]]]"},
		tc{"resnet_9blocks at 64", true, Options{Kind: "resnet_9blocks", NGF: 8, Norm: "instance"}, []int64{1, 3, 64, 64}, "[[[1 3 64 64]]]"},
		tc{"basic at 256", false, Options{Kind: "basic", InputNC: 6, NDF: 8}, []int64{1, 6, 256, 256}, "[[[1 1 30 30]]]"},
		tc{"n_layers 5 at 256", false, Options{Kind: "n_layers", NLayers: 5, NDF: 8}, []int64{1, 3, 256, 256}, "[[[1 1 6 6]]]"},
		tc{"pixel at 64", false, Options{Kind: "pixel", NDF: 8}, []int64{1, 3, 64, 64}, "[[[1 1 64 64]]]"},
		tc{"multiscale at 256", false, Options{Kind: "multiscale", NDF: 8, Norm: "instance"}, []int64{1, 3, 256, 256},
			"[[[1 1 35 35]] [[1 1 19 19]]]"}, // num_D 2 by default, as pix2pixHD
		tc{"multiscale, 3 scales, at 256", false, Options{Kind: "multiscale", NDF: 8, Norm: "instance", NumD: 3}, []int64{1, 3, 256, 256},
			"[[[1 1 35 35]] [[1 1 19 19]] [[1 1 11 11]]]"},
		tc{"multiscale, features, at 256", false, Options{Kind: "multiscale", NDF: 8, NumD: 2, GetIntermFeat: true},
			[]int64{1, 3, 256, 256},
			"[[[1 8 129 129] [1 16 65 65] [1 32 33 33] [1 64 34 34] [1 1 35 35]] [[1 8 65 65] [1 16 33 33] [1 32 17 17] [1 64 18 18] [1 1 19 19]]]"},
	)
	for _, c := range cases {
		var n *Net
		if c.g {
			n = mustG(t, c.o)
		} else {
			n = mustD(t, c.o)
		}
		n.SetTraining(false)
		if got := fmt.Sprint(forwardShape(t, n, c.in)); got != c.want {
			t.Errorf("%s: output shapes %s, want %s", c.name, got, c.want)
		}
		n.Free()
	}
}

func TestStateDictKeys(t *testing.T) {
	g := mustG(t, Options{Kind: "dcgan"})
	sd := g.StateDict()
	want := []string{"main.0.weight", "main.1.weight", "main.1.bias", "main.1.running_mean", "main.1.running_var",
		"main.1.num_batches_tracked", "main.3.weight"}
	for i, k := range want {
		if sd[i].Name != k {
			t.Errorf("key %d: %s, want %s", i, sd[i].Name, k)
		}
	}
	if dt := sd[5].Tensor.DType(); dt != torch.Int64 || sd[5].Tensor.Dim() != 0 {
		t.Errorf("num_batches_tracked: %s with %d dims, want a 0-dim int64", dt, sd[5].Tensor.Dim())
	}
	if len(g.Parameters()) != 13 { // 5 conv weights + 4 x (weight, bias)
		t.Errorf("%d parameter tensors, want 13", len(g.Parameters()))
	}
	u := mustG(t, Options{Kind: "unet_128", NGF: 4})
	keys := map[string]bool{}
	for _, e := range u.StateDict() {
		keys[e.Name] = true
	}
	for _, k := range []string{"model.model.0.weight", "model.model.1.model.1.weight", "model.model.1.model.2.running_mean",
		"model.model.3.weight", "model.model.3.bias"} {
		if !keys[k] {
			t.Errorf("unet_128: no key %s", k)
		}
	}
	if keys["model.model.0.bias"] || keys["model.model.1.model.1.bias"] {
		t.Errorf("unet_128 with batch norm: the down convolutions must have no bias")
	}
	in := mustG(t, Options{Kind: "unet_128", NGF: 4, Norm: "instance"})
	for _, e := range in.StateDict() {
		if strings.Contains(e.Name, "running") {
			t.Errorf("instance norm has no running stats, got %s", e.Name)
		}
	}
}

func TestTrainEval(t *testing.T) {
	d := mustD(t, Options{Kind: "dcgan", ImageSize: 32, InputNC: 1, NDF: 8})
	var nbt, mean *torch.Tensor
	for _, e := range d.StateDict() {
		switch e.Name {
		case "main.3.num_batches_tracked":
			nbt = e.Tensor
		case "main.3.running_mean":
			mean = e.Tensor
		}
	}
	run := func() []float32 {
		var out []float32
		if err := torch.Try(func() {
			s := torch.NewScope()
			defer s.Close()
			torch.ManualSeed(1)
			out = d.Forward(torch.Randn(torch.Float32, cpu, 3, 1, 32, 32)).Float32s()
		}); err != nil {
			t.Fatal(err)
		}
		return out
	}
	if !d.Training() {
		t.Fatal("a new network must start in train mode, as a PyTorch module")
	}
	run()
	run()
	if v := nbt.Item(); v != 2 {
		t.Errorf("num_batches_tracked after two train steps: %v, want 2", v)
	}
	m0 := mean.Float32s()
	d.SetTraining(false)
	a, b := run(), run()
	if v := nbt.Item(); v != 2 {
		t.Errorf("num_batches_tracked moved in eval mode: %v", v)
	}
	if fmt.Sprint(mean.Float32s()) != fmt.Sprint(m0) {
		t.Errorf("running mean moved in eval mode")
	}
	if fmt.Sprint(a) != fmt.Sprint(b) {
		t.Errorf("eval mode is not deterministic")
	}
	// dropout: active in train mode only
	u := mustG(t, Options{Kind: "unet", NumDowns: 6, NGF: 4, Dropout: true, Norm: "instance"})
	out := func() string {
		var s string
		if err := torch.Try(func() {
			sc := torch.NewScope()
			defer sc.Close()
			torch.NoGrad(func() {
				torch.ManualSeed(3)
				x := torch.Randn(torch.Float32, cpu, 1, 3, 64, 64)
				s = fmt.Sprint(u.Forward(x).Float32s()[:20])
			})
		}); err != nil {
			t.Fatal(err)
		}
		return s
	}
	u.SetTraining(false)
	e1 := out()
	u.SetTraining(true)
	if out() == e1 {
		t.Errorf("dropout changed nothing in train mode")
	}
}

// Forward and backward with grad enabled, in scopes, leak nothing; NoGrad works.
func TestGradAndScopes(t *testing.T) {
	g := mustG(t, Options{Kind: "resnet_6blocks", NGF: 4, Dropout: true})
	d := mustD(t, Options{Kind: "multiscale", NDF: 4, NumD: 2, GetIntermFeat: true})
	before := torch.LiveTensors()
	for step := 0; step < 3; step++ {
		err := torch.Try(func() {
			s := torch.NewScope()
			defer s.Close()
			x := torch.Randn(torch.Float32, cpu, 2, 3, 32, 32)
			y := g.Forward(x)
			var loss *torch.Tensor
			for _, scale := range d.ForwardMultiScale(y) {
				for _, f := range scale {
					l := f.Mean()
					if loss == nil {
						loss = l
					} else {
						loss = loss.Add(l)
					}
				}
			}
			loss.Backward()
			for _, p := range append(g.Parameters(), d.Parameters()...) {
				if p.Grad() == nil {
					t.Fatalf("a parameter got no gradient")
				}
				p.ZeroGrad()
			}
			torch.NoGrad(func() {
				if y := g.Forward(x); y.RequiresGrad() {
					t.Errorf("output under NoGrad requires grad")
				}
			})
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if after := torch.LiveTensors(); after != before {
		t.Errorf("live tensors: %d before the steps, %d after", before, after)
	}
}

// A network built while a scope is open outlives it; Free releases every handle.
func TestNetOutlivesScope(t *testing.T) {
	before := torch.LiveTensors()
	s := torch.NewScope()
	g, err := NewGenerator(Options{Kind: "unet_128", NGF: 4}, cpu)
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if err := torch.Try(func() {
		s := torch.NewScope()
		defer s.Close()
		g.Forward(torch.Zeros(torch.Float32, cpu, 2, 3, 128, 128)).Sum().Backward()
	}); err != nil {
		t.Fatalf("forward after the construction scope closed: %v", err)
	}
	for _, p := range g.Parameters() {
		p.ZeroGrad()
	}
	g.Free()
	g.Free()
	if after := torch.LiveTensors(); after != before {
		t.Errorf("live tensors: %d before, %d after Free", before, after)
	}
	if err := g.LoadStateDict(nil); err == nil {
		t.Errorf("loading into a freed network succeeded")
	}
}

func TestOptionErrors(t *testing.T) {
	cases := []struct {
		g    bool
		o    Options
		want string
	}{
		{true, Options{Kind: "dcgan", ImageSize: 48}, "ImageSize 48 for dcgan: must be 32, 64, 128 or 256"},
		{false, Options{Kind: "dcgan", ImageSize: 100}, "must be 32, 64, 128 or 256"},
		{true, Options{Kind: "unet_100"}, "power of two"},
		{true, Options{Kind: "unet", NumDowns: 4}, "NumDowns 4 for unet: must be at least 5"},
		{true, Options{Kind: "unet_256", ImageSize: 300}, "ImageSize 300 for unet_256: must be a multiple of 256"},
		{true, Options{Kind: "resnet"}, `generator Kind "resnet": must be dcgan, unet_128`},
		{false, Options{Kind: "patch"}, `discriminator Kind "patch": must be dcgan, basic, n_layers, pixel or multiscale`},
		{true, Options{Kind: "unet_256", Norm: "group"}, `Norm "group": must be batch, instance or none`},
		{true, Options{Kind: "resnet_9blocks", PadType: "circular"}, `PadType "circular": must be reflect, replicate or zero`},
		{true, Options{Kind: "dcgan", NGF: -1}, "NGF -1: must be at least 1"},
		{false, Options{Kind: "basic", InputNC: -6}, "InputNC -6: must be at least 1"},
	}
	for _, c := range cases {
		var err error
		if c.g {
			_, err = NewGenerator(c.o, cpu)
		} else {
			_, err = NewDiscriminator(c.o, cpu)
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want one containing %q", c.o, err, c.want)
		}
	}
}

func TestLoadStateDictErrors(t *testing.T) {
	g := mustG(t, Options{Kind: "dcgan", ImageSize: 32, NGF: 8, OutputNC: 1})
	other := mustG(t, Options{Kind: "dcgan", ImageSize: 32, NGF: 8, OutputNC: 3})
	w0 := g.StateDict()[0].Tensor.Float32s()

	// a wrong shape names the key and both shapes; nothing is copied
	err := g.LoadStateDict(other.StateDict())
	if err == nil {
		t.Fatal("loading a 3-channel generator into a 1-channel one succeeded")
	}
	for _, want := range []string{`"main.9.weight"`, "[8 3 4 4] in the state dict", "[8 1 4 4] in the network"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not contain %q", err, want)
		}
	}
	if fmt.Sprint(g.StateDict()[0].Tensor.Float32s()) != fmt.Sprint(w0) {
		t.Errorf("a failed load changed the weights")
	}

	// a missing key and an unexpected one
	sd := g.StateDict()
	missing := append([]torch.Named(nil), sd[:3]...)
	missing = append(missing, sd[4:]...)
	err = g.LoadStateDict(missing)
	if err == nil || !strings.Contains(err.Error(), `missing key "main.1.running_mean" (shape [32] in the network)`) {
		t.Errorf("missing key: error %v", err)
	}
	extra := append(g.StateDict(), torch.Named{Name: "main.99.weight", Tensor: sd[0].Tensor})
	err = g.LoadStateDict(extra)
	if err == nil || !strings.Contains(err.Error(), `unexpected key "main.99.weight" (shape [100 32 4 4])`) {
		t.Errorf("unexpected key: error %v", err)
	}

	// another network altogether: counted, and the first few listed
	resnet := mustG(t, Options{Kind: "resnet_6blocks", InputNC: 3, OutputNC: 3, NGF: 4, Norm: "instance", ImageSize: 32})
	err = g.LoadStateDict(resnet.StateDict())
	if err == nil || !strings.Contains(err.Error(), "problems (") || !strings.Contains(err.Error(), "it holds another network") ||
		strings.Count(err.Error(), "key \"") != maxProblemsListed {
		t.Errorf("a ResNet state dict into a DCGAN G: error %v", err)
	}

	// a good load copies values (not handles), also into num_batches_tracked
	src := mustG(t, Options{Kind: "dcgan", ImageSize: 32, NGF: 8, OutputNC: 1})
	for _, e := range src.StateDict() {
		if strings.HasSuffix(e.Name, "num_batches_tracked") {
			e.Tensor.Fill(7)
		}
	}
	if err := g.LoadStateDict(src.StateDict()); err != nil {
		t.Fatal(err)
	}
	for i, e := range g.StateDict() {
		s := src.StateDict()[i]
		if e.Tensor == s.Tensor || fmt.Sprint(e.Tensor.Float32s()) != fmt.Sprint(s.Tensor.Float32s()) {
			t.Errorf("%s: not copied", e.Name)
		}
	}

	// through a file
	path := filepath.Join(t.TempDir(), "g.safetensors")
	if err := src.Save(path, nil); err != nil {
		t.Fatal(err)
	}
	if err := other.Load(path); err == nil || !strings.Contains(err.Error(), "main.9.weight") {
		t.Errorf("loading a file with a wrong shape: %v", err)
	}
	if err := g.Load(path); err != nil {
		t.Fatal(err)
	}
}

func TestInitKinds(t *testing.T) {
	g := mustG(t, Options{Kind: "resnet_6blocks", NGF: 8})
	for _, k := range []string{"normal", "xavier", "kaiming", "orthogonal", "pix2pixhd"} {
		if err := g.Init(k, 0.02); err != nil {
			t.Errorf("%s: %v", k, err)
		}
	}
	if err := g.Init("uniform", 1); err == nil || !strings.Contains(err.Error(), "must be normal, xavier, kaiming, orthogonal or pix2pixhd") {
		t.Errorf("init uniform: %v", err)
	}
	// normal 0.02: conv weights N(0, 0.02), BatchNorm weights N(1, 0.02), biases 0
	if err := g.Init("normal", 0.02); err != nil {
		t.Fatal(err)
	}
	stats := func(name string) (mean, std float64) {
		for _, e := range g.StateDict() {
			if e.Name == name {
				v := e.Tensor.Float32s()
				var sq float64
				for _, x := range v {
					mean += float64(x)
					sq += float64(x) * float64(x)
				}
				mean /= float64(len(v))
				return mean, math.Sqrt(sq/float64(len(v)) - mean*mean)
			}
		}
		t.Fatalf("no key %s", name)
		return
	}
	near := func(name string, mean, std, tol float64) {
		m, s := stats(name)
		if math.Abs(m-mean) > tol || math.Abs(s-std) > tol {
			t.Errorf("%s: mean %.4f, std %.4f; want %g, %g", name, m, s, mean, std)
		}
	}
	near("model.4.weight", 0, 0.02, 0.002)              // Conv2d(8, 16, 3)
	near("model.16.weight", 0, 0.02, 0.002)             // ConvTranspose2d(32, 16, 3)
	near("model.10.conv_block.2.weight", 1, 0.02, 0.01) // BatchNorm2d(32)
	near("model.10.conv_block.2.bias", 0, 0, 0)
	near("model.23.bias", 0, 0, 0) // the last conv's bias
}

func TestDescribe(t *testing.T) {
	g := mustG(t, Options{Kind: "dcgan"})
	d := mustD(t, Options{Kind: "dcgan"})
	gs, err := g.Describe(nil)
	if err != nil {
		t.Fatal(err)
	}
	ds, err := d.Describe(nil)
	if err != nil {
		t.Fatal(err)
	}
	s := gs + ds
	for _, want := range []string{
		"main.0", "ConvTranspose2d(100, 512, kernel_size=(4, 4), stride=(1, 1), bias=False)", "[1 512 4 4]", "819,200",
		"BatchNorm2d(512, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)",
		"input [1 100 1 1] -> output [1 3 64 64]", "parameters: 3,576,704",
		"LeakyReLU(negative_slope=0.2, inplace=True)", "input [1 3 64 64] -> output [1]",
		"parameters: 2,765,568",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("summary lacks %q:\n%s", want, s)
		}
	}
	if !g.Training() {
		t.Errorf("Describe left the generator in eval mode")
	}
	for _, e := range g.StateDict() {
		if strings.HasSuffix(e.Name, "num_batches_tracked") && e.Tensor.Item() != 0 {
			t.Errorf("Describe changed %s", e.Name)
		}
	}
	// DCGAN D flattens its output: on a larger input than its own, 5x5
	// values a sample, which an empty batch cannot show
	if s, err := d.Describe([]int64{2, 3, 128, 128}); err != nil || !strings.Contains(s, "input [2 3 128 128] -> output [50]") {
		t.Errorf("dcgan D on 128x128: %v\n%s", err, s)
	}
	for _, bad := range [][]int64{{}, {-1, 3, 64, 64}, {1, 3, 0, 64}} {
		if _, err := d.Describe(bad); err == nil || !strings.Contains(err.Error(), "want a batch and sizes of 1 or more") {
			t.Errorf("describe on %v: %v", bad, err)
		}
	}
	// DCGAN D flattens its output: on a larger input than its own, 5x5
	// values a sample, which an empty batch cannot show
	if s, err := d.Describe([]int64{2, 3, 128, 128}); err != nil || !strings.Contains(s, "input [2 3 128 128] -> output [50]") {
		t.Errorf("dcgan D on 128x128: %v\n%s", err, s)
	}
	for _, bad := range [][]int64{{}, {-1, 3, 64, 64}, {1, 3, 0, 64}} {
		if _, err := d.Describe(bad); err == nil || !strings.Contains(err.Error(), "want a batch and sizes of 1 or more") {
			t.Errorf("describe on %v: %v", bad, err)
		}
	}
	u := mustG(t, Options{Kind: "unet_128", NGF: 4})
	s, err = u.Describe(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"UnetSkipConnectionBlock", "model.model.1.model.3.model.3.model.3.model.3.model.3.model.1", "[1 3 128 128]"} {
		if !strings.Contains(s, want) {
			t.Errorf("unet describe lacks %q:\n%s", want, s)
		}
	}
	if _, err := u.Describe([]int64{1, 3, 100, 100}); err == nil || !strings.Contains(err.Error(), "[1 3 100 100]") {
		t.Errorf("describe on a size the U-Net cannot take: %v", err)
	}
	ms := mustD(t, Options{Kind: "multiscale", NDF: 4, NumD: 2, GetIntermFeat: true})
	s, err = ms.Describe([]int64{1, 3, 64, 64})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(s, "scale1_layer0.0") || !strings.Contains(s, "downsample") || !strings.Contains(s, "scales: {") {
		t.Errorf("multiscale describe:\n%s", s)
	}
	if testing.Verbose() {
		t.Log("\n" + s)
	}
}

// TestMinInput: each network runs at MinInput's side and fails one pixel
// below it (multiples of InputMultiple for the generators), so that configs
// can refuse a crop no step would survive.
func TestMinInput(t *testing.T) {
	// A batch of two: the spatial sizes are what is tested, and batch norm
	// in training refuses one value per channel (a 1x1 map of one sample),
	// as F.batch_norm does, whatever the side.
	forward := func(n *Net, in int64, side int) error {
		return torch.Try(func() {
			s := torch.NewScope()
			defer s.Close()
			torch.NoGrad(func() { n.Forward(torch.Zeros(torch.Float32, cpu, 2, in, int64(side), int64(side))) })
		})
	}
	for _, o := range []Options{
		{Kind: "basic", InputNC: 2, NDF: 4}, {Kind: "n_layers", NLayers: 1, InputNC: 2, NDF: 4},
		{Kind: "n_layers", NLayers: 5, InputNC: 2, NDF: 4}, {Kind: "pixel", InputNC: 2, NDF: 4},
		{Kind: "multiscale", NLayers: 3, NumD: 3, InputNC: 2, NDF: 4},
	} {
		d := mustD(t, o)
		m := MinInput(o)
		if err := forward(d, 2, m); err != nil {
			t.Errorf("%s at its minimum %d: %v", KindText(o), m, err)
		}
		if m > 1 && forward(d, 2, m-1) == nil {
			t.Errorf("%s ran at %d, below its minimum %d", KindText(o), m-1, m)
		}
	}
	for _, o := range []Options{{Kind: "resnet_6blocks", InputNC: 1, OutputNC: 1, NGF: 4}, {Kind: "unet_128", InputNC: 1, OutputNC: 1, NGF: 4},
		{Kind: "global", InputNC: 1, OutputNC: 1, NGF: 4, NDownsampleGlobal: 3, NBlocksGlobal: 1}} {
		g := mustG(t, o)
		m, mult := MinInput(o), InputMultiple(o)
		if err := forward(g, 1, m); err != nil {
			t.Errorf("%s at its minimum %d: %v", o.Kind, m, err)
		}
		if m-mult > 0 && forward(g, 1, m-mult) == nil {
			t.Errorf("%s ran at %d, below its minimum %d", o.Kind, m-mult, m)
		}
	}
}

// TestTooLargeNamesItsKeys: a network whose weights cannot be allocated
// (model.ngf=1e9, the tensor's byte count past int64 too) is refused
// naming the keys that size it, not with libtorch's message alone.
func TestTooLargeNamesItsKeys(t *testing.T) {
	for _, c := range []struct {
		gen  bool
		o    Options
		want string
	}{
		{true, Options{Kind: "dcgan", NGF: 1 << 30}, "lower model.ngf or model.nz"},
		{true, Options{Kind: "unet_128", NGF: 8_000_000_000}, "lower model.ngf"},
		{false, Options{Kind: "dcgan", NDF: 1 << 40}, "lower model.ndf"},
		{true, Options{Kind: "global", NGF: 1 << 30}, "lower model.ngf (model.n_blocks_global"},
	} {
		var err error
		if c.gen {
			_, err = NewGenerator(c.o, cpu)
		} else {
			_, err = NewDiscriminator(c.o, cpu)
		}
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "do not fit in the memory of cpu") {
			t.Errorf("%s with ngf %d, ndf %d: %v; want an error saying to %s", c.o.Kind, c.o.NGF, c.o.NDF, err, c.want)
		}
	}
}

// TestHasBatchNormAndDropout: the layers a network has, whatever options
// put them there (DCGAN's BatchNorm is its kind's; a U-Net's norm and
// dropout are options).
func TestHasBatchNormAndDropout(t *testing.T) {
	for _, c := range []struct {
		n           *Net
		bn, dropout bool
	}{
		{mustG(t, Options{Kind: "dcgan"}), true, false},
		{mustD(t, Options{Kind: "dcgan"}), true, false},
		{mustG(t, Options{Kind: "unet_128", NGF: 4, Norm: "instance", Dropout: true}), false, true},
		{mustG(t, Options{Kind: "unet_128", NGF: 4, Norm: "batch"}), true, false},
		{mustG(t, Options{Kind: "resnet_6blocks", NGF: 4, Norm: "none"}), false, false},
	} {
		if bn, d := c.n.HasBatchNorm(), c.n.HasDropout(); bn != c.bn || d != c.dropout {
			t.Errorf("%s %s (norm %q, dropout %v): HasBatchNorm %v, HasDropout %v; want %v, %v",
				c.n.Options.Kind, c.n.Role, c.n.Options.Norm, c.n.Options.Dropout, bn, d, c.bn, c.dropout)
		}
	}
}
