package nets

import (
	"fmt"
	"path/filepath"
	"testing"

	torch "gogan/cgo"
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
