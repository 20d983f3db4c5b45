// Package losses holds the GAN losses the recipes share: the adversarial
// losses of pytorch-CycleGAN-and-pix2pix's GANLoss, WGAN-GP's penalty and
// pix2pixHD's feature matching and VGG perceptual losses.
package losses

import (
	"fmt"

	torch "gogan/cgo"
	"gogan/nets"
)

// GAN is pytorch-CycleGAN-and-pix2pix's GANLoss: the adversarial loss of
// a discriminator's prediction against "real" or "fake".
type GAN struct {
	Mode string // vanilla | lsgan | wgangp | hinge
	out  Output
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
	// SigmoidLogits are logits of a D the reference ends in nn.Sigmoid
	// (pix2pixHD's use_sigmoid): the vanilla loss takes their Sigmoid, then
	// BCE, as the reference's layer and BCELoss, in float32 under autocast.
	SigmoidLogits
)

// NewGAN is the loss of train.gan_mode mode on D outputs of the given kind.
func NewGAN(mode string, out Output) (GAN, error) {
	switch mode {
	case "vanilla", "lsgan", "wgangp", "hinge":
		return GAN{Mode: mode, out: out}, nil
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
	switch l.out {
	case Logits:
		return torch.BCEWithLogitsLoss(pred, pred.FullLike(label), torch.ReduceMean)
	case SigmoidLogits:
		p := pred.Sigmoid()
		defer p.Free()
		return torch.BCELoss(p, p.FullLike(label), torch.ReduceMean)
	}
	return torch.BCELoss(pred, pred.FullLike(label), torch.ReduceMean)
}

// GradientPenalty is WGAN-GP's penalty on D's gradient at random points
// between real and fake samples ("mixed"), times lambda, as the reference's
// cal_gradient_penalty: the gradient of the sum of D's outputs
// (grad_outputs of ones), over every scale of a multiscale D. Over ranks
// data-parallel processes (rank this one's; 1 alone), each holding an equal
// share of the global batch, the points are drawn for the global batch and
// this rank's rows kept: the ranks mix as one process would, and their
// generators move on as its does.
func GradientPenalty(d func(*torch.Tensor) []*torch.Tensor, real, fake *torch.Tensor, lambda float64, rank, ranks int) *torch.Tensor {
	shape := real.Shape()
	n := shape[0]
	alphaShape := []int64{n * int64(max(1, ranks))}
	for range shape[1:] {
		alphaShape = append(alphaShape, 1)
	}
	alpha := torch.Rand(real.DType(), real.Device(), alphaShape...)
	if ranks > 1 {
		alpha = alpha.Narrow(0, int64(rank)*n, n)
	}
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

// FeatureMatching is pix2pixHD's GAN feature matching loss: the L1
// distance between the discriminators' intermediate features on the fake
// and on the real (detached) input, over every scale and every block but
// the last (the prediction), each weighted 4/(n_layers_D+1) * 1/num_D,
// times lambda. fake[i] and real[i] are scale i's block outputs.
func FeatureMatching(fake, real [][]*torch.Tensor, nLayersD int, lambda float64) *torch.Tensor {
	featW := 4.0 / float64(nLayersD+1)
	dW := 1.0 / float64(len(fake))
	var total *torch.Tensor
	for i := range fake {
		for j := 0; j < len(fake[i])-1; j++ {
			// D_weights * feat_weights * L1 * lambda_feat, multiplied in the reference's order.
			l := torch.L1Loss(fake[i][j], real[i][j].Detach(), torch.ReduceMean).MulScalar(dW * featW).MulScalar(lambda)
			if total == nil {
				total = l
			} else {
				total = total.Add(l)
			}
		}
	}
	if total == nil {
		return fake[0][0].Sum().MulScalar(0)
	}
	return total
}

// vggWeights are pix2pixHD's VGGLoss weights of relu1_1 ... relu5_1.
var vggWeights = []float64{1.0 / 32, 1.0 / 16, 1.0 / 8, 1.0 / 4, 1.0}

// Perceptual is pix2pixHD's VGGLoss: sum over VGG19's relu1_1 ... relu5_1
// of weight * L1(vgg(x), vgg(y) detached). run wraps the forward passes
// (mixed precision); the losses are taken in float32.
func Perceptual(vgg *nets.VGG19, x, y *torch.Tensor, run func(func())) *torch.Tensor {
	var fx, fy []*torch.Tensor
	run(func() {
		fx = vgg.Features(x)
		torch.NoGrad(func() { fy = vgg.Features(y) })
	})
	var total *torch.Tensor
	for i := range fx {
		l := torch.L1Loss(fx[i].ToDType(torch.Float32), fy[i].ToDType(torch.Float32), torch.ReduceMean).MulScalar(vggWeights[i])
		if total == nil {
			total = l
		} else {
			total = total.Add(l)
		}
	}
	return total
}
