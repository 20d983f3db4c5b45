package dcgan

import (
	"cmp"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"gogan/config"
	"gogan/data"
	"gogan/gan"
)

// export is pytorch/examples dcgan's layout: main.py's checkpoints
// netG_epoch_<epoch>.pth and netD_epoch_<epoch>.pth, which its --netG and
// --netD load to continue training.
func export(c *config.Config, o gan.ExportOptions) gan.Export {
	label := o.Label
	if label == "" {
		label = strconv.Itoa(o.Epoch)
	}
	e := gan.Export{Reference: "pytorch/examples dcgan",
		Files: []gan.ExportFile{{Role: "G", Name: "netG_epoch_" + label + ".pth"}, {Role: "D", Name: "netD_epoch_" + label + ".pth"}}}
	d := c.Data
	// main.py builds 1-channel networks for --dataset mnist alone, and
	// reads --dataset folder as torchvision's ImageFolder (so does gogan).
	dataset, root := d.Dataset, gan.DataRoot(c)
	switch {
	case dataset == "mnist" && data.TorchvisionMNISTRoot(root):
		// a torchvision root already: main.py reads data.root's MNIST/raw/
	case dataset == "mnist" || dataset == "fashion-mnist":
		// torchvision's MNIST checks for the unpacked names; finding .gz
		// files alone, main.py's download=True fetches MNIST's over them.
		e.Notes = append(e.Notes, fmt.Sprintf("main.py's --dataset mnist is torchvision's MNIST, which reads the four IDX files (train and t10k, images and labels) unpacked in DATAROOT/MNIST/raw/: copy data.root's (%s) there and gunzip them (Fashion-MNIST's are named as MNIST's); finding .gz files alone, main.py's download=True downloads MNIST's digits over them", root))
		dataset, root = "mnist", "DATAROOT"
	case d.Channels == 1:
		e.Notes = append(e.Notes, fmt.Sprintf("data.channels=1: main.py builds 1-channel networks only for --dataset mnist, not for %s", dataset))
	}
	if dataset == "cifar10" && data.CIFAR10InRoot(root, d.Phase) {
		// torchvision's CIFAR10 reads DATAROOT/cifar-10-batches-py/ and
		// downloads CIFAR-10 into DATAROOT where that is missing
		if filepath.Base(root) == "cifar-10-batches-py" {
			root = filepath.Dir(root)
		} else {
			e.Notes = append(e.Notes, fmt.Sprintf("main.py's --dataset cifar10 is torchvision's CIFAR10, which reads the batches from DATAROOT/cifar-10-batches-py/ (and downloads CIFAR-10 there where it is missing), not from data.root (%s) itself: give it a DATAROOT holding them under that name (mkdir DATAROOT && ln -s %s DATAROOT/cifar-10-batches-py)", root, gan.Command(root)))
			root = "DATAROOT"
		}
	}
	e.Notes = append(e.Notes, loaderNotes(c)...)
	if dataset == "folder" {
		// main.py's ImageFolder takes --dataroot's subfolders as classes
		// and leaves images directly in it out; gogan reads every image
		// of such a root (data.FolderLayout).
		if classes, loose, err := data.FolderLayout(root); err == nil && len(classes) == 0 && len(loose) > 0 {
			e.Notes = append(e.Notes, fmt.Sprintf("main.py's --dataset folder is torchvision's ImageFolder, which takes the subfolders of --dataroot as classes and refuses a folder of images without them (\"Couldn't find any class folder\"), as data.root (%s) is: give it a DATAROOT holding that folder as its one class (mkdir DATAROOT && ln -s %s DATAROOT/)", root, gan.Command(root)))
			root = "DATAROOT"
		} else if err == nil && len(classes) > 0 && len(loose) > 0 {
			e.Notes = append(e.Notes, fmt.Sprintf("main.py's --dataset folder is torchvision's ImageFolder, which leaves out the %d images directly in data.root (%s, beside its class folders) that this run trained on: move them into a class folder for main.py to read them", len(loose), root))
		}
	}
	classes := ""
	if dataset == "lsun" {
		classes, root = lsunData(&e, c, root)
	}
	if d.ImageSize != 64 {
		e.Notes = append(e.Notes, fmt.Sprintf("data.image_size=%d: main.py's networks are 64x64 (--imageSize changes only its data), so these files hold gogan's networks for %dx%d, which do not load there", d.ImageSize, d.ImageSize, d.ImageSize))
	}
	m := c.Model
	cmd := []string{"python", "main.py", "--dataset", dataset, "--dataroot", root, "--imageSize", strconv.Itoa(d.ImageSize),
		"--nz", strconv.Itoa(c.Int("model.nz")), "--ngf", strconv.Itoa(m.NGF), "--ndf", strconv.Itoa(m.NDF),
		"--batchSize", strconv.Itoa(d.BatchSize), "--niter", strconv.Itoa(c.Train.Epochs),
		"--lr", gan.FloatArg(c.Train.LR), "--beta1", gan.FloatArg(c.Train.Beta1),
		"--netG", filepath.Join(o.Dir, e.Files[0].Name), "--netD", filepath.Join(o.Dir, e.Files[1].Name),
		"--manualSeed", strconv.FormatInt(c.Seed, 10)} // else main.py draws one
	if o.CUDA {
		// else main.py trains on the CPU; its --cuda (and --mps) gave way
		// to --accel in May 2025, and today's main.py refuses --cuda
		cmd = append(cmd, "--accel")
	}
	if dataset == "lsun" {
		cmd = append(cmd, "--classes", classes)
	}
	e.Commands = []string{gan.Command(cmd...)}
	e.Notes = append(e.Notes, gan.Beta2Note(c)...)
	if o.Completed > 0 {
		e.Notes = append(e.Notes, fmt.Sprintf("main.py counts its --niter epochs from 0 again: these weights have trained %d", o.Completed))
	}
	if c.Train.GANMode != "vanilla" {
		e.Notes = append(e.Notes, fmt.Sprintf("train.gan_mode=%s: main.py trains with nn.BCELoss (vanilla)", c.Train.GANMode))
	}
	return e
}

// lsunData is main.py's --classes and --dataroot for the LSUN databases the
// run read. main.py splits --classes on commas alone (a space would be part
// of torchvision's category name) and reads each category's _train
// database, so a run of data.phase val or test gets a note and a DATAROOT
// where its databases stand under those names.
func lsunData(e *gan.Export, c *config.Config, root string) (classes, dataroot string) {
	cats, dbs := data.LSUNDatabases(cmp.Or(c.Data.Classes, data.DefaultLSUNClasses), c.Data.Phase)
	if c.Data.Phase == "train" || len(cats) == 0 {
		return strings.Join(cats, ","), root
	}
	cats = cats[:len(dbs)] // test_lmdb: one database, read as the first category's
	links := []string{gan.Command("mkdir", "DATAROOT")}
	for i, db := range dbs {
		links = append(links, gan.Command("ln", "-s", filepath.Join(root, db), "DATAROOT/"+cats[i]+"_train_lmdb"))
	}
	e.Notes = append(e.Notes, fmt.Sprintf("main.py reads each of --classes from its _train database (torchvision's LSUN of CATEGORY_train), but this run trained on %s (data.phase=%s): give it a DATAROOT whose links of those names lead to them (%s); torchvision's LSUN keeps each database's keys in _cache_ and its path's letters in the working folder (_cache_DATAROOT%strainlmdb) and reads them there again, so remove those files when a link is changed",
		strings.Join(dbs, ", "), c.Data.Phase, strings.Join(links, " && "), cats[0]))
	return strings.Join(cats, ","), "DATAROOT"
}

// loaderNotes name the data settings main.py has no option for: it reads
// the whole training split (torchvision's datasets with train=True) and
// its DataLoader shuffles every epoch and keeps the last, smaller batch.
func loaderNotes(c *config.Config) []string {
	d := c.Data
	var notes []string
	if d.Phase != "train" && d.Dataset != "lsun" && d.Dataset != "folder" { // lsunData links LSUN's; a folder is read whole
		tv := "MNIST"
		if d.Dataset == "cifar10" {
			tv = "CIFAR10"
		}
		notes = append(notes, fmt.Sprintf("data.phase=%s: main.py reads the training images (torchvision's %s of train=True), not the %s split this run trained on", d.Phase, tv, d.Phase))
	}
	if d.MaxSamples > 0 {
		notes = append(notes, fmt.Sprintf("data.max_samples=%d: main.py trains on every image of its dataset", d.MaxSamples))
	}
	if !d.Shuffle {
		notes = append(notes, "data.shuffle=false: main.py's DataLoader shuffles every epoch")
	}
	if d.DropLast {
		notes = append(notes, "data.drop_last=true: main.py's DataLoader keeps each epoch's last, smaller batch")
	}
	return notes
}
