package nets

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// ReadOptions reads from a state dict's key shapes the settings a
// pytorch-CycleGAN-and-pix2pix network was built with: define_G's netG,
// ngf, norm, input_nc, output_nc and, for a ResNet, use_dropout (a U-Net's
// dropout holds no weights: Dropout is false, unknown); define_D's netD,
// ndf, n_layers_D, norm and input_nc. ok is false when the keys are no such
// network's (another architecture, a damaged file): an import then says
// nothing it cannot be sure of.
func ReadOptions(shapes map[string][]int64) (o Options, ok bool) {
	shapes = withoutModulePrefix(shapes)
	switch {
	case is4D(shapes["model.1.weight"]) && shapes["model.1.weight"][2] == 7:
		o, ok = readResnet(shapes)
	case is4D(shapes["model.model.0.weight"]):
		o, ok = readUnet(shapes)
	case is4D(shapes["model.0.weight"]):
		o, ok = readNLayer(shapes)
	case is4D(shapes["net.0.weight"]):
		o, ok = readPixel(shapes)
	}
	if !ok || o.Norm == "" {
		return Options{}, false
	}
	return o, true
}

// withoutModulePrefix drops the "module." that a state dict saved from
// nn.DataParallel puts before every key (the reference's multi-GPU runs).
func withoutModulePrefix(shapes map[string][]int64) map[string][]int64 {
	out := make(map[string][]int64, len(shapes))
	for k, s := range shapes {
		k, ok := strings.CutPrefix(k, "module.")
		if !ok {
			return shapes
		}
		out[k] = s
	}
	return out
}

func is4D(s []int64) bool { return len(s) == 4 }

// convIndices are the indices n of the prefix+"n.weight" keys holding 4-d
// weights (a module's own convolutions, not its blocks'), in order.
func convIndices(shapes map[string][]int64, prefix string) []int {
	var idx []int
	for k, s := range shapes {
		rest, ok := strings.CutPrefix(k, prefix)
		if n, ok2 := strings.CutSuffix(rest, ".weight"); ok && ok2 && is4D(s) {
			if i, err := strconv.Atoi(n); err == nil {
				idx = append(idx, i)
			}
		}
	}
	slices.Sort(idx)
	return idx
}

// normOf tells batch (running statistics at normKey), instance (a bias on
// the convolution at convKey: use_bias) or none (neither) apart; "" for
// both, which the reference never builds (pix2pixHD's batch-norm nets).
func normOf(shapes map[string][]int64, normKey, convKey string) string {
	stats, bias := shapes[normKey+".running_mean"] != nil, shapes[convKey+".bias"] != nil
	switch {
	case stats && bias:
		return ""
	case stats:
		return "batch"
	case bias:
		return "instance"
	}
	return "none"
}

// readResnet: model.0 ReflectionPad2d, model.1 the 7x7 conv, model.2 its
// norm, two downsamplings at 4 and 7, blocks model.K.conv_block from 10 on
// (conv_block.1 and .5, or .6 after a Dropout), two upsamplings and the
// last 7x7 conv to output_nc: six convolutions of its own.
func readResnet(shapes map[string][]int64) (Options, bool) {
	first := shapes["model.1.weight"]
	idx := convIndices(shapes, "model.")
	blocks := 0
	for k := range shapes {
		if rest, ok := strings.CutPrefix(k, "model."); ok && strings.Contains(rest, ".conv_block.") && strings.HasSuffix(k, ".conv_block.1.weight") {
			blocks++
		}
	}
	if blocks == 0 || len(idx) != 6 || idx[0] != 1 {
		return Options{}, false
	}
	last := shapes[fmt.Sprintf("model.%d.weight", idx[5])]
	if last[2] != 7 || last[1] != first[0] {
		return Options{}, false
	}
	o := Options{Kind: fmt.Sprintf("resnet_%dblocks", blocks), NGF: int(first[0]), InputNC: int(first[1]), OutputNC: int(last[0]),
		Norm: normOf(shapes, "model.2", "model.1")}
	// the first block's second conv: conv_block.5, or .6 after Dropout(0.5)
	b := fmt.Sprintf("model.%d.conv_block.", idx[2]+3)
	switch {
	case is4D(shapes[b+"6.weight"]):
		o.Dropout = true
	case !is4D(shapes[b+"5.weight"]):
		return Options{}, false
	}
	return o, true
}

// readUnet: model.model.0 the outermost downconv (ngf, input_nc), 3 its
// upconv (ngf*2 -> output_nc); a U-Net of n downsamplings holds n
// downconvs and n upconvs.
func readUnet(shapes map[string][]int64) (Options, bool) {
	first, up := shapes["model.model.0.weight"], shapes["model.model.3.weight"]
	if !is4D(up) || up[0] != 2*first[0] {
		return Options{}, false
	}
	convs := 0
	for k, s := range shapes {
		if strings.HasSuffix(k, ".weight") && is4D(s) {
			convs++
		}
	}
	if convs%2 != 0 || convs < 10 {
		return Options{}, false
	}
	return Options{Kind: fmt.Sprintf("unet_%d", 1<<(convs/2)), NGF: int(first[0]), InputNC: int(first[1]), OutputNC: int(up[1]),
		Norm: normOf(shapes, "model.model.1.model.2", "model.model.1.model.1")}, true
}

// readNLayer: model.0 the first conv (ndf, input_nc), then n_layers convs
// each with a norm after it, and the last conv to one channel.
func readNLayer(shapes map[string][]int64) (Options, bool) {
	first := shapes["model.0.weight"]
	idx := convIndices(shapes, "model.")
	if len(idx) < 3 || idx[0] != 0 || shapes[fmt.Sprintf("model.%d.weight", idx[len(idx)-1])][0] != 1 {
		return Options{}, false
	}
	o := Options{Kind: "n_layers", NLayers: len(idx) - 2, NDF: int(first[0]), InputNC: int(first[1]), Norm: normOf(shapes, "model.3", "model.2")}
	if o.NLayers == 3 {
		o.Kind = "basic"
	}
	return o, true
}

// readPixel: net.0 (ndf, input_nc) 1x1, net.2 its 2*ndf conv, net.3 the norm.
func readPixel(shapes map[string][]int64) (Options, bool) {
	first := shapes["net.0.weight"]
	if first[2] != 1 || len(convIndices(shapes, "net.")) != 3 {
		return Options{}, false
	}
	return Options{Kind: "pixel", NDF: int(first[0]), InputNC: int(first[1]), Norm: normOf(shapes, "net.3", "net.2")}, true
}

// ReadHDOptions reads from a state dict's key shapes the settings a
// pix2pixHD network was built with: GlobalGenerator's and LocalEnhancer's
// ngf, n_downsample_global, n_blocks_global, n_local_enhancers,
// n_blocks_local and channels; the feature Encoder's (Kind "encoder": its
// nef as NGF, n_downsample_E as NDownsampleGlobal, feat_num as OutputNC);
// MultiscaleDiscriminator's num_D, n_layers_D, ndf, input channels and
// getIntermFeat. Norm is "batch" where the file holds running statistics,
// else "" (instance and none hold no weights). ok is false for other keys.
func ReadHDOptions(shapes map[string][]int64) (o Options, ok bool) {
	shapes = withoutModulePrefix(shapes)
	switch {
	case is4D(shapes["model1_1.1.weight"]):
		o, ok = readLocal(shapes)
	case is4D(shapes["model.1.weight"]):
		o, ok = readGlobal(shapes)
	case is4D(shapes["scale0_layer0.0.weight"]) || is4D(shapes["layer0.0.weight"]):
		o, ok = readMultiscale(shapes)
	}
	return o, ok
}

// blocksIn counts the ResnetBlocks of a Sequential at prefix (its keys
// prefix+"K.conv_block.1.weight").
func blocksIn(shapes map[string][]int64, prefix string) int {
	n := 0
	for k := range shapes {
		if rest, ok := strings.CutPrefix(k, prefix); ok && strings.HasSuffix(rest, ".conv_block.1.weight") && !strings.Contains(strings.TrimSuffix(rest, ".conv_block.1.weight"), ".") {
			n++
		}
	}
	return n
}

// hdNorm is "batch" where the norm after prefix's first conv keeps running
// statistics, else "" (pix2pixHD's convolutions all have biases).
func hdNorm(shapes map[string][]int64, prefix string) string {
	if shapes[prefix+"2.running_mean"] != nil {
		return "batch"
	}
	return ""
}

// readGlobal: model.1 the 7x7 conv (ngf, input), n_downsample stride-2
// convs, the blocks, as many transposed convs and the 7x7 conv to the
// output: 2 + 2 n_downsample convolutions of its own. Without blocks it is
// the feature Encoder.
func readGlobal(shapes map[string][]int64) (Options, bool) {
	first := shapes["model.1.weight"]
	idx := convIndices(shapes, "model.")
	if first[2] != 7 || len(idx) < 4 || len(idx)%2 != 0 || idx[0] != 1 || shapes["model.1.bias"] == nil {
		return Options{}, false
	}
	last := shapes[fmt.Sprintf("model.%d.weight", idx[len(idx)-1])]
	if last[2] != 7 || last[1] != first[0] {
		return Options{}, false
	}
	o := Options{Kind: "global", NGF: int(first[0]), InputNC: int(first[1]), OutputNC: int(last[0]), NDownsampleGlobal: (len(idx) - 2) / 2,
		NBlocksGlobal: blocksIn(shapes, "model."), Norm: hdNorm(shapes, "model.")}
	if o.NBlocksGlobal == 0 {
		o.Kind = "encoder"
	}
	return o, true
}

// readLocal: "model" the global generator of width ngf*2^n without its
// last three layers (1 + 2 n_downsample_global convolutions), and per
// enhancer modelN_1 (a 7x7 conv at ngf*2^(n-N), a stride-2 one) and modelN_2
// (blocks, a transposed conv; the last one the 7x7 conv to the output).
func readLocal(shapes map[string][]int64) (Options, bool) {
	n := 0
	for is4D(shapes[fmt.Sprintf("model%d_1.1.weight", n+1)]) {
		n++
	}
	front := shapes[fmt.Sprintf("model%d_1.1.weight", n)]
	idx, globalFirst := convIndices(shapes, "model."), shapes["model.1.weight"]
	end := convIndices(shapes, fmt.Sprintf("model%d_2.", n))
	if len(idx) < 3 || len(idx)%2 != 1 || !is4D(globalFirst) || globalFirst[0] != front[0]<<n || len(end) != 2 {
		return Options{}, false
	}
	last := shapes[fmt.Sprintf("model%d_2.%d.weight", n, end[1])]
	return Options{Kind: "local", NGF: int(front[0]), InputNC: int(front[1]), OutputNC: int(last[0]), NDownsampleGlobal: (len(idx) - 1) / 2,
		NBlocksGlobal: blocksIn(shapes, "model."), NLocalEnhancers: n, NBlocksLocal: blocksIn(shapes, "model1_2."), Norm: hdNorm(shapes, "model.")}, true
}

// readMultiscale: num_D discriminators layer{i} (or, with getIntermFeat,
// their blocks scale{i}_layer{j}), each a first conv (ndf, input), n_layers
// conv blocks and the last conv to one channel.
func readMultiscale(shapes map[string][]int64) (Options, bool) {
	interm := is4D(shapes["scale0_layer0.0.weight"])
	o := Options{Kind: "multiscale", GetIntermFeat: interm}
	for {
		p := fmt.Sprintf("layer%d.", o.NumD)
		if interm {
			p = fmt.Sprintf("scale%d_layer0.", o.NumD)
		}
		if !is4D(shapes[p+"0.weight"]) {
			break
		}
		o.NumD++
	}
	var first []int64
	convs := 0
	if interm {
		first = shapes["scale0_layer0.0.weight"]
		for is4D(shapes[fmt.Sprintf("scale0_layer%d.0.weight", convs)]) {
			convs++
		}
		if shapes["scale0_layer1.1.running_mean"] != nil {
			o.Norm = "batch"
		}
	} else {
		first = shapes["layer0.0.weight"]
		convs = len(convIndices(shapes, "layer0."))
		if shapes["layer0.3.running_mean"] != nil {
			o.Norm = "batch"
		}
	}
	if convs < 3 {
		return Options{}, false
	}
	o.NLayers, o.NDF, o.InputNC = convs-2, int(first[0]), int(first[1])
	return o, true
}
