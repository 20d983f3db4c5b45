package eval

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	torch "gogan/cgo"
)

// InceptionDims are the feature sizes pytorch-fid offers (its
// BLOCK_INDEX_BY_DIM): the first and second max pooling, the input of the
// auxiliary classifier (all three averaged over space), and the final
// average pooling, FID's pool3 features.
var InceptionDims = []int{64, 192, 768, 2048}

// InceptionWeightsFile is the name of pytorch-fid's FID weights: the
// TensorFlow Inception of the original FID code (2015-12-05), ported to
// PyTorch. 6726825d begins the file's SHA-256 (torch.hub's convention).
const InceptionWeightsFile = "pt_inception-2015-12-05-6726825d.pth"

// DefaultInceptionWeights is where pytorch-fid (torch.hub) caches the
// weights: $TORCH_HOME/hub/checkpoints, TORCH_HOME defaulting to
// $XDG_CACHE_HOME/torch or ~/.cache/torch.
func DefaultInceptionWeights() string {
	if dir := torch.HubCheckpoints(); dir != "" {
		return filepath.Join(dir, InceptionWeightsFile)
	}
	return ""
}

// basicConv is torchvision's BasicConv2d: a convolution without bias,
// BatchNorm with eps 0.001 (eval mode: running statistics), ReLU.
type basicConv struct {
	w, bnW, bnB, mean, vari *torch.Tensor
	opts                    torch.ConvOpts
}

func (c *basicConv) forward(x *torch.Tensor) *torch.Tensor {
	y := torch.Conv2d(x, c.w, nil, c.opts)
	return torch.BatchNorm(y, c.bnW, c.bnB, c.mean, c.vari, false, 0.1, 0.001).Relu_()
}

// Inception is pytorch-fid's InceptionV3 with use_fid_inception: torchvision's
// Inception3 whose Mixed_5b-d, 6b-e, 7b and 7c blocks are patched as
// TensorFlow's graph computes them (FIDInceptionA, C, E_1, E_2: average
// pooling that leaves the padding out of the count, max pooling in the last
// block), in eval mode, up to the block that dims needs.
type Inception struct {
	Path   string
	SHA256 string // of the weights file
	dev    torch.Device
	convs  map[string]*basicConv
	owned  []*torch.Tensor
}

// inceptionConv is one BasicConv2d of the network: its state-dict prefix and
// geometry.
type inceptionConv struct {
	name           string
	in, out        int64
	kh, kw, sh, sw int64
	ph, pw         int64
}

// inceptionConvs lists every convolution the features use, as torchvision's
// Inception3 and its blocks (InceptionA to E) define them.
func inceptionConvs() []inceptionConv {
	var cs []inceptionConv
	add := func(name string, in, out, kh, kw, stride, ph, pw int64) {
		cs = append(cs, inceptionConv{name, in, out, kh, kw, stride, stride, ph, pw})
	}
	sq := func(name string, in, out, k, stride, pad int64) { add(name, in, out, k, k, stride, pad, pad) }
	sq("Conv2d_1a_3x3", 3, 32, 3, 2, 0)
	sq("Conv2d_2a_3x3", 32, 32, 3, 1, 0)
	sq("Conv2d_2b_3x3", 32, 64, 3, 1, 1)
	sq("Conv2d_3b_1x1", 64, 80, 1, 1, 0)
	sq("Conv2d_4a_3x3", 80, 192, 3, 1, 0)
	blockA := func(m string, in, pool int64) {
		sq(m+".branch1x1", in, 64, 1, 1, 0)
		sq(m+".branch5x5_1", in, 48, 1, 1, 0)
		sq(m+".branch5x5_2", 48, 64, 5, 1, 2)
		sq(m+".branch3x3dbl_1", in, 64, 1, 1, 0)
		sq(m+".branch3x3dbl_2", 64, 96, 3, 1, 1)
		sq(m+".branch3x3dbl_3", 96, 96, 3, 1, 1)
		sq(m+".branch_pool", in, pool, 1, 1, 0)
	}
	blockA("Mixed_5b", 192, 32)
	blockA("Mixed_5c", 256, 64)
	blockA("Mixed_5d", 288, 64)
	sq("Mixed_6a.branch3x3", 288, 384, 3, 2, 0)
	sq("Mixed_6a.branch3x3dbl_1", 288, 64, 1, 1, 0)
	sq("Mixed_6a.branch3x3dbl_2", 64, 96, 3, 1, 1)
	sq("Mixed_6a.branch3x3dbl_3", 96, 96, 3, 2, 0)
	blockC := func(m string, c7 int64) {
		sq(m+".branch1x1", 768, 192, 1, 1, 0)
		sq(m+".branch7x7_1", 768, c7, 1, 1, 0)
		add(m+".branch7x7_2", c7, c7, 1, 7, 1, 0, 3)
		add(m+".branch7x7_3", c7, 192, 7, 1, 1, 3, 0)
		sq(m+".branch7x7dbl_1", 768, c7, 1, 1, 0)
		add(m+".branch7x7dbl_2", c7, c7, 7, 1, 1, 3, 0)
		add(m+".branch7x7dbl_3", c7, c7, 1, 7, 1, 0, 3)
		add(m+".branch7x7dbl_4", c7, c7, 7, 1, 1, 3, 0)
		add(m+".branch7x7dbl_5", c7, 192, 1, 7, 1, 0, 3)
		sq(m+".branch_pool", 768, 192, 1, 1, 0)
	}
	blockC("Mixed_6b", 128)
	blockC("Mixed_6c", 160)
	blockC("Mixed_6d", 160)
	blockC("Mixed_6e", 192)
	sq("Mixed_7a.branch3x3_1", 768, 192, 1, 1, 0)
	sq("Mixed_7a.branch3x3_2", 192, 320, 3, 2, 0)
	sq("Mixed_7a.branch7x7x3_1", 768, 192, 1, 1, 0)
	add("Mixed_7a.branch7x7x3_2", 192, 192, 1, 7, 1, 0, 3)
	add("Mixed_7a.branch7x7x3_3", 192, 192, 7, 1, 1, 3, 0)
	sq("Mixed_7a.branch7x7x3_4", 192, 192, 3, 2, 0)
	blockE := func(m string, in int64) {
		sq(m+".branch1x1", in, 320, 1, 1, 0)
		sq(m+".branch3x3_1", in, 384, 1, 1, 0)
		add(m+".branch3x3_2a", 384, 384, 1, 3, 1, 0, 1)
		add(m+".branch3x3_2b", 384, 384, 3, 1, 1, 1, 0)
		sq(m+".branch3x3dbl_1", in, 448, 1, 1, 0)
		sq(m+".branch3x3dbl_2", 448, 384, 3, 1, 1)
		add(m+".branch3x3dbl_3a", 384, 384, 1, 3, 1, 0, 1)
		add(m+".branch3x3dbl_3b", 384, 384, 3, 1, 1, 1, 0)
		sq(m+".branch_pool", in, 192, 1, 1, 0)
	}
	blockE("Mixed_7b", 1280)
	blockE("Mixed_7c", 2048)
	return cs
}

// hubHash is the hash prefix in the name of pytorch-fid's weights as
// torch.hub saves them.
var hubHash = regexp.MustCompile(`^pt_inception-.*-([0-9a-f]{8,})\.pth$`)

// LoadInception reads pytorch-fid's FID Inception weights (a torch.save
// state dict, either format) onto dev. A file that is not that network is
// an error saying what it lacks; torchvision's ImageNet Inception
// (inception_v3_google-*.pth: another network's weights, other FIDs) is
// refused by name. A pt_inception-*-HASH.pth file must match the hash
// prefix its name carries, as torch.hub checks it.
func LoadInception(path string, dev torch.Device) (*Inception, error) {
	if path == "" { // DefaultInceptionWeights without a cache folder
		return nil, fmt.Errorf("FID Inception weights: torch.hub's cache %s holds no %s: give --inception with the file (a release asset of github.com/mseitzer/pytorch-fid)", torch.HubCheckpointsName(), InceptionWeightsFile)
	}
	f, err := os.Open(path)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, fmt.Errorf("FID Inception weights %s: no such file; give --inception with pytorch-fid's %s (python -m pytorch_fid downloads it into ~/.cache/torch/hub/checkpoints/; it is a release asset of github.com/mseitzer/pytorch-fid)", path, InceptionWeightsFile)
		}
		return nil, fmt.Errorf("FID Inception weights: %w", err)
	}
	h := sha256.New()
	_, err = io.Copy(h, f)
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("FID Inception weights %s: %w", path, err)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	if m := hubHash.FindStringSubmatch(filepath.Base(path)); m != nil && !strings.HasPrefix(sum, m[1]) {
		return nil, fmt.Errorf("FID Inception weights %s: its SHA-256 is %s, not the %s… its name promises: a damaged or different file", path, sum, m[1])
	}
	if classifierFile(path) {
		return nil, fmt.Errorf("FID Inception weights %s: gogan eval classifier's Fashion-MNIST classifier, not pytorch-fid's FID Inception: give it as --classifier (FID on its features, DCGAN checkpoints against the Fashion-MNIST test set), or give --inception %s", path, InceptionWeightsFile)
	}
	ts, err := torch.LoadPTH(path)
	if err != nil {
		return nil, fmt.Errorf("FID Inception weights: %w", err)
	}
	defer torch.FreeNamed(ts)
	byName := map[string]*torch.Tensor{}
	for _, t := range ts {
		byName[t.Name] = t.Tensor
	}
	if byName["AuxLogits.fc.weight"] != nil {
		return nil, fmt.Errorf("FID Inception weights %s: torchvision's ImageNet Inception v3 (it has AuxLogits), not the FID Inception; FID needs pytorch-fid's %s, whose scores are comparable with published ones", path, InceptionWeightsFile)
	}
	inc := &Inception{Path: path, SHA256: sum, dev: dev, convs: map[string]*basicConv{}}
	sc := torch.NewScope() // the conversions' intermediates
	defer sc.Close()
	var problems []string
	for _, c := range inceptionConvs() {
		want := map[string][]int64{
			".conv.weight": {c.out, c.in, c.kh, c.kw}, ".bn.weight": {c.out}, ".bn.bias": {c.out},
			".bn.running_mean": {c.out}, ".bn.running_var": {c.out},
		}
		got := map[string]*torch.Tensor{}
		for _, suffix := range []string{".conv.weight", ".bn.weight", ".bn.bias", ".bn.running_mean", ".bn.running_var"} {
			t := byName[c.name+suffix]
			switch {
			case t == nil:
				problems = append(problems, "missing "+c.name+suffix)
			case !slices.Equal(t.Shape(), want[suffix]):
				problems = append(problems, fmt.Sprintf("%s%s has shape %v, not %v", c.name, suffix, t.Shape(), want[suffix]))
			default:
				got[suffix] = t
			}
		}
		if len(got) < 5 || len(problems) > 0 {
			continue
		}
		var bc basicConv
		err := torch.Try(func() {
			put := func(t *torch.Tensor) *torch.Tensor {
				d := t.ToDType(torch.Float32).To(dev).Persist()
				inc.owned = append(inc.owned, d)
				return d
			}
			bc = basicConv{w: put(got[".conv.weight"]), bnW: put(got[".bn.weight"]), bnB: put(got[".bn.bias"]),
				mean: put(got[".bn.running_mean"]), vari: put(got[".bn.running_var"]),
				opts: torch.ConvOpts{Stride: [2]int64{c.sh, c.sw}, Padding: [2]int64{c.ph, c.pw}}}
		})
		if err != nil {
			inc.Free()
			return nil, fmt.Errorf("FID Inception weights %s: %w", path, err)
		}
		inc.convs[c.name] = &bc
	}
	if len(problems) > 0 {
		inc.Free()
		keys := torch.SortedNames(ts)
		if len(keys) > 4 {
			keys = append(keys[:4], "...")
		}
		if len(problems) > 4 {
			problems = append(problems[:4], fmt.Sprintf("and %d more", len(problems)-4))
		}
		return nil, fmt.Errorf("FID Inception weights %s: not pytorch-fid's FID Inception (%s): %s (its keys: %s)",
			path, InceptionWeightsFile, strings.Join(problems, "; "), strings.Join(keys, ", "))
	}
	return inc, nil
}

// Free releases the weights. Idempotent.
func (m *Inception) Free() {
	for _, t := range m.owned {
		t.Free()
	}
	m.owned = nil
}

// Published reports whether the file is pytorch-fid's released FID weights
// (its SHA-256 begins with the hash in their name), whose FIDs are the
// published ones'.
func (m *Inception) Published() bool { return strings.HasPrefix(m.SHA256, "6726825d") }

// Features runs pytorch-fid's InceptionV3 on x, [N 3 H W] float32 in [0, 1]
// (torchvision's ToTensor of the images): resized to 299x299 (bilinear,
// align_corners=False), scaled to [-1, 1], up to the block of dims, whose
// output is averaged over space when it is not already 1x1. The result is
// [N dims], in the caller's scope.
func (m *Inception) Features(x *torch.Tensor, dims int) *torch.Tensor {
	block := slices.Index(InceptionDims, dims)
	if block < 0 {
		panic(&torch.Error{Op: "inception", Msg: fmt.Sprintf("dims %d: pytorch-fid offers %v", dims, InceptionDims)})
	}
	c := func(name string, x *torch.Tensor) *torch.Tensor { return m.convs[name].forward(x) }
	seq := func(x *torch.Tensor, names ...string) *torch.Tensor {
		for _, n := range names {
			x = c(n, x)
		}
		return x
	}
	avg := func(x *torch.Tensor) *torch.Tensor { // TensorFlow's: padding out of the count
		return torch.AvgPool2d(x, [2]int64{3, 3}, [2]int64{1, 1}, [2]int64{1, 1}, false, false)
	}
	maxDown := func(x *torch.Tensor) *torch.Tensor {
		return torch.MaxPool2d(x, [2]int64{3, 3}, [2]int64{2, 2}, [2]int64{0, 0}, false)
	}
	x = torch.Upsample(x, torch.Bilinear, 299, 299, false).MulScalar(2).SubScalar(1)
	x = maxDown(seq(x, "Conv2d_1a_3x3", "Conv2d_2a_3x3", "Conv2d_2b_3x3"))
	if block > 0 {
		x = maxDown(seq(x, "Conv2d_3b_1x1", "Conv2d_4a_3x3"))
	}
	if block > 1 {
		for _, b := range []string{"Mixed_5b", "Mixed_5c", "Mixed_5d"} { // FIDInceptionA
			x = torch.Cat([]*torch.Tensor{
				c(b+".branch1x1", x),
				seq(x, b+".branch5x5_1", b+".branch5x5_2"),
				seq(x, b+".branch3x3dbl_1", b+".branch3x3dbl_2", b+".branch3x3dbl_3"),
				c(b+".branch_pool", avg(x)),
			}, 1)
		}
		x = torch.Cat([]*torch.Tensor{ // InceptionB
			c("Mixed_6a.branch3x3", x),
			seq(x, "Mixed_6a.branch3x3dbl_1", "Mixed_6a.branch3x3dbl_2", "Mixed_6a.branch3x3dbl_3"),
			maxDown(x),
		}, 1)
		for _, b := range []string{"Mixed_6b", "Mixed_6c", "Mixed_6d", "Mixed_6e"} { // FIDInceptionC
			x = torch.Cat([]*torch.Tensor{
				c(b+".branch1x1", x),
				seq(x, b+".branch7x7_1", b+".branch7x7_2", b+".branch7x7_3"),
				seq(x, b+".branch7x7dbl_1", b+".branch7x7dbl_2", b+".branch7x7dbl_3", b+".branch7x7dbl_4", b+".branch7x7dbl_5"),
				c(b+".branch_pool", avg(x)),
			}, 1)
		}
	}
	if block > 2 {
		x = torch.Cat([]*torch.Tensor{ // InceptionD
			seq(x, "Mixed_7a.branch3x3_1", "Mixed_7a.branch3x3_2"),
			seq(x, "Mixed_7a.branch7x7x3_1", "Mixed_7a.branch7x7x3_2", "Mixed_7a.branch7x7x3_3", "Mixed_7a.branch7x7x3_4"),
			maxDown(x),
		}, 1)
		for _, b := range []string{"Mixed_7b", "Mixed_7c"} { // FIDInceptionE_1, E_2
			pool := avg(x)
			if b == "Mixed_7c" { // max pooling here, as the TensorFlow graph
				pool = torch.MaxPool2d(x, [2]int64{3, 3}, [2]int64{1, 1}, [2]int64{1, 1}, false)
			}
			s := c(b+".branch3x3_1", x)
			d := seq(x, b+".branch3x3dbl_1", b+".branch3x3dbl_2")
			x = torch.Cat([]*torch.Tensor{
				c(b+".branch1x1", x),
				c(b+".branch3x3_2a", s), c(b+".branch3x3_2b", s),
				c(b+".branch3x3dbl_3a", d), c(b+".branch3x3dbl_3b", d),
				c(b+".branch_pool", pool),
			}, 1)
		}
	}
	// The final AdaptiveAvgPool2d, or get_activations' adaptive_avg_pool2d
	// of the earlier blocks' maps.
	return x.MeanDims([]int64{2, 3}, false)
}
