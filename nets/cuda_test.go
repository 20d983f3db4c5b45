package nets

import (
	"encoding/json"
	"fmt"
	"math"
	"os/exec"
	"path/filepath"
	"testing"

	torch "gogan/cgo"
	"gogan/cgo/torchtest"
)

// TestCUDAMatchesCPU builds networks on the GPU, loads a CPU network's state
// dict into each (a copy across devices), and compares the outputs and the
// updated buffers in eval and train mode with the CPU's (TF32 off); then the
// GPU's weights go back through a file into a CPU network.
func TestCUDAMatchesCPU(t *testing.T) {
	if !torch.CUDAIsAvailable() {
		t.Skipf("no CUDA device (libtorch %s sees none): this test runs on a GPU machine (scripts/gpu-check)", torch.Version())
	}
	dev := torch.CUDADevice(0)
	torch.LockThread()
	torch.SetAllowTF32(false)
	defer torch.SetAllowTF32(true)
	cases := []struct {
		g  bool
		o  Options
		in []int64
	}{
		{true, Options{Kind: "dcgan"}, []int64{4, 100, 1, 1}},
		{false, Options{Kind: "dcgan"}, []int64{4, 3, 64, 64}},
		{true, Options{Kind: "unet_256"}, []int64{2, 3, 256, 256}},
		{true, Options{Kind: "resnet_9blocks", Norm: "instance", NGF: 16}, []int64{2, 3, 128, 128}},
		{false, Options{Kind: "basic", InputNC: 6}, []int64{2, 6, 256, 256}},
		{false, Options{Kind: "multiscale", InputNC: 6, GetIntermFeat: true, Norm: "instance"}, []int64{2, 6, 256, 256}},
	}
	for k, c := range cases {
		mk := func(d torch.Device) *Net {
			var n *Net
			var err error
			if c.g {
				n, err = NewGenerator(c.o, d)
			} else {
				n, err = NewDiscriminator(c.o, d)
			}
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		name := fmt.Sprintf("%s %v", c.o.Kind, c.in)
		cpuNet, gpuNet := mk(cpu), mk(dev)
		if err := cpuNet.Init("normal", 0.02); err != nil {
			t.Fatal(err)
		}
		randomizeBuffers(cpuNet)
		if err := gpuNet.LoadStateDict(cpuNet.StateDict()); err != nil {
			t.Fatalf("%s: CPU state dict into the GPU net: %v", name, err)
		}
		torch.ManualSeed(uint64(k))
		x := torch.Randn(torch.Float32, cpu, c.in...).Persist()
		xg := x.To(dev).Persist()
		want := runNet(t, cpuNet, x, 1)
		got := runNet(t, gpuNet, xg, 1)
		for key, w := range want {
			closeTo(t, name+" on CUDA, "+key, got[key], w, 2e-4)
		}
		path := filepath.Join(t.TempDir(), "gpu.safetensors")
		if err := gpuNet.Save(path, nil); err != nil {
			t.Fatal(err)
		}
		back := mk(cpu)
		if err := back.Load(path); err != nil {
			t.Fatal(err)
		}
		gv := stateValues(gpuNet)
		for key, v := range stateValues(back) {
			closeTo(t, name+" back from CUDA, "+key, v, gv[key], 0)
		}
		x.Free()
		xg.Free()
		back.Free()
		cpuNet.Free()
		gpuNet.Free()
	}
}

// TestCUDANetsDrawAsTheReferences: networks built on the GPU take their
// random numbers where the references' do, which build on the CPU (each
// layer's default initialisation from the CPU generator) and move the net
// to the GPU before init_weights (its normal_ draws from the GPU's): from
// one seed, a U-Net G and a PatchGAN D built and initialised on cuda:0 hold
// PyTorch's weights (the GPU PyTorch at GOGAN_PYTHON, scripts/gpu-check's,
// running scripts/reference_nets.py's define_G/define_D and init_weights),
// and the CPU generator is where PyTorch's is after them (the DataLoader's
// seeds come from it next).
func TestCUDANetsDrawAsTheReferences(t *testing.T) {
	if !torch.CUDAIsAvailable() {
		t.Skipf("no CUDA device (libtorch %s sees none): this test runs on a GPU machine (scripts/gpu-check)", torch.Version())
	}
	py := torchtest.Python(t)
	out, err := exec.Command(py, "-c", `
import json, sys, torch
sys.path.insert(0, "../scripts")
import reference_nets as rn
torch.manual_seed(5)
out = {}
for name, build in (("G", lambda: rn.define_G(3, 3, 8, "unet_128", "batch", True)), ("D", lambda: rn.define_D(6, 8, "basic"))):
    net = build().to("cuda:0")  # define_G / define_D's init_net: to the GPU, then init_weights
    rn.init_weights(net, "normal", 0.02)
    for k, v in net.state_dict().items():
        if v.is_floating_point():
            out[name + "." + k] = [float(v.double().sum()), v.flatten()[:3].tolist()]
out["cpu_rand"] = torch.rand(3).tolist()
print(json.dumps(out))
`).Output()
	if err != nil {
		t.Fatalf("python: %v", err)
	}
	var want map[string]json.RawMessage
	if err := json.Unmarshal(out, &want); err != nil {
		t.Fatal(err)
	}
	dev := torch.CUDADevice(0)
	torch.LockThread()
	torch.ManualSeed(5)
	g, err := NewGenerator(Options{Kind: "unet_128", NGF: 8, Norm: "batch", Dropout: true}, dev)
	if err != nil {
		t.Fatal(err)
	}
	defer g.Free()
	if err := g.Init("normal", 0.02); err != nil {
		t.Fatal(err)
	}
	d, err := NewDiscriminator(Options{Kind: "basic", InputNC: 6, NDF: 8, Norm: "batch"}, dev)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Free()
	if err := d.Init("normal", 0.02); err != nil {
		t.Fatal(err)
	}
	sc := torch.NewScope()
	defer sc.Close()
	checked := 0
	for name, n := range map[string]*Net{"G": g, "D": d} {
		for _, e := range n.StateDict() {
			raw, ok := want[name+"."+e.Name]
			if !ok {
				continue // integer buffers (num_batches_tracked)
			}
			var w []json.RawMessage
			json.Unmarshal(raw, &w)
			var sum float64
			var head []float32
			json.Unmarshal(w[0], &sum)
			json.Unmarshal(w[1], &head)
			v := e.Tensor.To(torch.CPUDevice).Float32s()
			got := 0.0
			for _, x := range v {
				got += float64(x)
			}
			if math.Abs(got-sum) > 1e-6*(1+math.Abs(sum)) || v[0] != head[0] {
				t.Errorf("%s.%s: sum %g, first %g; PyTorch's %g, %g", name, e.Name, got, v[0], sum, head[0])
			}
			checked++
		}
	}
	var rand []float32
	json.Unmarshal(want["cpu_rand"], &rand)
	if got := torch.Rand(torch.Float32, torch.CPUDevice, 3).Float32s(); got[0] != rand[0] || got[1] != rand[1] {
		t.Errorf("the CPU generator after building: %v, PyTorch's %v", got, rand)
	}
	t.Logf("%d tensors", checked)
}
