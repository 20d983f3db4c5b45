package nets

import (
	"fmt"
	"testing"
)

func shapesOf(n *Net) map[string][]int64 {
	out := map[string][]int64{}
	for _, t := range n.StateDict() {
		out[t.Name] = t.Tensor.Shape()
	}
	return out
}

// TestReadOptions: the settings of every pytorch-CycleGAN-and-pix2pix
// generator and discriminator gogan builds (whose keys and shapes are the
// reference's, TestInterop*) are read back from their state dicts' shapes
// alone, a DataParallel "module." prefix included; the shapes of another
// architecture say nothing.
func TestReadOptions(t *testing.T) {
	var gs []Options
	for _, kind := range []string{"unet_128", "unet_256", "unet_32", "resnet_6blocks", "resnet_9blocks", "resnet_2blocks"} {
		for _, norm := range []string{"batch", "instance", "none"} {
			for _, nc := range [][2]int{{3, 3}, {1, 2}, {1, 3}} {
				gs = append(gs, Options{Kind: kind, NGF: 8, Norm: norm, InputNC: nc[0], OutputNC: nc[1], Dropout: kind[0] == 'r' && nc[0] == 1})
			}
		}
	}
	for _, o := range gs {
		got, ok := ReadOptions(shapesOf(mustG(t, o)))
		want := o
		if want.Kind[0] == 'u' {
			want.Dropout = false // holds no weights: not told
		}
		if !ok || fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("generator %+v: read %+v, %v", o, got, ok)
		}
	}
	var ds []Options
	for _, norm := range []string{"batch", "instance", "none"} {
		ds = append(ds, Options{Kind: "basic", NLayers: 3, NDF: 8, Norm: norm, InputNC: 6}, Options{Kind: "pixel", NDF: 4, Norm: norm, InputNC: 3})
		for _, n := range []int{1, 2, 5} {
			ds = append(ds, Options{Kind: "n_layers", NLayers: n, NDF: 8, Norm: norm, InputNC: 4})
		}
	}
	for _, o := range ds {
		got, ok := ReadOptions(shapesOf(mustD(t, o)))
		if !ok || fmt.Sprint(got) != fmt.Sprint(o) {
			t.Errorf("discriminator %+v: read %+v, %v", o, got, ok)
		}
	}
	prefixed := map[string][]int64{}
	for k, s := range shapesOf(mustG(t, Options{Kind: "resnet_9blocks", NGF: 8})) {
		prefixed["module."+k] = s
	}
	if got, ok := ReadOptions(prefixed); !ok || got.Kind != "resnet_9blocks" || got.Norm != "batch" {
		t.Errorf("a DataParallel state dict: read %+v, %v", got, ok)
	}
	for _, o := range []Options{{Kind: "dcgan", NGF: 8}, {Kind: "global", NGF: 8, NDownsampleGlobal: 2, NBlocksGlobal: 2}} {
		if got, ok := ReadOptions(shapesOf(mustG(t, o))); ok {
			t.Errorf("%s generator read as %+v", o.Kind, got)
		}
	}
	if got, ok := ReadOptions(shapesOf(mustD(t, Options{Kind: "multiscale", NDF: 8, NumD: 2}))); ok {
		t.Errorf("multiscale discriminator read as %+v", got)
	}
	// a U-Net with its outermost upconv gone (a damaged file)
	sh := shapesOf(mustG(t, Options{Kind: "unet_256", NGF: 8}))
	delete(sh, "model.model.3.weight")
	if got, ok := ReadOptions(sh); ok {
		t.Errorf("a U-Net without its upconv read as %+v", got)
	}
	// a ResNet without its last convolution, or with a 3x3 one there; a
	// PixelGAN without its last convolution
	sh = shapesOf(mustG(t, Options{Kind: "resnet_6blocks", NGF: 8}))
	delete(sh, "model.23.weight")
	delete(sh, "model.23.bias")
	if got, ok := ReadOptions(sh); ok {
		t.Errorf("a ResNet without its last convolution read as %+v", got)
	}
	sh = shapesOf(mustG(t, Options{Kind: "resnet_6blocks", NGF: 8}))
	sh["model.23.weight"] = []int64{3, 8, 3, 3}
	if got, ok := ReadOptions(sh); ok {
		t.Errorf("a ResNet whose last convolution is 3x3 read as %+v", got)
	}
	sh = shapesOf(mustD(t, Options{Kind: "pixel", NDF: 8}))
	delete(sh, "net.5.weight")
	if got, ok := ReadOptions(sh); ok {
		t.Errorf("a PixelGAN without its last convolution read as %+v", got)
	}
}

// TestReadHDOptions: the settings of pix2pixHD's generators, encoder and
// multiscale discriminator as gogan builds them (pix2pixHD's keys and
// shapes, TestInterop*) are read back from their shapes; batch norm is
// told, instance norm (no weights) is not.
func TestReadHDOptions(t *testing.T) {
	var gs []Options
	for _, norm := range []string{"batch", "instance"} {
		gs = append(gs,
			Options{Kind: "global", NGF: 8, InputNC: 36, OutputNC: 3, NDownsampleGlobal: 3, NBlocksGlobal: 2, Norm: norm},
			Options{Kind: "global", NGF: 4, InputNC: 4, OutputNC: 1, NDownsampleGlobal: 1, NBlocksGlobal: 1, Norm: norm},
			Options{Kind: "local", NGF: 4, InputNC: 6, OutputNC: 3, NDownsampleGlobal: 2, NBlocksGlobal: 3, NLocalEnhancers: 1, NBlocksLocal: 2, Norm: norm},
			Options{Kind: "local", NGF: 2, InputNC: 3, OutputNC: 3, NDownsampleGlobal: 1, NBlocksGlobal: 1, NLocalEnhancers: 2, NBlocksLocal: 1, Norm: norm},
			Options{Kind: "encoder", NGF: 4, InputNC: 3, OutputNC: 3, NDownsampleGlobal: 2, Norm: norm})
	}
	for _, o := range gs {
		o.PadType = "reflect"
		got, ok := ReadHDOptions(shapesOf(mustG(t, o)))
		want := o
		want.PadType = ""
		if o.Norm != "batch" {
			want.Norm = ""
		}
		if !ok || fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("generator %+v: read %+v, %v", o, got, ok)
		}
	}
	for _, interm := range []bool{false, true} {
		for _, o := range []Options{{Kind: "multiscale", NDF: 8, InputNC: 39, NLayers: 3, NumD: 2, Norm: "batch"},
			{Kind: "multiscale", NDF: 4, InputNC: 4, NLayers: 1, NumD: 3, Norm: "instance"}} {
			o.GetIntermFeat = interm
			got, ok := ReadHDOptions(shapesOf(mustD(t, o)))
			want := o
			if o.Norm != "batch" {
				want.Norm = ""
			}
			if !ok || fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("discriminator %+v: read %+v, %v", o, got, ok)
			}
		}
	}
	// pytorch-CycleGAN-and-pix2pix's networks are not pix2pixHD's
	for _, o := range []Options{{Kind: "unet_256", NGF: 8}, {Kind: "resnet_6blocks", NGF: 8}} {
		if got, ok := ReadHDOptions(shapesOf(mustG(t, o))); ok {
			t.Errorf("%s read as %+v", o.Kind, got)
		}
	}
	if got, ok := ReadHDOptions(shapesOf(mustD(t, Options{Kind: "basic", NDF: 8}))); ok {
		t.Errorf("basic PatchGAN read as %+v", got)
	}
}
