package nets

import (
	"fmt"
	"strings"

	torch "gogan/cgo"
)

// vgg19Widths is torchvision's VGG19 configuration "E" ('M' = max pool as 0).
var vgg19Widths = []int64{64, 64, 0, 128, 128, 0, 256, 256, 256, 256, 0, 512, 512, 512, 512, 0, 512, 512, 512, 512, 0}

// vggSlices are the ends of pix2pixHD's Vgg19 slices in features: relu1_1,
// relu2_1, relu3_1, relu4_1 and relu5_1.
var vggSlices = []int{2, 7, 12, 21, 30}

// maxPool2d is nn.MaxPool2d(kernel_size=2, stride=2).
type maxPool2d struct{ Base }

func (p *maxPool2d) Forward(x *torch.Tensor) *torch.Tensor {
	return torch.MaxPool2d(x, [2]int64{2, 2}, [2]int64{2, 2}, [2]int64{0, 0}, false)
}

// VGG19 is the frozen feature extractor of pix2pixHD's perceptual loss:
// torchvision's vgg19().features up to relu5_1 (its first 30 layers), with
// torchvision's state-dict keys (features.0.weight, ...). Its
// ForwardMultiScale is the one "scale" of Features.
type VGG19 struct {
	*Net
}

// vggRoot is pix2pixHD's Vgg19 over torchvision's features.
type vggRoot struct {
	Base
	features *Sequential
}

// Forward is relu5_1.
func (v *vggRoot) Forward(x *torch.Tensor) *torch.Tensor {
	fs := v.slices(x)
	for _, f := range fs[:len(fs)-1] {
		f.Free()
	}
	return fs[len(fs)-1]
}

func newVGG19Features(dev torch.Device) *Sequential {
	s := NewSequential()
	in := int64(3)
	for _, w := range vgg19Widths {
		if s.Len() >= vggSlices[len(vggSlices)-1] {
			break
		}
		if w == 0 {
			s.Append(&maxPool2d{Base: newLeaf("MaxPool2d", "kernel_size=2, stride=2, padding=0, dilation=1, ceil_mode=False")})
			continue
		}
		s.Append(NewConv2d(ConvSpec{In: in, Out: w, Kernel: 3, Padding: 1, Bias: true}, dev))
		if s.Len() < vggSlices[len(vggSlices)-1] {
			s.Append(NewReLU(true))
		}
		in = w
	}
	return s
}

// NewVGG19 builds the extractor with PyTorch's default initialisation (load
// ImageNet weights with LoadVGG19). Its parameters need no gradient.
func NewVGG19(dev torch.Device) (*VGG19, error) {
	n, err := newNet("vgg19", Options{Kind: "vgg19"}.WithDefaults(), 0, func() Module {
		v := &vggRoot{Base: newBase("Vgg19", ""), features: newVGG19Features(dev)}
		v.addChild("features", v.features)
		return v
	}, dev)
	if err != nil {
		return nil, err
	}
	n.SetTraining(false)
	if err := torch.Try(func() {
		torch.SetRequiresGradAll(n.Parameters(), false)
		drawUnkeptVGG19Init()
	}); err != nil {
		n.Free()
		return nil, err
	}
	return &VGG19{Net: n}, nil
}

// vgg19Unkept is how many parameters torchvision's VGG19 has past
// features.28: features.30, 32 and 34 (512 to 512, 3x3) and the
// classifier's Linear(25088, 4096), Linear(4096, 4096), Linear(4096, 1000).
const vgg19Unkept = 3*(512*512*9+512) + (25088*4096 + 4096) + (4096*4096 + 4096) + (4096*1000 + 1000)

// drawUnkeptVGG19Init takes from the generator the draws of the default
// initialisation of the layers gogan does not keep: pix2pixHD's Vgg19
// builds torchvision's whole vgg19(pretrained=True), whose every layer
// draws its reset_parameters (one uniform number per parameter, in order)
// before the first epoch's DataLoader seeds, which are then pix2pixHD's.
// From the CPU generator, as it builds the VGG19 on the CPU (Vgg19().cuda())
// and as resetConv draws; in chunks, as the values are thrown away (the
// first Linear alone has 103M).
func drawUnkeptVGG19Init() {
	const chunk = 1 << 22
	sc := torch.NewScope()
	defer sc.Close()
	buf := torch.Empty(torch.Float32, torch.CPUDevice, false, chunk)
	for left := int64(vgg19Unkept); left > 0; left -= chunk {
		b := buf
		if left < chunk {
			b = buf.Narrow(0, 0, left)
		}
		b.FillUniform(0, 1)
	}
}

// LoadVGG19 builds the extractor from a torchvision VGG19 state dict saved
// by torch.save (vgg19-dcbb9e9d.pth, or its features.* keys alone): the
// convolutions of features.0 to features.28 are read; the rest (features.30
// on, the classifier) is not needed. A file that is not a VGG19 is an error
// saying what it lacks.
func LoadVGG19(path string, dev torch.Device) (*VGG19, error) {
	ts, err := torch.LoadPTH(path)
	if err != nil {
		return nil, fmt.Errorf("VGG19 weights: %w", err)
	}
	defer torch.FreeNamed(ts)
	byName := map[string]*torch.Tensor{}
	for _, t := range ts {
		byName[t.Name] = t.Tensor
	}
	// Only VGG19 has these 16 convolutions at these indices (VGG16 has 13,
	// the _bn variants other indices).
	var missing []string
	for _, i := range []int{0, 2, 5, 7, 10, 12, 14, 16, 19, 21, 23, 25, 28, 30, 32, 34} {
		if byName[fmt.Sprintf("features.%d.weight", i)] == nil {
			missing = append(missing, fmt.Sprintf("features.%d.weight", i))
		}
	}
	if len(missing) > 0 {
		keys := torch.SortedNames(ts)
		if len(keys) > 6 {
			keys = append(keys[:6], "...")
		}
		return nil, fmt.Errorf("VGG19 weights %s: not a torchvision VGG19 state dict (as vgg19-dcbb9e9d.pth): it lacks %s (its keys: %s)",
			path, strings.Join(missing, ", "), strings.Join(keys, ", "))
	}
	v, err := NewVGG19(dev)
	if err != nil {
		return nil, err
	}
	var sd []torch.Named
	for _, e := range v.StateDict() {
		sd = append(sd, torch.Named{Name: e.Name, Tensor: byName[e.Name]})
	}
	if err := v.LoadStateDict(sd); err != nil {
		v.Free()
		return nil, fmt.Errorf("VGG19 weights %s: %w", path, err)
	}
	return v, nil
}

// Features are the activations relu1_1, relu2_1, relu3_1, relu4_1 and
// relu5_1 of x (pix2pixHD's Vgg19.forward), in the caller's scope.
func (v *VGG19) Features(x *torch.Tensor) []*torch.Tensor { return v.root.(*vggRoot).slices(x) }

func (v *vggRoot) slices(x *torch.Tensor) []*torch.Tensor {
	out := make([]*torch.Tensor, 0, len(vggSlices))
	h, from := x, 0
	for _, end := range vggSlices {
		for i := from; i < end; i++ {
			y := call(v.features.Layer(i), h)
			if h != x && i != from {
				h.Free()
			}
			h = y
		}
		out = append(out, h)
		from = end
	}
	return out
}
