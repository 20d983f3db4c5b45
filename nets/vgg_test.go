package nets

import (
	"encoding/json"
	"os/exec"
	"testing"

	torch "gogan/cgo"
	"gogan/cgo/torchtest"
)

// TestVGG19DrawsAsTorchvision: building the VGG19 extractor takes from the
// CPU generator what torchvision's whole VGG19 takes as pix2pixHD builds it
// (vgg19(pretrained=True): every layer's default initialisation, the three
// convolutions and the classifier gogan does not keep included), so that
// the draws after it (the DataLoader's seeds) are pix2pixHD's.
func TestVGG19DrawsAsTorchvision(t *testing.T) {
	py := torchtest.Python(t)
	out, err := exec.Command(py, "-c", `
import json, torch
from torchvision.models.vgg import VGG, make_layers, cfgs
torch.manual_seed(3)
VGG(make_layers(cfgs["E"]), init_weights=False)  # what vgg19(pretrained=True) builds before loading
print(json.dumps(torch.rand(4).tolist()))
`).Output()
	if err != nil {
		t.Fatalf("python: %v", err)
	}
	var want []float32
	if err := json.Unmarshal(out, &want); err != nil {
		t.Fatal(err)
	}
	torch.LockThread()
	torch.ManualSeed(3)
	v, err := NewVGG19(torch.CPUDevice)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Free()
	sc := torch.NewScope()
	defer sc.Close()
	got := torch.Rand(torch.Float32, torch.CPUDevice, 4).Float32s()
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("the generator after VGG19: %v, after torchvision's %v", got, want)
		}
	}
}
