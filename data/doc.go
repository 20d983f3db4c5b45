// Package data loads training data for gogan in Go: it never calls libtorch
// (its only C is libjpeg-turbo and libwebp, the decoders PIL uses). It yields host batches, N x C x H x W float32 normalised to
// [-1, 1] (or raw uint8), that the trainer copies to the device.
//
// Datasets (Config.Dataset, data.dataset):
//
//   - fashion-mnist, mnist: IDX files, gzipped or raw (Debian's
//     dataset-fashion-mnist by default), 60000 train / 10000 test images.
//   - cifar10: CIFAR-10's python batches as torchvision keeps them
//     (cifar-10-batches-py/ or cifar-10-python.tar.gz), 50000 / 10000
//     colour images.
//   - lsun: LSUN's scene categories (data.classes), each split an LMDB
//     database {category}_{phase}_lmdb of WebP images (lmdb package), in
//     key order, the categories one after another, as torchvision's LSUN.
//   - folder: class folders under data.root, listed and labelled as
//     torchvision's ImageFolder does (the DCGAN example's --dataset
//     folder); a root of images (with or without folders beside them):
//     every JPEG, PNG, GIF, BMP, WebP and TIFF under it, sorted.
//   - aligned: pix2pix pairs, root/{train,val,test}/*.jpg with A|B side by
//     side (split at int(w/2), as the reference), or folders A/ and B/ with matching file names; or
//     pix2pixHD's root/{phase}_A and root/{phase}_B, or with data.label_nc
//     root/{phase}_label (maps of class ids, batched as the ids: a Raw
//     tensor) and root/{phase}_img, paired by sorted position, and with
//     data.instance root/{phase}_inst, whose instance boundaries are the
//     batch tensor "inst".
//   - unaligned: CycleGAN's root/trainA and root/trainB (or A/, B/), or the
//     left and right halves of A|B images (the pairing dropped), or the
//     images of chosen classes of fashion-mnist, mnist or cifar10 (data.classes_A,
//     data.classes_B): A[i mod |A|] paired with a random B (B[i mod |B|]
//     with data.serial_batches), each with its own crop and flip.
//   - edges, gray2color: pairs derived from an image dataset (Canny or Sobel
//     edges -> image, gray -> colour), for a pix2pix demo without a download.
//
// Transforms follow pytorch-CycleGAN-and-pix2pix (resize_and_crop, crop,
// scale_width, scale_width_and_crop, none) and pytorch/examples dcgan
// (resize_center_crop). Resampling reproduces PIL's bicubic and bilinear
// filters bit for bit, and JPEGs and WebPs are decoded by libjpeg-turbo and
// libwebp with PIL's settings, so images come out as torchvision's.
//
// Typical use by the trainer:
//
//	cfg := data.DefaultConfig(data.Aligned) // then overlay the data.* keys
//	cfg.Root = "../shared/data/facades"
//	d, err := data.Open(ctx, cfg, nil)      // validates every file, reports all bad ones
//	opts := d.Config().LoaderOptions(seed)
//	opts.Allocator = pinned                  // optional: pinned host memory
//	l, err := data.NewLoader(d, opts)
//	defer l.Close()
//	l.Restore(state)                         // on resume
//	for {
//		b, err := l.Next(ctx)
//		if err == io.EOF { break }       // end of epoch; the next call starts the next
//		... copy b.Tensors to the device, then b.Release()
//		state = l.State()                // the position to checkpoint
//	}
//
// The batches depend only on the seed and the position: the same seed gives
// the same batches, crops and flips whatever the number of workers, and a
// loader restored to a saved LoaderState continues as if never stopped. The
// trainer's loader (TorchDraws) takes each epoch's order and draws from what
// torch's DataLoader draws as the epoch starts (EpochStart): the crops,
// flips and random B picks are then the references' DataLoader workers'
// (ReferenceDraws, from Python's random and torch's generator as package
// mtrand draws them), still whatever the number of gogan's workers.
package data
