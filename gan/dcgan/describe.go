package dcgan

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"gogan/config"
	"gogan/data"
	"gogan/gan"
)

// describe reads the settings a DCGAN state dict was saved with from its
// shapes (main.py's --nz, --ngf, --ndf, nc and, by its layer count, the
// image size) and names the keys to set, so that a main.py user's
// netG_epoch_N.pth of other settings, or a netD given as --pth, is
// answered with what to do rather than a list of shapes alone.
func describe(c *config.Config, role string, shapes map[string][]int64) string {
	// the 4-d weights of main.N, in layer order
	var idx []int
	for k, s := range shapes {
		n, ok := strings.CutPrefix(k, "main.")
		if n, ok2 := strings.CutSuffix(n, ".weight"); ok && ok2 && len(s) == 4 {
			if i, err := strconv.Atoi(n); err == nil {
				idx = append(idx, i)
			}
		}
	}
	if len(idx) < 2 || len(idx) > 12 { // a DCGAN of 8x8 to 8192x8192
		return ""
	}
	sort.Ints(idx)
	// main.py's layers hold their 4-d weights at main.0, 3, 6, ... (G:
	// ConvTranspose2d, BatchNorm2d, ReLU) or main.0, 2, 5, 8, ... (D: its
	// first Conv2d has a LeakyReLU alone after it). A state dict whose
	// convolutions lie elsewhere (one missing, or not 4-d: a damaged or
	// edited file) says nothing sure of its settings: the shapes counted
	// from the others would name a wrong nz or size.
	if !slices.Equal(idx, layerIndices(len(idx), false)) && !slices.Equal(idx, layerIndices(len(idx), true)) {
		return ""
	}
	first, last := shapes[fmt.Sprintf("main.%d.weight", idx[0])], shapes[fmt.Sprintf("main.%d.weight", idx[len(idx)-1])]
	size := 4 << (len(idx) - 1)
	// G's first ConvTranspose2d is followed by a BatchNorm (main.1); D's
	// first Conv2d by a LeakyReLU, its last Conv2d has one output.
	_, bn1 := shapes["main.1.weight"]
	isG := bn1 && first[2] == 4 && first[3] == 4
	isD := !bn1 && last[0] == 1
	d := gan.NewNetDescription(c)
	switch {
	case isG && role == "D":
		return "it holds a DCGAN generator (main.py's netG_epoch_N.pth): give it with --pth, the discriminator's with --pth-d"
	case isD && role == "G":
		return "it holds a DCGAN discriminator (main.py's netD_epoch_N.pth): give it with --pth-d, the generator's with --pth"
	case isG && role == "G":
		nz, ngf, nc := int(first[0]), int(last[0]), int(last[1])
		d.Holds("a DCGAN generator of nz %d, ngf %d, %s, %dx%d", nz, ngf, data.Count(nc, "channel"), size, size)
		d.Set("model.nz", nz)
		d.Set("model.ngf", ngf)
		d.Set("data.channels", nc)
	case isD && role == "D":
		ndf, nc := int(first[0]), int(first[1])
		d.Holds("a DCGAN discriminator of ndf %d, %s, %dx%d", ndf, data.Count(nc, "channel"), size, size)
		d.Set("model.ndf", ndf)
		d.Set("data.channels", nc)
	default:
		return ""
	}
	d.Set("data.image_size", size)
	return d.String()
}

// layerIndices are the indices in main of the n convolutions of main.py's
// Discriminator (d) or Generator.
func layerIndices(n int, d bool) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = 3 * i
		if d && i > 0 {
			out[i] = 3*i - 1
		}
	}
	return out
}
