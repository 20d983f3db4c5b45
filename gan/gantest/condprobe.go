// Package gantest registers a recipe that only tests train: condprobe, the
// shape of a class-conditional GAN as a recipe package would declare one,
// for the commands that draw from such a generator (gogan sample --class,
// gogan eval fid, gogan serve's class=).
package gantest

import (
	"sync"

	torch "gogan/cgo"
	"gogan/config"
	"gogan/gan"
	"gogan/gan/dcgan"
)

// Classes is the number of classes condprobe's generator takes.
const Classes = 10

// condprobe trains as DCGAN does (its step ignores the labels), with
// Fashion-MNIST's 10 class labels among its inputs; its Generation gives
// the generator noise in the first model.nz-10 input channels and a one-hot
// class in the last 10, so that each class draws other images from the same
// noise.
func init() {
	d, err := gan.Lookup("dcgan")
	if err != nil {
		panic(err)
	}
	gan.Register(gan.Definition{
		Schema: config.RecipeSchema{Name: "condprobe", Doc: "a test recipe (gan/gantest).",
			Reads: []string{"dcgan"}, Defaults: map[string]any{"data.batch_size": 8}, Validate: dcgan.Validate},
		Data: d.Data, Nets: d.Nets, New: d.New,
		Inputs: func(c *config.Config) []gan.Input {
			return append(d.Inputs(c), gan.Input{Name: gan.LabelInput, Classes: Classes})
		},
		Generate: func(c *config.Config) gan.Generation {
			return gan.Generation{Role: "G", Noise: []int64{int64(c.Int("model.nz") - Classes), 1, 1}, Condition: oneHot}
		},
	})
}

var (
	mu   sync.Mutex
	seen []float32
)

// Seen is the classes condprobe's Condition was given, in order, since the
// last call.
func Seen() []float32 {
	mu.Lock()
	defer mu.Unlock()
	s := seen
	seen = nil
	return s
}

// oneHot is noise [N, nz-10, 1, 1] with classes' one-hot vectors after it.
func oneHot(noise, classes *torch.Tensor) *torch.Tensor {
	cs := classes.Float32s()
	mu.Lock()
	seen = append(seen, cs...)
	mu.Unlock()
	h := make([]float32, len(cs)*Classes)
	for i, c := range cs {
		h[i*Classes+int(c)] = 1
	}
	return torch.Cat([]*torch.Tensor{noise, torch.FromFloat32(h, int64(len(cs)), Classes, 1, 1).To(noise.Device())}, 1)
}
