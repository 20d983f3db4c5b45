// Package losses holds the GAN losses the recipes share: the adversarial
// losses of pytorch-CycleGAN-and-pix2pix's GANLoss and WGAN-GP's penalty.
package losses

import (
	"fmt"

	torch "gogan/cgo"
)

// GAN is pytorch-CycleGAN-and-pix2pix's GANLoss: the adversarial loss of
// a discriminator's prediction against "real" or "fake".
type GAN struct {
	Mode   string // vanilla | lsgan | wgangp | hinge
	logits bool
}

// Target is the label a loss pulls a prediction towards.
type Target bool

const (
	Real Target = true
	Fake Target = false
)

// Output is what a discriminator's last layer gives the vanilla loss.
type Output int

const (
	Logits        Output = iota // PatchGAN: BCE with logits
	Probabilities               // DCGAN's Sigmoid: BCE
)

// NewGAN is the loss of train.gan_mode mode on D outputs of the given kind.
func NewGAN(mode string, out Output) (GAN, error) {
	switch mode {
	case "vanilla", "lsgan", "wgangp", "hinge":
		return GAN{Mode: mode, logits: out == Logits}, nil
	}
	return GAN{}, fmt.Errorf("train.gan_mode %q: expected vanilla, lsgan, wgangp or hinge", mode)
}

// ForD is the loss that trains the discriminator to call pred real (or fake).
func (l GAN) ForD(pred *torch.Tensor, target Target) *torch.Tensor {
	real := target == Real
	if l.Mode == "hinge" {
		if real {
			return pred.RSub(1).Relu().Mean() // relu(1 - D(x))
		}
		return pred.AddScalar(1).Relu().Mean() // relu(1 + D(G(z)))
	}
	return l.ForG(pred, target)
}

// ForG is the loss on pred for the target label (the generator wants real).
func (l GAN) ForG(pred *torch.Tensor, target Target) *torch.Tensor {
	real := target == Real
	label := 0.0
	if real {
		label = 1
	}
	switch l.Mode {
	case "lsgan":
		return torch.MSELoss(pred, pred.FullLike(label), torch.ReduceMean)
	case "wgangp", "hinge":
		if real {
			return pred.Mean().Neg()
		}
		return pred.Mean()
	}
	if l.logits {
		return torch.BCEWithLogitsLoss(pred, pred.FullLike(label), torch.ReduceMean)
	}
	return torch.BCELoss(pred, pred.FullLike(label), torch.ReduceMean)
}

// GradientPenalty is WGAN-GP's penalty on D's gradient at random points
// between real and fake samples ("mixed"), times lambda, as the reference's
// cal_gradient_penalty: the gradient of the sum of D's outputs
// (grad_outputs of ones), over every scale of a multiscale D.
func GradientPenalty(d func(*torch.Tensor) []*torch.Tensor, real, fake *torch.Tensor, lambda float64) *torch.Tensor {
	shape := real.Shape()
	n := shape[0]
	alphaShape := []int64{n}
	for range shape[1:] {
		alphaShape = append(alphaShape, 1)
	}
	alpha := torch.Rand(real.DType(), real.Device(), alphaShape...)
	interp := real.Mul(alpha).Add(fake.Detach().Mul(alpha.RSub(1))).Detach().SetRequiresGrad(true)
	outs := d(interp)
	ones := make([]*torch.Tensor, len(outs))
	for i, o := range outs {
		ones[i] = o.OnesLike()
	}
	g := torch.Grads(outs, []*torch.Tensor{interp},
		torch.GradOpts{GradOutputs: ones, CreateGraph: true, RetainGraph: true})[0]
	norm := g.Reshape(n, -1).AddScalar(1e-16).Norm2Dims([]int64{1}, false) // (gradients + 1e-16).norm(2, dim=1)
	return norm.SubScalar(1).Square().Mean().MulScalar(lambda)
}
