package gan

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"

	"gogan/config"
)

// Export is a recipe's networks as its reference implementation saves them
// (gogan export): each network's file, named as the reference names it,
// and the reference's command lines that load them.
type Export struct {
	Reference string       // the implementation whose files these are
	Files     []ExportFile // in the recipe's network order
	// Commands are the reference's command lines (run in its folder) that
	// build these networks and load the files: inference first, then
	// continued training.
	Commands []string
	// Notes say what the reference cannot repeat from its flags.
	Notes []string
}

// ExportFile is one network's file.
type ExportFile struct {
	Role string
	Name string // the file name in ExportOptions.Dir
}

// ExportOptions are where and under which label the files go.
type ExportOptions struct {
	Dir string // absolute
	// Label is the reference's epoch label in the file names ("latest",
	// "5"); empty: the reference's own choice (latest, or DCGAN's epoch).
	Label string
	// Epoch is the 0-based epoch the weights were trained in, which names
	// DCGAN's files as main.py's checkpoints.
	Epoch int
}

// Command joins a command line's words, quoting those a POSIX shell would
// split or expand.
func Command(words ...string) string {
	out := make([]string, len(words))
	for i, w := range words {
		out[i] = shellQuote(w)
	}
	return strings.Join(out, " ")
}

func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./=:,+@%", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// DataRoot is the config's data.root as an absolute path (the reference
// runs in its own folder).
func DataRoot(c *config.Config) string {
	if abs, err := filepath.Abs(c.Data.Root); err == nil {
		return abs
	}
	return c.Data.Root
}

// CycleGANAndPix2PixExport is pytorch-CycleGAN-and-pix2pix's layout for
// its model `model` (pix2pix, colorization, cycle_gan): save_networks'
// <epoch>_net_<name>.pth for each role, and the BaseOptions that make
// define_G and define_D build the networks the config trained. test.py
// sets load_size to crop_size, so its command gives crop_size alone.
func CycleGANAndPix2PixExport(c *config.Config, o ExportOptions, model string, roles []string, folderData bool) Export {
	m, d := c.Model, c.Data
	label := o.Label
	if label == "" {
		label = "latest"
	}
	e := Export{Reference: "pytorch-CycleGAN-and-pix2pix"}
	for _, r := range roles {
		e.Files = append(e.Files, ExportFile{Role: r, Name: label + "_net_" + r + ".pth"})
	}
	root := DataRoot(c)
	if !folderData {
		root = "DATAROOT"
		e.Notes = append(e.Notes, fmt.Sprintf("data.dataset=%s is made by gogan from data.source; the reference reads image folders: give test.py and train.py a --dataroot of them", d.Dataset))
	}
	nets := []string{"--dataroot", root, "--checkpoints_dir", filepath.Dir(o.Dir), "--name", filepath.Base(o.Dir),
		"--model", model, "--epoch", label,
		"--input_nc", strconv.Itoa(m.InputNC), "--output_nc", strconv.Itoa(m.OutputNC), "--ngf", strconv.Itoa(m.NGF),
		"--ndf", strconv.Itoa(m.NDF), "--netG", m.NetG, "--netD", m.NetD, "--n_layers_D", strconv.Itoa(m.NLayersD),
		"--norm", m.Norm, "--direction", d.Direction}
	if m.NoDropout {
		nets = append(nets, "--no_dropout")
	}
	test := append([]string{"python", "test.py"}, nets...)
	test = append(test, "--crop_size", strconv.Itoa(d.CropSize))
	train := append([]string{"python", "train.py", "--continue_train"}, nets...)
	train = append(train, "--load_size", strconv.Itoa(d.LoadSize), "--crop_size", strconv.Itoa(d.CropSize), "--preprocess", d.Preprocess)
	if d.NoFlip {
		train = append(train, "--no_flip")
	}
	switch m.NetG {
	case "global", "local":
		e.Notes = append(e.Notes, fmt.Sprintf("model.netG=%s is pix2pixHD's generator, which pytorch-CycleGAN-and-pix2pix's --netG does not offer", m.NetG))
	}
	if m.NetD == "multiscale" {
		e.Notes = append(e.Notes, "model.netD=multiscale is pix2pixHD's discriminator, which pytorch-CycleGAN-and-pix2pix's --netD does not offer")
	}
	if model != "cycle_gan" || m.NoDropout {
		e.Commands = []string{Command(test...), Command(train...)}
		return e
	}
	// The cycle_gan model sets no_dropout, which its store_true flag cannot
	// unset, so it builds other generators (a resnet's keys shift past the
	// dropout); the test model builds define_G with dropout unless told not
	// to, one generator at a time.
	e.Notes = append(e.Notes, "the reference's cycle_gan model always builds its generators without dropout, so these generators, trained with dropout, load into its test model one direction at a time (--model_suffix _A, _B); its train.py cannot continue them")
	for _, dir := range []struct{ suffix, in, out string }{{"A", strconv.Itoa(m.InputNC), strconv.Itoa(m.OutputNC)}, {"B", strconv.Itoa(m.OutputNC), strconv.Itoa(m.InputNC)}} {
		single := root // the single dataset: a folder of the domain's images
		if folderData {
			single = filepath.Join(root, "test"+dir.suffix)
		}
		e.Commands = append(e.Commands, Command("python", "test.py", "--dataroot", single, "--checkpoints_dir", filepath.Dir(o.Dir), "--name", filepath.Base(o.Dir),
			"--model", "test", "--model_suffix", "_"+dir.suffix, "--dataset_mode", "single", "--epoch", label,
			"--input_nc", dir.in, "--output_nc", dir.out, "--ngf", strconv.Itoa(m.NGF), "--netG", m.NetG, "--norm", m.Norm,
			"--crop_size", strconv.Itoa(d.CropSize)))
	}
	return e
}
