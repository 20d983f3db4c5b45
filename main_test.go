package main

import (
	"io"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	torch "gogan/cgo"
	"gogan/config"
	"gogan/gan"
)

// TestComputingCommandsStartWithSpinBriefly: each name in computing is a
// command of gogan's (a renamed command would silently lose
// torch.SpinBriefly), and no command below the root sets a
// PersistentPreRun of its own: cobra runs only the nearest one, so it
// would replace the root's, and that command and its subcommands would
// run with libgomp's 300,000 spins again.
func TestComputingCommandsStartWithSpinBriefly(t *testing.T) {
	root := rootCmd()
	if root.PersistentPreRun == nil || cobra.EnableTraverseRunHooks {
		t.Fatal("the root command has no PersistentPreRun, or cobra runs every parent's hook")
	}
	top := map[string]bool{}
	for _, c := range root.Commands() {
		top[c.Name()] = true
	}
	for name := range computing {
		if !top[name] {
			t.Errorf("computing names %q, which is no command of gogan's", name)
		}
	}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, s := range c.Commands() {
			if s.PersistentPreRun != nil || s.PersistentPreRunE != nil {
				t.Errorf("%s has a PersistentPreRun of its own, which replaces the root's (torch.SpinBriefly): call the root's from it", s.CommandPath())
			}
			walk(s)
		}
	}
	walk(root)
}

// TestREADMELinksResolve: each link of the README's contents to one of its
// sections names a heading there (GitHub's anchor: lower case, spaces as
// hyphens, other punctuation dropped), so that a renamed section does not
// leave a dead link.
func TestREADMELinksResolve(t *testing.T) {
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	anchors := map[string]bool{}
	inCode := false
	for line := range strings.SplitSeq(string(b), "\n") {
		if strings.HasPrefix(line, "```") {
			inCode = !inCode
		}
		if inCode || !strings.HasPrefix(line, "#") {
			continue
		}
		title := strings.ToLower(strings.TrimSpace(strings.TrimLeft(line, "#")))
		anchors[strings.Map(func(r rune) rune {
			switch {
			case r == ' ' || r == '-':
				return '-'
			case unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_':
				return r
			}
			return -1
		}, title)] = true
	}
	links := regexp.MustCompile(`\]\(#([^)]*)\)`).FindAllStringSubmatch(string(b), -1)
	if len(links) == 0 {
		t.Fatal("README.md links to none of its sections: its contents list is gone")
	}
	for _, m := range links {
		if !anchors[m[1]] {
			t.Errorf("README.md links to #%s, which no heading of it has", m[1])
		}
	}
}

// TestCheckpointPickingFlagsAreAnswered: each of the references' options
// that pick saved networks (--epoch, pix2pixHD's --which_epoch, --load_iter)
// is answered on the commands that take --checkpoint, and resume's
// --config with the config it reads; so are test.py's --name,
// --checkpoints_dir (export: its --out), --num_test, --how_many,
// --results_dir, --dataroot and the older --which_direction, with the flag each command takes for it
// (they were cobra's bare "unknown flag"); a flag of neither kind, or one
// the command has nothing for, stays bare.
func TestCheckpointPickingFlagsAreAnswered(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"translate", "--epoch", "3"}, "gogan translate takes --checkpoint RUN/checkpoints/step-N"},
		{[]string{"translate", "--which_epoch", "latest"}, "gogan translate takes --checkpoint RUN/checkpoints/step-N"},
		{[]string{"serve", "--load-iter", "5"}, "gogan serve takes --checkpoint RUN/checkpoints/step-N"},
		{[]string{"eval", "fid", "--which_epoch", "3"}, "takes --checkpoint RUN/checkpoints/step-N"},
		{[]string{"resume", "RUN", "--which_epoch", "3"}, "move the newer RUN/checkpoints/step-* folders out of RUN/checkpoints"},
		{[]string{"resume", "RUN", "--config", "c.yaml"}, "gogan resume reads the run's own config, RUN/config.yaml"},
		{[]string{"translate", "--name", "facades_pix2pix"}, "unknown flag: --name: the references' --checkpoints_dir and --name name the folder of the saved networks; gogan translate takes --checkpoint RUN"},
		{[]string{"eval", "pix2pix", "--checkpoints_dir", "./checkpoints"}, "gogan eval pix2pix takes --checkpoint RUN, a gogan run folder (a reference's checkpoints/NAME: gogan import --from checkpoints/NAME makes one)"},
		{[]string{"export", "--name", "facades"}, "gogan export takes --out DIR, the folder the references' --checkpoints_dir/--name names"},
		{[]string{"translate", "--num_test", "5"}, "unknown flag: --num_test: that is the references'; gogan translate takes --limit N"},
		{[]string{"translate", "--how_many", "5"}, "gogan translate takes --limit N"},
		{[]string{"translate", "--results_dir", "r"}, "gogan translate takes --out DIR"},
		{[]string{"translate", "--dataroot", "d"}, "gogan translate takes --input DIR"},
		{[]string{"eval", "pix2pix", "--dataroot", "d"}, "gogan eval pix2pix takes --data-root DIR"},
		// test.py's sizing, device and one-generator flags (docs/tips.md's
		// high-resolution test, docs/qa.md's --model test --model_suffix _A)
		{[]string{"translate", "--load_size", "1024"}, "unknown flag: --load_size: that is the references'; gogan translate takes --load-size N"},
		{[]string{"translate", "--fineSize", "1024"}, "gogan translate takes --load-size N, the side inputs are resized to (or the width, with --preprocess scale_width); it crops nothing"},
		{[]string{"translate", "--crop_size", "360"}, "gogan translate takes --load-size N"},
		{[]string{"translate", "--resize_or_crop", "scale_width"}, "gogan translate takes --preprocess (test.py's --preprocess"},
		{[]string{"translate", "--gpu_ids", "-1"}, "gogan translate takes --device cpu (--gpu_ids -1) or --device cuda:N"},
		{[]string{"translate", "--model_suffix", "_A"}, "gogan translate takes --direction AtoB (--model_suffix _A, G_A)"},
		{[]string{"translate", "--which_direction", "BtoA"}, "unknown flag: --which_direction: that is the references'; gogan translate takes --direction AtoB or BtoA (--which_direction, the older test.py's --direction)"},
		{[]string{"serve", "--which_direction", "BtoA"}, "gogan serve takes --direction AtoB or BtoA"},
		{[]string{"eval", "pix2pix", "--which_direction", "BtoA"}, "gogan eval pix2pix takes --direction AtoB or BtoA"},
		{[]string{"translate", "--phase", "test"}, "gogan translate takes --input DIR, the split's folder itself"},
		{[]string{"translate", "--use_encoded_image"}, "gogan translate takes --photos DIR"},
		// the network options test.py repeats, which the checkpoint's config holds
		{[]string{"translate", "--netG", "unet_256"}, "unknown flag: --netG: the references' --netG is how the saved networks were built (model.netG here); gogan translate builds them from the checkpoint's own config"},
		{[]string{"translate", "--no_dropout"}, "(model.no_dropout here); gogan translate builds them"},
		{[]string{"eval", "pix2pix", "--label_nc", "0"}, "(data.label_nc here); gogan eval pix2pix builds them from the checkpoint's own config"},
		{[]string{"sample", "--netG", "netG_epoch_3.pth"}, "unknown flag: --netG"}, // main.py's is a weights file
		{[]string{"sample", "--dataroot", "d"}, "unknown flag: --dataroot"},
		{[]string{"runs", "--epoch", "3"}, "unknown flag: --epoch"},
	} {
		root := rootCmd()
		root.SetArgs(c.args)
		root.SetOut(io.Discard)
		root.SetErr(io.Discard)
		err := root.Execute()
		if err == nil || !strings.Contains(err.Error(), c.want) || (c.args[0] == "runs" || c.args[0] == "sample") && err.Error() != c.want {
			t.Errorf("gogan %s: %v, want %q", strings.Join(c.args, " "), err, c.want)
		}
	}
}

// TestDeviceFlagAnswersGPUIDs: a command's --device met the references'
// --gpu_ids values (test.py --gpu_ids -1 for the CPU) with "expected auto,
// cpu, cuda or cuda:N", once the checkpoint had loaded, where train's
// --set device=-1 says they are device=cpu: every --device answers them at
// once, in the flag's words (one device a command: a list names its first).
func TestDeviceFlagAnswersGPUIDs(t *testing.T) {
	var cmds [][]string
	var walk func(c *cobra.Command, path []string)
	walk = func(c *cobra.Command, path []string) {
		if f := c.Flags().Lookup("device"); f != nil {
			if _, ok := f.Value.(deviceValue); !ok {
				t.Errorf("%s --device is no deviceValue (deviceFlag): the references' --gpu_ids values go unanswered", c.CommandPath())
			}
			cmds = append(cmds, path)
		}
		for _, s := range c.Commands() {
			walk(s, append(slices.Clip(path), s.Name()))
		}
	}
	walk(rootCmd(), nil)
	if len(cmds) < 5 {
		t.Fatalf("only %d commands with --device: %q", len(cmds), cmds)
	}
	for _, c := range []struct{ device, want string }{
		{"-1", `invalid argument "-1" for "--device" flag: must be auto, cpu, cuda or cuda:N with N a GPU index; the references' --gpu_ids -1 (the CPU) is --device cpu`},
		{"1", "the references' --gpu_ids 1 is --device cuda:1"},
		{"0,1", "the references' --gpu_ids 0,1 names 2 GPUs, and this command runs on one: --device cuda:0"},
		{"-1,0", "the references' --gpu_ids -1,0 (GPU 0, the negative ids dropped as they drop them) is --device cuda:0"},
	} {
		for _, cmd := range cmds {
			out, err := gogan(t, append(slices.Clip(cmd), "--device", c.device)...)
			if err == nil || !strings.Contains(out, c.want) {
				t.Errorf("gogan %s --device %s: %v, want %q in\n%s", strings.Join(cmd, " "), c.device, err, c.want, out)
			}
		}
	}
	// and what it takes still goes through
	if out, err := gogan(t, "sample", "--device", "cpu"); err == nil || strings.Contains(out, "--device") {
		t.Errorf("gogan sample --device cpu (no --checkpoint): %v, want the --checkpoint refusal\n%s", err, out)
	}
}

// TestNoCUDADeviceInTheCallersWords: on a machine without CUDA, --device
// cuda said "use device: cpu or auto", the config key's words, once the
// command had loaded its checkpoint: the flag refuses it at once, naming
// --device; train's device=cuda says "device: device ..." no more.
func TestNoCUDADeviceInTheCallersWords(t *testing.T) {
	if torch.CUDAIsAvailable() {
		t.Skip("this machine has a CUDA device")
	}
	for _, cmd := range [][]string{{"sample"}, {"eval", "fid"}, {"translate"}} {
		out, err := gogan(t, append(cmd, "--device", "cuda")...)
		want := `invalid argument "cuda" for "--device" flag: no CUDA device is available here (libtorch `
		if err == nil || !strings.Contains(out, want) || !strings.Contains(out, "give --device cpu or auto") || strings.Contains(out, "device:") {
			t.Errorf("gogan %s --device cuda: %v, want %q and --device cpu\n%s", strings.Join(cmd, " "), err, want, out)
		}
	}
	out, err := gogan(t, append([]string{"train"}, smallDCGAN(t.TempDir(), "device=cuda")...)...)
	if want := `device "cuda": no CUDA device is available here (libtorch `; err == nil || !strings.Contains(out, want) ||
		!strings.Contains(out, "set device=cpu or device=auto") || strings.Contains(out, "device: device") {
		t.Errorf("train --set device=cuda: %v, want %q and device=cpu\n%s", err, want, out)
	}
}

// TestShellCompletesWhatFlagsTake: the shell completes folders for the
// flags and arguments that take one (--checkpoint, --data-root, an --out
// folder, resume's RUN_DIR, runs' DIR), YAML files for --config, and files
// and folders alike for translate's --input, which takes one image file
// too: completing it as a folder alone hid the file.
func TestShellCompletesWhatFlagsTake(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string // __complete's last line, the directive
	}{
		{[]string{"translate", "--input", ""}, ":0"}, // default: files and folders
		{[]string{"translate", "--checkpoint", ""}, ":16"},
		{[]string{"translate", "--out", ""}, ":16"},
		{[]string{"sample", "--checkpoint", ""}, ":16"},
		{[]string{"serve", "--data-root", ""}, ":16"},
		{[]string{"eval", "fid", "--checkpoint", ""}, ":16"},
		{[]string{"eval", "pix2pix", "--out", ""}, ":16"},
		{[]string{"export", "--out", ""}, ":16"},
		{[]string{"import", "--from", ""}, ":16"},
		{[]string{"resume", ""}, ":16"},
		{[]string{"resume", "runs/x", ""}, ":4"}, // no second argument
		{[]string{"runs", ""}, ":16"},
		{[]string{"train", "-c", ""}, "yaml\nyml\n:8"},
		{[]string{"import", "--config", ""}, "yaml\nyml\n:8"},
	} {
		if out := complete(t, c.args...); !strings.HasSuffix(strings.TrimSpace(out), c.want) {
			t.Errorf("gogan __complete %q:\n%s\nwant it to end %q", c.args, out, c.want)
		}
	}
}

// complete is what the shell's completion asks gogan for args (the last
// the word being typed): the candidates a line, then the directive.
func complete(t *testing.T, args ...string) string {
	t.Helper()
	root := rootCmd()
	var out strings.Builder
	root.SetArgs(append([]string{cobra.ShellCompRequestCmd}, args...))
	root.SetOut(&out)
	root.SetErr(io.Discard)
	if err := root.Execute(); err != nil {
		t.Fatalf("gogan __complete %q: %v", args, err)
	}
	return out.String()
}

// TestShellCompletesFlagValues: a flag of a few values completes them, as
// each command checks them, and --set the config's keys, then a key's
// values.
func TestShellCompletesFlagValues(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string // lines of the answer, in order
	}{
		{[]string{"serve", "--input", ""}, "auto\nlabels\nsketch\nimage\n:4"},
		{[]string{"translate", "--preprocess", ""}, "resize_and_crop\nscale_width\nnone\n:4"},
		{[]string{"translate", "--direction", ""}, "AtoB\nBtoA\n:4"},
		{[]string{"eval", "pix2pix", "--direction", ""}, "AtoB\nBtoA\nboth\n:4"},
		{[]string{"eval", "pix2pix", "--mode", ""}, "train\neval\nboth\n:4"},
		{[]string{"sample", "--g-mode", ""}, "eval\ntrain\n:4"},
		{[]string{"features", "--device", ""}, "auto\ncpu\ncuda\n:4"},
		{[]string{"eval", "fid", "--dims", ""}, "64\n192\n768\n2048\n:4"},
		{[]string{"train", "--set", "data.pre"}, "data.prefetch=\t"},
		{[]string{"resume", "runs/x", "--set", "train.lr_p"}, "train.lr_policy=\t"},
		{[]string{"train", "--set", "data.preprocess="}, "data.preprocess=resize_and_crop\ndata.preprocess=crop\n"},
		{[]string{"config", "--set", "model.no_dropout="}, "model.no_dropout=true\nmodel.no_dropout=false\n:4"},
	} {
		if out := complete(t, c.args...); !strings.Contains(out, c.want) {
			t.Errorf("gogan __complete %q:\n%s\nwant %q", c.args, out, c.want)
		}
	}
	if out := complete(t, "train", "--set", "data.pre"); !strings.HasSuffix(out, ":6\n") { // no space after KEY=
		t.Errorf("gogan __complete train --set data.pre:\n%s\nwant the directive 6 (no space, no files)", out)
	}
}

// TestREADMENamesEveryFlag: each flag of each command (but help and
// completion's) is named in a paragraph of the README that names the
// command too, so that a flag added to a command is documented beside it.
func TestREADMENamesEveryFlag(t *testing.T) {
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	paras := regexp.MustCompile(`\n\s*\n`).Split(string(b), -1)
	named := func(cmd, flag string) bool {
		re := regexp.MustCompile(`(^|[^\w-])` + regexp.QuoteMeta(flag) + `([^\w-]|$)`)
		for _, p := range paras {
			if strings.Contains(p, cmd) && re.MatchString(p) {
				return true
			}
		}
		return false
	}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, s := range c.Commands() {
			if s.Hidden || s.Name() == "help" || s.Name() == "completion" {
				continue
			}
			cmd := strings.TrimPrefix(s.CommandPath(), "gogan ")
			s.LocalFlags().VisitAll(func(f *pflag.Flag) {
				if f.Hidden || f.Name == "help" {
					return
				}
				if !named(cmd, "--"+f.Name) {
					t.Errorf("README.md names no --%s of gogan %s", f.Name, cmd)
				}
			})
			walk(s)
		}
	}
	walk(rootCmd())

	// The other way: each gogan command line of the README's code blocks
	// names flags its command has, and --set keys that exist.
	root := rootCmd()
	root.InitDefaultVersionFlag()
	inCode, line, lines := false, "", 0
	for l := range strings.SplitSeq(string(b), "\n") {
		if strings.HasPrefix(strings.TrimSpace(l), "```") {
			inCode = !inCode
			continue
		}
		if line += l; !inCode || strings.HasSuffix(l, "\\") {
			line = strings.TrimSuffix(line, "\\")
			if !inCode {
				line = ""
			}
			continue
		}
		cmdline := regexp.MustCompile(`\s#.*`).ReplaceAllString(line, "") // a comment
		line = ""
		f := strings.Fields(strings.NewReplacer("[", " ", "]", " ", "|", " ").Replace(cmdline))
		for len(f) > 0 && f[0] != "build/gogan" && f[0] != "gogan" {
			f = f[1:]
		}
		if len(f) < 2 {
			continue
		}
		lines++
		c, _, err := root.Find(f[1:])
		if err != nil {
			t.Errorf("README.md: %s: %v", cmdline, err)
			continue
		}
		for i, a := range f {
			name, _, _ := strings.Cut(strings.TrimPrefix(a, "--"), "=")
			if !strings.HasPrefix(a, "--") || name == "" {
				continue
			}
			if c.Flags().Lookup(name) == nil && c.InheritedFlags().Lookup(name) == nil {
				t.Errorf("README.md: %s: gogan %s has no --%s", strings.TrimSpace(cmdline), strings.TrimPrefix(c.CommandPath(), "gogan "), name)
			}
			if name == "set" && i+1 < len(f) {
				if key, _, _ := strings.Cut(f[i+1], "="); !slices.Contains(config.SchemaKeys(), key) {
					t.Errorf("README.md: %s: --set %s: no such key", strings.TrimSpace(cmdline), key)
				}
			}
		}
	}
	if lines < 10 {
		t.Fatalf("README.md's code blocks hold %d gogan command lines: its examples are gone, or this reads them wrong", lines)
	}
}

// TestHelpNamesEveryRecipe: gogan --help lists the registered recipes, each
// with its Doc line, so that a recipe package added to gan/all shows up
// there (the text named four by hand, without colorization). This test
// binary links gan/gantest's condprobe in too, which it lists as well.
func TestHelpNamesEveryRecipe(t *testing.T) {
	root := rootCmd()
	var out strings.Builder
	root.SetArgs([]string{"--help"})
	root.SetOut(&out)
	root.SetErr(io.Discard)
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	names := gan.Names()
	if !slices.Contains(names, "condprobe") || !slices.Contains(names, "colorization") {
		t.Fatalf("registered recipes %v: want gan/all's and gan/gantest's condprobe", names)
	}
	for _, name := range names {
		d, err := gan.Lookup(name)
		if err != nil {
			t.Fatal(err)
		}
		if !regexp.MustCompile(`(?m)^ +` + regexp.QuoteMeta(name) + ` +` + regexp.QuoteMeta(d.Schema.Doc) + `$`).MatchString(out.String()) {
			t.Errorf("gogan --help has no line for recipe %s (%q):\n%s", name, d.Schema.Doc, out.String())
		}
	}
}
