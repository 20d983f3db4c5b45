package gan

import (
	torch "gogan/cgo"
	"gogan/data"
)

// ImagesTensor is same-sized 8-bit HWC images as an NCHW float32 tensor in
// [-1, 1], normalised as the loader's batches are.
func ImagesTensor(ims []*data.Image) *torch.Tensor { return imagesTensor(ims, data.Normalize) }

// rawImagesTensor is ImagesTensor without the normalisation: each value as
// it is (class ids, 0/1 boundaries).
func rawImagesTensor(ims []*data.Image) *torch.Tensor {
	return imagesTensor(ims, func(v uint8) float32 { return float32(v) })
}

func imagesTensor(ims []*data.Image, value func(uint8) float32) *torch.Tensor {
	im0 := ims[0]
	plane := im0.H * im0.W
	out := make([]float32, len(ims)*im0.C*plane)
	for i, im := range ims {
		for p := 0; p < plane; p++ {
			for c := 0; c < im.C; c++ {
				out[(i*im.C+c)*plane+p] = value(im.Pix[p*im.C+c])
			}
		}
	}
	return torch.FromFloat32(out, int64(len(ims)), int64(im0.C), int64(im0.H), int64(im0.W))
}

// SamplePairs are the A and B images of the dataset's first n samples
// (epoch 0's augmentation) as persistent tensors on dev: the sample grid's
// fixed inputs of an image-to-image recipe.
func SamplePairs(ds *data.Dataset, seed uint64, n int, dev torch.Device) (a, b *torch.Tensor, err error) {
	n = min(n, ds.Len())
	var as, bs []*data.Image
	for i := 0; i < n; i++ {
		smp, err := ds.Sample(i, seed, 0)
		if err != nil {
			return nil, nil, err
		}
		as, bs = append(as, smp.A), append(bs, smp.B)
	}
	err = torch.Try(func() {
		a = ImagesTensor(as).To(dev).Persist()
		b = ImagesTensor(bs).To(dev).Persist()
	})
	return a, b, err
}

// SampleBatch is every named image of the dataset's first n samples
// (epoch 0's augmentation) as persistent tensors on dev, raw ones (label
// ids, instance boundaries) as their values and the rest normalised, as the
// loader's batches: the sample grid's fixed inputs.
func SampleBatch(ds *data.Dataset, seed uint64, n int, dev torch.Device) (Batch, error) {
	n = min(n, ds.Len())
	var smps []data.Sample
	for i := 0; i < n; i++ {
		smp, err := ds.Sample(i, seed, 0)
		if err != nil {
			return nil, err
		}
		smps = append(smps, smp)
	}
	var b Batch
	err := torch.Try(func() {
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
// boundaries) as their values, the others normalised to [-1, 1].
func BatchOf(smps []data.Sample) Batch {
	ims := map[string][]*data.Image{}
	raw := map[string]bool{}
	var names []string
	for i, smp := range smps {
		for _, ni := range smp.Images() {
			if i == 0 {
				names = append(names, ni.Name)
			}
			ims[ni.Name], raw[ni.Name] = append(ims[ni.Name], ni.Image), ni.Raw
		}
	}
	b := Batch{}
	for _, name := range names {
		if raw[name] {
			b[name] = rawImagesTensor(ims[name])
		} else {
			b[name] = ImagesTensor(ims[name])
		}
	}
	return b
}
