package nets

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	torch "gogan/cgo"
	"gogan/cgo/torchtest"
)

type value struct {
	shape []int64
	data  []float32
}

func valueOf(x *torch.Tensor) value { return value{x.Shape(), x.Float32s()} }

// closeTo compares got with want elementwise: |got-want| <= tol * (1 + |want|).
func closeTo(t *testing.T, what string, got, want value, tol float64) {
	t.Helper()
	if fmt.Sprint(got.shape) != fmt.Sprint(want.shape) {
		t.Errorf("%s: shape %v, PyTorch %v", what, got.shape, want.shape)
		return
	}
	worst, at := 0.0, -1
	for i := range got.data {
		g, w := float64(got.data[i]), float64(want.data[i])
		d := math.Abs(g-w) / (1 + math.Abs(w))
		if d > tol || math.IsNaN(g) != math.IsNaN(w) {
			if at < 0 || d > worst {
				worst, at = d, i
			}
		}
	}
	if at >= 0 {
		t.Errorf("%s: element %d of %d is %g, PyTorch %g (relative difference %.3g > %g)", what, at, len(got.data),
			got.data[at], want.data[at], worst, tol)
	}
}

type initCheck struct {
	Kind string  `json:"kind"` // normal | xavier | kaiming | orthogonal | dcgan (weights_init) | default (construction)
	Gain float64 `json:"gain"`
	Seed uint64  `json:"seed"`
	Out  string  `json:"out"`
}

type refCase struct {
	Name      string      `json:"name"`
	Role      string      `json:"role"` // G or D
	Opts      Options     `json:"opts"`
	Meta      string      `json:"meta"`
	Inits     []initCheck `json:"inits"`
	Input     string      `json:"input"`
	Gogan     string      `json:"gogan"`
	Out       string      `json:"out"`
	TorchSD   string      `json:"torch_sd"`
	TorchSeed uint64      `json:"torch_seed"`
	TorchInit string      `json:"torch_init"`
	TorchGain float64     `json:"torch_gain"`
	TrainSeed uint64      `json:"train_seed"`

	in       []int64 // input shape
	init     string  // gogan's Init before writing its weights
	gain     float64
	goKeys   [][3]string
	goParams int64
	goShapes map[string][]int64 // Describe's rows: each layer's output shape on in
	goOut    map[string]value
	goInits  []map[string]value
}

func (c *refCase) build(t *testing.T) *Net {
	t.Helper()
	var n *Net
	var err error
	switch c.Role {
	case "G":
		n, err = NewGenerator(c.Opts, cpu)
	case "VGG":
		var v *VGG19
		if v, err = NewVGG19(cpu); err == nil {
			n = v.Net
		}
	default:
		n, err = NewDiscriminator(c.Opts, cpu)
	}
	if err != nil {
		t.Fatalf("%s: %v", c.Name, err)
	}
	return n
}

// randomizeBuffers gives BatchNorm non-trivial running statistics, so that
// eval mode tests their mapping.
func randomizeBuffers(n *Net) {
	for _, e := range n.StateDict() {
		switch {
		case strings.HasSuffix(e.Name, "running_mean"):
			e.Tensor.FillNormal(0, 0.1)
		case strings.HasSuffix(e.Name, "running_var"):
			e.Tensor.FillUniform(0.5, 1.5)
		case strings.HasSuffix(e.Name, "num_batches_tracked"):
			e.Tensor.Fill(5)
		}
	}
}

// runNet is the reference script's run(): outputs in eval mode, then in
// train mode after seeding (Dropout's masks), then the buffers that changed.
func runNet(t *testing.T, n *Net, x *torch.Tensor, trainSeed uint64) map[string]value {
	t.Helper()
	out := map[string]value{}
	err := torch.Try(func() {
		s := torch.NewScope()
		defer s.Close()
		torch.NoGrad(func() {
			for _, mode := range []string{"eval", "train"} {
				n.SetTraining(mode == "train")
				if mode == "train" {
					torch.ManualSeed(trainSeed)
				}
				for i, scale := range n.ForwardMultiScale(x) {
					for j, y := range scale {
						out[fmt.Sprintf("%s.%d.%d", mode, i, j)] = valueOf(y)
					}
				}
			}
		})
		for _, e := range n.StateDict() {
			if strings.Contains(e.Name, "running_") || strings.HasSuffix(e.Name, "num_batches_tracked") {
				out["after."+e.Name] = valueOf(e.Tensor)
			}
		}
	})
	if err != nil {
		t.Fatalf("%s %s: %v", n.Options.Kind, n.Role, err)
	}
	return out
}

func stateValues(n *Net) map[string]value {
	m := map[string]value{}
	for _, e := range n.StateDict() {
		m[e.Name] = valueOf(e.Tensor)
	}
	return m
}

func loadValues(t *testing.T, path string) map[string]value {
	t.Helper()
	ts, _, err := torch.LoadSafetensors(path)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]value{}
	for _, e := range ts {
		m[e.Name] = valueOf(e.Tensor)
		e.Tensor.Free()
	}
	return m
}

// TestPyTorchInterop moves weights both ways between gogan and the reference
// networks of scripts/reference_nets.py (Debian's python3-torch): gogan's
// weights load into PyTorch with load_state_dict(strict=True) and give
// gogan's outputs in eval and train mode (batch statistics, running-stat
// updates, Dropout masks from the same seed); PyTorch-initialised weights load
// into gogan and give PyTorch's outputs; the state dicts have the same keys,
// order, shapes and dtypes; Init and construction give PyTorch's weights
// under the same seed; and gogan's layer table (Describe's rows, worked out
// on an empty batch) gives each layer the output shape of PyTorch's module
// of that name on the real batch, and the network's outputs their shapes.
func TestPyTorchInterop(t *testing.T) {
	torchtest.Python(t) // fail early, before the gogan side runs
	dir := t.TempDir()
	if d := os.Getenv("GOGAN_NETS_KEEP"); d != "" {
		dir = d // keep the files, to rerun the reference script by hand
	}
	G, D := "G", "D"
	cases := []*refCase{
		// DCGAN: the published nets at 64, gogan's extension at 32, 128, 256
		{Name: "dcgan64-G", Role: G, Opts: Options{Kind: "dcgan", ImageSize: 64, OutputNC: 3}, in: []int64{4, 100, 1, 1},
			init: "normal", gain: 0.02, Inits: []initCheck{{Kind: "dcgan"}, {Kind: "default"}}},
		{Name: "dcgan64-D", Role: D, Opts: Options{Kind: "dcgan", ImageSize: 64, InputNC: 3}, in: []int64{4, 3, 64, 64},
			init: "normal", gain: 0.02, Inits: []initCheck{{Kind: "dcgan"}, {Kind: "default"}}},
		{Name: "dcgan32-G", Role: G, Opts: Options{Kind: "dcgan", ImageSize: 32, OutputNC: 1}, in: []int64{3, 100, 1, 1}},
		{Name: "dcgan32-D", Role: D, Opts: Options{Kind: "dcgan", ImageSize: 32, InputNC: 1}, in: []int64{3, 1, 32, 32},
			init: "normal", gain: 0.02},
		{Name: "dcgan128-G", Role: G, Opts: Options{Kind: "dcgan", ImageSize: 128, OutputNC: 3, NZ: 16, NGF: 8}, in: []int64{2, 16, 1, 1}},
		{Name: "dcgan128-D", Role: D, Opts: Options{Kind: "dcgan", ImageSize: 128, InputNC: 3, NDF: 8}, in: []int64{2, 3, 128, 128}},
		{Name: "dcgan256-G", Role: G, Opts: Options{Kind: "dcgan", ImageSize: 256, OutputNC: 3, NZ: 8, NGF: 4}, in: []int64{2, 8, 1, 1}},
		{Name: "dcgan256-D", Role: D, Opts: Options{Kind: "dcgan", ImageSize: 256, InputNC: 1, NDF: 4}, in: []int64{2, 1, 256, 256}},
		// pix2pix U-Nets: unet_256 at full width, batch norm and dropout, batch 1
		{Name: "unet256-batch-dropout", Role: G, Opts: Options{Kind: "unet_256", Norm: "batch", Dropout: true},
			in: []int64{1, 3, 256, 256}, init: "normal", gain: 0.02},
		{Name: "unet128-instance", Role: G, Opts: Options{Kind: "unet_128", NGF: 8, Norm: "instance", Dropout: true},
			in: []int64{2, 3, 128, 128}, init: "xavier", gain: 1,
			Inits: []initCheck{{Kind: "normal", Gain: 0.02}, {Kind: "default"}}},
		{Name: "unet64-none", Role: G, Opts: Options{Kind: "unet", NumDowns: 6, NGF: 4, Norm: "none", InputNC: 1, OutputNC: 2},
			in: []int64{2, 1, 64, 64}, init: "kaiming"},
		// ResNet generators
		{Name: "resnet9-instance-reflect", Role: G, Opts: Options{Kind: "resnet_9blocks", NGF: 8, Norm: "instance"},
			in: []int64{1, 3, 64, 64}, Inits: []initCheck{{Kind: "xavier", Gain: 0.02}, {Kind: "default"}}},
		{Name: "resnet6-batch-replicate-dropout", Role: G, Opts: Options{Kind: "resnet_6blocks", NGF: 8, Norm: "batch",
			PadType: "replicate", Dropout: true}, in: []int64{2, 3, 64, 64}, init: "normal", gain: 0.02},
		{Name: "resnet6-none-zero", Role: G, Opts: Options{Kind: "resnet_6blocks", NGF: 4, Norm: "none", PadType: "zero",
			OutputNC: 1}, in: []int64{2, 3, 32, 32}, init: "orthogonal", gain: 1},
		// PatchGAN and pixel discriminators
		{Name: "basic-6ch-batch", Role: D, Opts: Options{Kind: "basic", InputNC: 6, Norm: "batch"}, in: []int64{1, 6, 256, 256},
			init: "normal", gain: 0.02, Inits: []initCheck{{Kind: "kaiming"}, {Kind: "orthogonal", Gain: 0.02}, {Kind: "default"}}},
		{Name: "nlayers5-instance", Role: D, Opts: Options{Kind: "n_layers", NLayers: 5, NDF: 8, Norm: "instance"},
			in: []int64{2, 3, 128, 128}},
		{Name: "nlayers1-none", Role: D, Opts: Options{Kind: "n_layers", NLayers: 1, NDF: 8, Norm: "none", InputNC: 2},
			in: []int64{2, 2, 32, 32}, init: "xavier", gain: 1},
		{Name: "pixel-batch", Role: D, Opts: Options{Kind: "pixel", NDF: 16, Norm: "batch"}, in: []int64{2, 3, 32, 32},
			Inits: []initCheck{{Kind: "normal", Gain: 0.02}, {Kind: "default"}}},
		// pix2pixHD multi-scale discriminators
		{Name: "multiscale-instance-feat", Role: D, Opts: Options{Kind: "multiscale", NDF: 8, Norm: "instance", NumD: 3,
			GetIntermFeat: true, InputNC: 6}, in: []int64{1, 6, 128, 128},
			Inits: []initCheck{{Kind: "normal", Gain: 0.02}, {Kind: "default"}}},
		{Name: "multiscale-batch", Role: D, Opts: Options{Kind: "multiscale", NDF: 8, Norm: "batch", NumD: 2, NLayers: 4},
			in: []int64{2, 3, 64, 64}, init: "normal", gain: 0.02, Inits: []initCheck{{Kind: "default"}}},
		// pix2pixHD generators: label maps (one-hot + boundaries) to images
		{Name: "hd-global-instance", Role: G, Opts: Options{Kind: "global", InputNC: 6, NGF: 8, Norm: "instance",
			NDownsampleGlobal: 3, NBlocksGlobal: 2}, in: []int64{1, 6, 64, 64},
			init: "pix2pixhd", gain: 0.02, Inits: []initCheck{{Kind: "pix2pixhd", Gain: 0.02}, {Kind: "default"}}},
		{Name: "hd-global-batch-defaults", Role: G, Opts: Options{Kind: "global", NGF: 4, Norm: "batch"}, in: []int64{2, 3, 64, 64},
			Inits: []initCheck{{Kind: "pix2pixhd", Gain: 0.02}}},
		{Name: "hd-local-instance", Role: G, Opts: Options{Kind: "local", InputNC: 4, OutputNC: 3, NGF: 4, Norm: "instance",
			NDownsampleGlobal: 2, NBlocksGlobal: 2, NLocalEnhancers: 1, NBlocksLocal: 2}, in: []int64{1, 4, 64, 64},
			init: "pix2pixhd", gain: 0.02, Inits: []initCheck{{Kind: "pix2pixhd", Gain: 0.02}, {Kind: "default"}}},
		{Name: "hd-local2-batch", Role: G, Opts: Options{Kind: "local", NGF: 4, Norm: "batch",
			NDownsampleGlobal: 2, NBlocksGlobal: 1, NLocalEnhancers: 2, NBlocksLocal: 1}, in: []int64{2, 3, 64, 64},
			Inits: []initCheck{{Kind: "pix2pixhd", Gain: 0.02}}},
		// pix2pixHD's perceptual loss network
		{Name: "vgg19-features", Role: "VGG", Opts: Options{Kind: "vgg19"}, in: []int64{1, 3, 48, 48},
			Inits: []initCheck{{Kind: "default"}}},
		// sides that pool to odd sizes (36 -> 9, 44 -> 11 and 5): torchvision's
		// max pools floor them (ceil_mode=False)
		{Name: "vgg19-odd-sides", Role: "VGG", Opts: Options{Kind: "vgg19"}, in: []int64{1, 3, 36, 44}},
	}

	start := time.Now()
	for k, c := range cases {
		c.Opts = c.Opts.WithDefaults()
		p := func(s string) string { return filepath.Join(dir, c.Name+"."+s) }
		c.Meta = p("meta.json")
		c.Input, c.Gogan, c.Out, c.TorchSD = p("in.safetensors"), p("gogan.safetensors"), p("out.safetensors"), p("torch.safetensors")
		c.TorchSeed, c.TrainSeed = uint64(1000+k), uint64(2000+k)
		if c.init == "" {
			c.TorchInit, c.TorchGain = "normal", 0.02 // and the other way round
		}
		for i := range c.Inits {
			c.Inits[i].Seed = uint64(3000 + 10*k + i)
			c.Inits[i].Out = p(fmt.Sprintf("init%d.safetensors", i))
		}

		torch.ManualSeed(uint64(k))
		n := c.build(t)
		for _, e := range n.StateDict() {
			c.goKeys = append(c.goKeys, [3]string{e.Name, fmt.Sprint(e.Tensor.Shape()), e.Tensor.DType().String()})
		}
		c.goParams = n.NumParams()
		rows, outs, err := n.layerRows(c.in)
		if err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		c.goShapes = map[string][]int64{}
		for _, r := range rows {
			c.goShapes[r.name] = r.shape
		}
		for i, scale := range outs {
			for j, shape := range scale {
				c.goShapes[fmt.Sprintf("output %d.%d", i, j)] = shape
			}
		}
		for _, ic := range c.Inits {
			torch.ManualSeed(ic.Seed)
			var err error
			switch ic.Kind {
			case "default":
				m := c.build(t)
				c.goInits = append(c.goInits, stateValues(m))
				m.Free()
				continue
			case "pix2pixhd":
				// weights_init keeps the biases of construction: build
				// anew under the seed, as define_G / define_D do.
				m := c.build(t)
				err = m.Init("pix2pixhd", ic.Gain)
				c.goInits = append(c.goInits, stateValues(m))
				m.Free()
				if err != nil {
					t.Fatal(err)
				}
				continue
			case "dcgan":
				err = n.Init("normal", 0.02) // weights_init
			default:
				err = n.Init(ic.Kind, ic.Gain)
			}
			if err != nil {
				t.Fatal(err)
			}
			c.goInits = append(c.goInits, stateValues(n))
		}
		if c.init != "" {
			if err := n.Init(c.init, c.gain); err != nil {
				t.Fatal(err)
			}
		}
		randomizeBuffers(n)
		if err := n.Save(c.Gogan, nil); err != nil {
			t.Fatal(err)
		}
		x := torch.Randn(torch.Float32, cpu, c.in...).Persist()
		if err := torch.SaveSafetensors(c.Input, []torch.Named{{Name: "x", Tensor: x}}, nil); err != nil {
			t.Fatal(err)
		}
		c.goOut = runNet(t, n, x, c.TrainSeed)
		x.Free()
		n.Free()
	}
	t.Logf("gogan side: %v", time.Since(start).Round(time.Millisecond))

	start = time.Now()
	torchtest.RunScript(t, "../scripts/reference_nets.py", torchtest.WriteCases(t, dir, cases))
	t.Logf("PyTorch side: %v", time.Since(start).Round(time.Millisecond))

	start = time.Now()
	const tol = 1e-5
	for _, c := range cases {
		// the same state dict: keys, order, shapes, dtypes; the same parameter count
		var meta struct {
			Keys   [][3]json.RawMessage `json:"keys"`
			Params int64                `json:"params"`
			Shapes map[string][]int64   `json:"shapes"`
		}
		mb, err := os.ReadFile(c.Meta)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(mb, &meta); err != nil {
			t.Fatal(err)
		}
		if meta.Params != c.goParams {
			t.Errorf("%s: %d parameters, PyTorch %d", c.Name, c.goParams, meta.Params)
		}
		if len(meta.Keys) != len(c.goKeys) {
			t.Errorf("%s: %d state-dict entries, PyTorch %d", c.Name, len(c.goKeys), len(meta.Keys))
		}
		for i := 0; i < min(len(meta.Keys), len(c.goKeys)); i++ {
			var name, dt string
			var shape []int64
			json.Unmarshal(meta.Keys[i][0], &name)
			json.Unmarshal(meta.Keys[i][1], &shape)
			json.Unmarshal(meta.Keys[i][2], &dt)
			py := [3]string{name, fmt.Sprint(shape), dt}
			if py != c.goKeys[i] {
				t.Errorf("%s: state-dict entry %d is %v, PyTorch %v", c.Name, i, c.goKeys[i], py)
				break
			}
		}

		ref := loadValues(t, c.Out)

		// gogan's layer table (worked out on an empty batch) shows the
		// shapes of PyTorch's modules and outputs on the real one
		if len(c.goShapes) == 0 {
			t.Errorf("%s: no layer table", c.Name)
		}
		for name, shape := range c.goShapes {
			want, ok := meta.Shapes[name]
			if o, isOut := strings.CutPrefix(name, "output "); isOut {
				want, ok = ref["gogan.eval."+o].shape, true
			}
			switch {
			case !ok:
				t.Errorf("%s: layer %s outputs %v; PyTorch has no module %s", c.Name, name, shape, name)
			case fmt.Sprint(shape) != fmt.Sprint(want):
				t.Errorf("%s: layer %s outputs %v, PyTorch's %v", c.Name, name, shape, want)
			}
		}

		// gogan's weights in PyTorch
		for k, v := range c.goOut {
			w, ok := ref["gogan."+k]
			if !ok {
				t.Errorf("%s: PyTorch gave no %s", c.Name, k)
				continue
			}
			closeTo(t, c.Name+" gogan weights, "+k, v, w, tol)
		}
		for k := range ref {
			if s, ok := strings.CutPrefix(k, "gogan."); ok {
				if _, ok := c.goOut[s]; !ok {
					t.Errorf("%s: gogan gave no %s", c.Name, s)
				}
			}
		}

		// PyTorch's weights in gogan (a differently seeded gogan net first)
		torch.ManualSeed(c.TorchSeed + 7)
		n := c.build(t)
		if err := n.Load(c.TorchSD); err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		x := torch.Zeros(torch.Float32, cpu, c.in...).Persist()
		in, _, err := torch.LoadSafetensors(c.Input)
		if err != nil {
			t.Fatal(err)
		}
		x.CopyFrom(in[0].Tensor)
		in[0].Tensor.Free()
		got := runNet(t, n, x, c.TrainSeed)
		x.Free()
		n.Free()
		for k, v := range got {
			w, ok := ref["torch."+k]
			if !ok {
				t.Errorf("%s: PyTorch gave no %s", c.Name, k)
				continue
			}
			closeTo(t, c.Name+" PyTorch weights, "+k, v, w, tol)
		}

		// Init and construction give PyTorch's weights under the same seed
		for i, ic := range c.Inits {
			want := loadValues(t, ic.Out)
			if len(want) != len(c.goInits[i]) {
				t.Errorf("%s init %s: %d tensors, PyTorch %d", c.Name, ic.Kind, len(c.goInits[i]), len(want))
			}
			for k, v := range c.goInits[i] {
				closeTo(t, fmt.Sprintf("%s init %s, %s", c.Name, ic.Kind, k), v, want[k], 1e-6)
			}
		}
	}
	t.Logf("comparisons: %v", time.Since(start).Round(time.Millisecond))
}
