package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	torch "gogan/cgo"
	"gogan/config"
	"gogan/gan"
)

// noArgs refuses positional arguments, as cobra.NoArgs does, but says which
// flag takes what was given: "gogan train configs/x.yaml" or "gogan sample
// runs/x" are easy slips, and cobra's "unknown command" does not help.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	a, path := args[0], cmd.CommandPath()
	if cmd.Name() == "train" && isRunOrCheckpoint(a) {
		return fmt.Errorf("train takes no arguments, got %q, a run folder: to continue it, %s", a, gan.Command("gogan", "resume", gan.PathArg(a)))
	}
	flag := flagFor(cmd, a)
	if flag == "" {
		return fmt.Errorf("%s takes no arguments, got %q: everything it takes is a flag (see %s --help)", subcommand(cmd), a, path)
	}
	return fmt.Errorf("%s takes no arguments, got %q: give it with %s, as in %s %s %s (see %s --help)", subcommand(cmd), a, flag, path, flag, a, path)
}

// takesFolder annotates a flag that takes a folder (folderFlag), which
// flagFor names for a folder given as an argument.
const takesFolder = "gogan_folder"

// folderFlag marks flags of c that take a folder: the shell completes
// folders alone for them.
func folderFlag(c *cobra.Command, names ...string) {
	for _, n := range names {
		c.Flags().SetAnnotation(n, takesFolder, []string{"true"})
		c.MarkFlagDirname(n)
	}
}

// folderOrFileFlag marks a flag that takes a folder or one file
// (translate --input): the shell completes both, which completing folders
// alone hid the file from.
func folderOrFileFlag(c *cobra.Command, name string) {
	c.Flags().SetAnnotation(name, takesFolder, []string{"true"})
}

// folderArg completes a command's one argument, a folder (resume's RUN_DIR,
// runs' DIR).
func folderArg(_ *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	return nil, cobra.ShellCompDirectiveFilterDirs
}

// flagValues completes the values a flag of c takes.
func flagValues(c *cobra.Command, name string, values ...string) {
	c.RegisterFlagCompletionFunc(name, cobra.FixedCompletions(values, cobra.ShellCompDirectiveNoFileComp))
}

// setKeys completes --set: the config's keys (KEY=, with their doc), then,
// once the = is typed, a key's values where it has a set of them.
func setKeys(_ *cobra.Command, _ []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	name, _, typed := strings.Cut(toComplete, "=")
	var out []string
	for _, k := range config.Schema() {
		switch {
		case !typed && strings.HasPrefix(k.Name, strings.ToLower(toComplete)):
			doc, _, _ := strings.Cut(k.Doc, ". ")
			out = append(out, k.Name+"=\t"+doc)
		case typed && strings.EqualFold(k.Name, name):
			values := k.Enum
			if k.Type == config.TypeBool {
				values = []string{"true", "false"}
			}
			for _, v := range values {
				out = append(out, name+"="+v)
			}
		}
	}
	if !typed {
		return out, cobra.ShellCompDirectiveNoSpace | cobra.ShellCompDirectiveNoFileComp
	}
	return out, cobra.ShellCompDirectiveNoFileComp
}

// flagFor guesses the flag an argument was meant for: a YAML file is a
// config, a run or checkpoint folder a checkpoint, another folder the input
// (import: the reference's checkpoint folder, and a .pth file its weights),
// key=value a --set.
// A folder goes only to a flag marked as taking one (folderFlag,
// folderOrFileFlag): serve's --input is what its page draws (auto, labels,
// ...), not a folder.
func flagFor(cmd *cobra.Command, a string) string {
	has := func(name string) bool { return cmd.Flags().Lookup(name) != nil }
	folder := func(name string) bool {
		f := cmd.Flags().Lookup(name)
		return f != nil && f.Annotations[takesFolder] != nil && isDir(a)
	}
	ext := strings.ToLower(filepath.Ext(a))
	switch {
	case has("config") && (ext == ".yaml" || ext == ".yml"):
		return "-c"
	case has("checkpoint") && isRunOrCheckpoint(a):
		return "--checkpoint"
	case folder("input"):
		return "--input"
	case folder("from"):
		return "--from"
	case has("pth") && ext == ".pth":
		return "--pth"
	case has("set") && strings.Contains(a, "=") && !strings.ContainsRune(a, os.PathSeparator):
		return "--set"
	}
	return ""
}

// isRunOrCheckpoint: a run folder holds config.yaml, a checkpoint folder
// state.json.
func isRunOrCheckpoint(dir string) bool {
	for _, f := range []string{"config.yaml", "state.json"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			return true
		}
	}
	return false
}

func isDir(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

// deviceValue is a command's --device, refused as it is given as config's
// device key is, so that the references' --gpu_ids values (-1, 0, 0,1)
// are answered with the device they are here; a CUDA device this machine
// lacks is refused here too, in the flag's words (torch.ParseDevice's
// would come later, in the device key's).
type deviceValue struct{ p *string }

func (d deviceValue) String() string { return *d.p }
func (d deviceValue) Type() string   { return "string" }
func (d deviceValue) Set(s string) error {
	if err := config.CheckDeviceFlag(s); err != nil {
		return err
	}
	if strings.HasPrefix(s, "cuda") {
		var de *torch.DeviceError // its Err: cobra's message names the value
		if _, err := torch.ParseDevice(s); errors.As(err, &de) && errors.Is(err, torch.ErrNoCUDA) {
			return fmt.Errorf("%w: give --device cpu or auto", de.Err)
		} else if de != nil {
			return de.Err
		}
	}
	*d.p = s
	return nil
}

// onlySubcommands makes a command that only holds others (eval,
// completion) refuse a word that is none of them: cobra's "unknown command"
// is the root's alone, and below it printed the command's help and exited
// 0, so a script's misspelt "gogan eval fdi" passed. Alone it prints the
// help, as before.
func onlySubcommands(c *cobra.Command) {
	c.Args = cobra.ArbitraryArgs
	c.DisableFlagsInUseLine = true
	c.SuggestionsMinimumDistance = 2 // cobra's default, which only the root sets itself
	c.RunE = func(cmd *cobra.Command, args []string) error {
		if len(args) == 0 {
			return cmd.Help()
		}
		return unknownSubcommand(cmd, args[0])
	}
}

// unknownSubcommand names the commands of cmd that a is not one of.
func unknownSubcommand(cmd *cobra.Command, a string) error {
	var names []string
	for _, s := range cmd.Commands() {
		if s.IsAvailableCommand() {
			names = append(names, s.Name())
		}
	}
	meant := ""
	if s := cmd.SuggestionsFor(a); len(s) > 0 {
		meant = fmt.Sprintf(" (did you mean %s?)", strings.Join(s, " or "))
	}
	return fmt.Errorf("%s: unknown command %q%s: it takes one of %s (see %s --help)",
		subcommand(cmd), a, meant, strings.Join(names, ", "), cmd.CommandPath())
}

// runDirArg takes exactly the run folder, saying so when it is missing.
func runDirArg(cmd *cobra.Command, args []string) error {
	switch {
	case len(args) == 0:
		return fmt.Errorf("%s takes the run folder to continue, as in %s runs/NAME (gogan runs lists them)", subcommand(cmd), cmd.CommandPath())
	case len(args) > 1:
		return fmt.Errorf("%s takes one run folder, got %d arguments %q (override its config with --set key=value)", subcommand(cmd), len(args), args)
	}
	return nil
}

// subcommand names the command after main's "gogan: " prefix ("eval pix2pix").
func subcommand(cmd *cobra.Command) string {
	return strings.TrimPrefix(cmd.CommandPath(), cmd.Root().Name()+" ")
}

// torchrunFlag adds, to an unknown flag of torchrun's given to a command
// with --nproc (train, resume), what gogan takes instead: a torchrun user's
// first --nproc-per-node, or --nnodes for a job of several machines, which
// --nproc does not launch, met only cobra's "unknown flag".
func torchrunFlag(cmd *cobra.Command, err error) error {
	if a := cmd.Flags().Args(); cmd.HasSubCommands() && len(a) > 0 {
		// "gogan eval fdi --checkpoint RUN": the word, not the flag, is wrong
		return unknownSubcommand(cmd, a[0])
	}
	name, ok := strings.CutPrefix(err.Error(), "unknown flag: --")
	if !ok {
		return err
	}
	name, _, _ = strings.Cut(name, "=")
	if cmd.Flags().Lookup("nproc") == nil {
		return referenceFlag(cmd, name, err)
	}
	switch strings.ReplaceAll(name, "_", "-") {
	case "nproc-per-node":
		return fmt.Errorf("%w: gogan's is --nproc N, the processes of this machine (torchrun's --nproc-per-node)", err)
	case "max-restarts":
		return fmt.Errorf("%w: that is torchrun's; gogan's --nproc does not restart a failed job: run it under torchrun, "+
			"torchrun --max-restarts 3 --nproc-per-node N --no-python %s %s ... (on Debian's PyTorch 1.13, scripts/torchrun; README, Many GPUs and machines)", err, os.Args[0], cmd.Name())
	case "nnodes", "node-rank", "master-addr", "master-port", "rdzv-backend", "rdzv-endpoint", "rdzv-id", "standalone":
		return fmt.Errorf("%w: that is torchrun's; gogan's --nproc N starts the ranks of one machine, and a job of several machines runs under torchrun: "+
			"torchrun --nnodes 2 --node-rank R --nproc-per-node N --master-addr HOST --master-port PORT --no-python %s %s ... (on Debian's PyTorch 1.13, scripts/torchrun; README, Many GPUs and machines)", err, os.Args[0], cmd.Name())
	}
	return referenceFlag(cmd, name, err)
}

// referenceFlag adds, to an unknown flag that is a reference's option (a
// main.py user's first `gogan train --dataset cifar10`), the key it is
// here, as --set answers it, to a command that takes --set.
func referenceFlag(cmd *cobra.Command, name string, err error) error {
	if cmd.Flags().Lookup("set") == nil {
		if cmd.Flags().Lookup("checkpoint") != nil {
			return testPyFlag(cmd, name, err)
		}
		return err
	}
	if name == "config" && cmd.Flags().Lookup("config") == nil {
		// resume of a run with another config file
		return fmt.Errorf("%w: gogan %s reads the run's own config, RUN/config.yaml: edit it, or give keys with --set KEY=VALUE (saved into it); a changed value is reported as the run goes on", err, subcommand(cmd))
	}
	if text, ok := config.ReferenceFlag(name); ok {
		return fmt.Errorf("%w; %s (gogan %s takes keys as --set KEY=VALUE)", err, text, subcommand(cmd))
	}
	return err
}

// builtFromConfig: a key of how a run's networks are built, which the
// commands that load a checkpoint read from its config.
func builtFromConfig(key string) bool {
	return strings.HasPrefix(key, "model.") || key == "recipe" || key == "data.label_nc" || key == "data.no_instance"
}

// testPyFlags are the references' test.py flags (lower case, "-" for "_")
// that a command with the flag has answers with instead; the first row
// that fits answers. Those whose answer depends on more than the flags a
// command has (--epoch, --name) are testPyFlag's own cases.
var testPyFlags = []struct {
	names        []string
	has, instead string
}{
	{[]string{"num-test", "how-many"}, "limit", "--limit N"},
	{[]string{"results-dir"}, "out", "--out DIR"},
	{[]string{"dataroot"}, "data-root", "--data-root DIR"},
	{[]string{"dataroot"}, "input", "--input DIR"},
	{[]string{"phase"}, "input", "--input DIR, the split's folder itself (test.py reads --dataroot/--phase)"},
	{[]string{"load-size", "loadsize"}, "load-size", "--load-size N"},
	// test.py's resize_and_crop crops --crop_size out of its --load_size
	// resize; its older scale_width scaled to --fineSize
	{[]string{"crop-size", "finesize"}, "load-size", "--load-size N, the side inputs are resized to (or the width, with --preprocess scale_width); it crops nothing"},
	{[]string{"resize-or-crop"}, "preprocess", "--preprocess (test.py's --preprocess, its older --resize_or_crop, and pix2pixHD's)"},
	{[]string{"gpu-ids"}, "device", "--device cpu (--gpu_ids -1) or --device cuda:N"},
	{[]string{"model-suffix"}, "direction", "--direction AtoB (--model_suffix _A, G_A) or --direction BtoA (_B, G_B)"},
	// the older repository's name of --direction, which import and --set answer
	{[]string{"which-direction"}, "direction", "--direction AtoB or BtoA (--which_direction, the older test.py's --direction)"},
	{[]string{"use-encoded-image"}, "photos", "--photos DIR, the photos the features are encoded from"},
	{[]string{"cluster-path"}, "features", "--features FILE, the clusters gogan features wrote"},
}

// testPyFlag adds, to an unknown flag of the references' test.py given to a
// command that takes --checkpoint, the flag gogan takes for it: a test.py
// user's first command line names the networks by --checkpoints_dir,
// --name and --epoch, and the inputs and outputs by --dataroot,
// --num_test (pix2pixHD's --how_many) and --results_dir; export's --out is
// the folder --checkpoints_dir/--name names.
func testPyFlag(cmd *cobra.Command, name string, err error) error {
	has := func(f string) bool { return cmd.Flags().Lookup(f) != nil }
	instead := ""
	switch n := strings.ToLower(strings.ReplaceAll(name, "_", "-")); {
	case n == "epoch" || n == "which-epoch" || n == "load-iter":
		// test.py --epoch N: the networks saved then
		return fmt.Errorf("%w: the references' --%s picks the saved networks to load; gogan %s takes --checkpoint RUN/checkpoints/step-N (--checkpoint RUN: the run's newest)", err, name, subcommand(cmd))
	case (n == "name" || n == "checkpoints-dir") && cmd.Name() == "export":
		instead = "--out DIR, the folder the references' --checkpoints_dir/--name names"
	case n == "name" || n == "checkpoints-dir":
		return fmt.Errorf("%w: the references' --checkpoints_dir and --name name the folder of the saved networks; gogan %s takes --checkpoint RUN, a gogan run folder (a reference's checkpoints/NAME: gogan import --from checkpoints/NAME makes one)", err, subcommand(cmd))
	case n == "suffix":
		// opt.name += "_" + suffix
		return fmt.Errorf("%w: the references' --suffix extends --name, the folder of the saved networks; gogan %s takes --checkpoint RUN, the whole folder", err, subcommand(cmd))
	case n == "aspect-ratio" && has("preprocess"):
		// save_images resizes each output to that height:width, bicubic
		return fmt.Errorf("%w: test.py's --aspect_ratio stretches each output it saves to that height:width ratio; gogan %s stretches none: "+
			"for outputs of the inputs' own shape, translate them at it with --preprocess scale_width (width --load-size) or --preprocess none (each image's own size)", err, subcommand(cmd))
	case n == "display-winsize":
		return fmt.Errorf("%w: the references' --display_winsize is the width their HTML pages show images at; gogan translate writes PNG files alone, no page, and gogan's pages "+
			"(eval pix2pix --out's, a run's index.html) show each image at its own size (a small one scaled up by a whole factor)", err)
	case n == "no-html" && has("preprocess"):
		return fmt.Errorf("%w: train.py's --no_html keeps its training results off its HTML page; gogan translate writes PNG files alone, no page", err)
	case n == "no-html" && has("mode") && has("out"):
		return fmt.Errorf("%w: train.py's --no_html keeps its training results off its HTML page; gogan %s writes a page only given --out DIR", err, subcommand(cmd))
	case n == "verbose":
		return fmt.Errorf("%w: the references' --verbose prints each network's layers; gogan nets -c RUN/config.yaml prints a run's, with output shapes and parameter counts", err)
	default:
		for _, f := range testPyFlags {
			if slices.Contains(f.names, n) && has(f.has) {
				instead = f.instead
				break
			}
		}
	}
	if keys := config.ReferenceKeys(name); instead == "" && (has("eval") || has("direction")) && len(keys) > 0 && slices.ContainsFunc(keys, builtFromConfig) {
		// test.py repeats the training's network options; gogan reads them
		return fmt.Errorf("%w: the references' --%s is how the saved networks were built (%s here); gogan %s builds them from the checkpoint's own config, so it takes none",
			err, name, strings.Join(keys, ", "), subcommand(cmd))
	}
	if instead == "" {
		return err
	}
	return fmt.Errorf("%w: that is the references'; gogan %s takes %s", err, subcommand(cmd), instead)
}
