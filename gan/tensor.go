package gan

import (
	torch "gogan/cgo"
	"gogan/data"
)

// ImagesTensor is same-sized 8-bit HWC images as an NCHW float32 tensor in
// [-1, 1], normalised as the loader's batches are.
func ImagesTensor(ims []*data.Image) *torch.Tensor { return imagesTensor(ims, data.NotLab) }

// imagesTensor is same-sized RGB or gray images as one NCHW float32 tensor:
// normalised pixels, or the part of their CIE Lab.
func imagesTensor(ims []*data.Image, part data.LabPart) *torch.Tensor {
	nis := make([]data.NamedImage, len(ims))
	for i, im := range ims {
		nis[i] = data.NamedImage{Image: im, Lab: part}
	}
	return batchTensor(nis)
}

// batchTensor is same-sized images as one NCHW float32 tensor, each as its
// batch tensor holds it (data.NamedImage.PutCHW).
func batchTensor(nis []data.NamedImage) *torch.Tensor {
	c, h, w := nis[0].Channels(), nis[0].Image.H, nis[0].Image.W
	out := make([]float32, len(nis)*c*h*w)
	for i, ni := range nis {
		ni.PutCHW(out[i*c*h*w : (i+1)*c*h*w])
	}
	return torch.FromFloat32(out, int64(len(nis)), int64(c), int64(h), int64(w))
}

// SamplePairs are the A and B images of the dataset's first n samples
// (epoch 0's augmentation) as persistent tensors on dev: the sample grid's
// fixed inputs of an image-to-image recipe.
func SamplePairs(ds *data.Dataset, seed uint64, n int, dev torch.Device) (a, b *torch.Tensor, err error) {
	smps, err := gridSamples(ds, seed, n)
	if err != nil {
		return nil, nil, err
	}
	var as, bs []*data.Image
	for _, smp := range smps {
		as, bs = append(as, smp.A), append(bs, smp.B)
	}
	err = torch.Try(func() {
		a = ImagesTensor(as).To(dev).Persist()
		b = ImagesTensor(bs).To(dev).Persist()
	})
	return a, b, err
}

// gridSamples are the first n samples of the dataset (with the samples'
// own draws of the run's seed: a fixed crop and flip each) whose images have the first one's sizes: with
// data.preprocess none or scale_width, images of other sizes train one
// to a batch, but one tensor holds the grid's. Further samples (up to 8n
// looked at) stand in for the ones left out.
func gridSamples(ds *data.Dataset, seed uint64, n int) ([]data.Sample, error) {
	var out []data.Sample
	for i := 0; i < min(ds.Len(), 8*n) && len(out) < n; i++ { // a bounded search: every sample is decoded
		smp, err := ds.Sample(i, seed, 0)
		if err != nil {
			return nil, err
		}
		if len(out) == 0 || sameSizes(out[0], smp) {
			out = append(out, smp)
		}
	}
	return out, nil
}

// sameSizes says whether two samples' images have the same sizes, name by
// name.
func sameSizes(a, b data.Sample) bool {
	ai, bi := a.Images(), b.Images()
	if len(ai) != len(bi) {
		return false
	}
	for k := range ai {
		x, y := ai[k].Image, bi[k].Image
		if ai[k].Name != bi[k].Name || x.W != y.W || x.H != y.H || x.C != y.C {
			return false
		}
	}
	return true
}

// SampleBatch is every named image of the dataset's first n samples
// (epoch 0's augmentation) as persistent tensors on dev, raw ones (label
// ids, instance boundaries) as their values and the rest normalised, as the
// loader's batches: the sample grid's fixed inputs.
func SampleBatch(ds *data.Dataset, seed uint64, n int, dev torch.Device) (Batch, error) {
	smps, err := gridSamples(ds, seed, n)
	if err != nil {
		return nil, err
	}
	var b Batch
	err = torch.Try(func() {
		b = BatchOf(smps)
		for name, t := range b {
			b[name] = t.To(dev).Persist()
		}
	})
	if err != nil {
		FreeBatch(b)
		return nil, err
	}
	return b, nil
}

// BatchOf is the samples' named images as CPU tensors in the caller's
// scope, as the loader builds batches: raw images (label ids, instance
// boundaries) as their values, colorization's CIE Lab channels, the others
// normalised to [-1, 1].
func BatchOf(smps []data.Sample) Batch {
	ims := map[string][]data.NamedImage{}
	var names []string
	for i, smp := range smps {
		for _, ni := range smp.Images() {
			if i == 0 {
				names = append(names, ni.Name)
			}
			ims[ni.Name] = append(ims[ni.Name], ni)
		}
	}
	b := Batch{}
	for _, name := range names {
		b[name] = batchTensor(ims[name])
	}
	return b
}
