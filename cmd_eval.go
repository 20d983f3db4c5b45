package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"gogan/eval"
	"gogan/trainer"
)

// evalCmd is `gogan eval`: quality figures (FID on a classifier gogan trains,
// pix2pix L1/PSNR/SSIM), see scripts/eval.
func evalCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "eval",
		Short: "Measure quality: FID (pytorch-fid's, or on a Fashion-MNIST classifier), L1/PSNR/SSIM of pix2pix and CycleGAN outputs, CycleGAN class translation",
		Long: "gogan eval classifier trains the small Fashion-MNIST classifier whose features FID uses offline;\n" +
			"gogan eval fid computes pytorch-fid's FID between folders of images, statistics files or a DCGAN's\n" +
			"samples, or with --classifier compares a DCGAN's samples with the Fashion-MNIST test set;\n" +
			"gogan eval pix2pix scores a pix2pix, colorization, CycleGAN or pix2pixHD generator on held-out pairs;\n" +
			"gogan eval classes scores a CycleGAN between Fashion-MNIST classes. scripts/eval runs the first three.",
	}
	onlySubcommands(c)
	c.AddCommand(evalClassifierCmd(), evalFIDCmd(), evalPix2PixCmd(), evalClassesCmd())
	return c
}

func evalClassifierCmd() *cobra.Command {
	var o eval.ClassifierOptions
	var out string
	c := &cobra.Command{
		Use:   "classifier",
		Short: "Train the Fashion-MNIST classifier for FID and save it (safetensors)",
		Args:  noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := outFile(out, ".safetensors", "classifier"); err != nil {
				return err
			}
			if err := atLeast(cmd, 1, "epochs", "batch-size"); err != nil {
				return err
			}
			if err := atLeast(cmd, 0, "max-steps", "max-samples", "test-limit", "threads"); err != nil {
				return err
			}
			if !(o.LR > 0) || math.IsInf(o.LR, 0) {
				return fmt.Errorf("--lr %g: want a positive learning rate", o.LR)
			}
			// SIGINT or SIGTERM stops between steps; the classifier is
			// written whole at the end or not at all.
			sd := trainer.NotifyShutdown(context.Background())
			defer sd.Stop()
			sd.SteppingThrough("stopping after the current step; no classifier is written",
				"at once: no classifier is written (one being saved may leave a hidden .tmp- file beside "+out+", which the next eval classifier --out of it removes)")
			res, err := eval.TrainClassifier(sd.Context(), o, out)
			if errors.Is(err, context.Canceled) && sd.Signal() != nil { // the stop, not an error that came meanwhile
				kept := ""
				if _, err := os.Stat(out); err == nil {
					kept = " (the one already there is as it was)"
				}
				fmt.Fprintf(os.Stderr, "gogan: eval classifier: stopped by %s; no classifier was written to %s%s\n", trainer.SignalName(sd.Signal()), out, kept)
				os.Exit(sd.ExitCode())
			}
			if err != nil {
				return err
			}
			fmt.Printf("classifier: %s\ntest accuracy: %.2f%% on %d Fashion-MNIST test images\ntrained: %d steps on %d images in %s\n",
				res.Path, 100*res.TestAccuracy, res.TestImages, res.Steps, res.TrainImages, res.TrainDuration.Round(1e9))
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&out, "out", "", "safetensors file to write (e.g. runs/eval/classifier.safetensors)")
	f.StringVar(&o.Root, "data-root", "", "Fashion-MNIST IDX folder (default /usr/share/datasets/fashion-mnist)")
	f.IntVar(&o.Epochs, "epochs", 4, "epochs over the training images (the last at a tenth of --lr)")
	f.IntVar(&o.MaxSteps, "max-steps", 0, "stop after this many steps (0: the epochs)")
	f.IntVar(&o.BatchSize, "batch-size", 128, "images per step")
	f.Float64Var(&o.LR, "lr", 1e-3, "Adam learning rate")
	f.Int64Var(&o.Seed, "seed", 1, "seed for the weights and the shuffling")
	f.IntVar(&o.MaxSamples, "max-samples", 0, "train on the first N training images (0: all 60000)")
	f.IntVar(&o.TestLimit, "test-limit", 0, "measure accuracy on the first N test images (0: all 10000)")
	deviceFlag(c, &o.Device)
	threadsFlag(c, &o.Threads)
	f.BoolVar(&o.Quiet, "quiet", false, "log lines instead of a progress bar")
	f.BoolVar(&o.Force, "force", false, "replace the classifier at --out")
	c.MarkFlagRequired("out")
	return c
}

func evalFIDCmd() *cobra.Command {
	var o eval.FIDOptions
	var inc eval.InceptionFIDOptions
	c := &cobra.Command{
		Use:   "fid [PATH [PATH]]",
		Short: "FID as pytorch-fid computes it (Inception features of image folders, statistics files or DCGAN samples), or on the Fashion-MNIST classifier",
		Long: "With pytorch-fid's FID Inception (--inception, default where pytorch-fid caches it:\n" +
			"~/.cache/torch/hub/checkpoints/" + eval.InceptionWeightsFile + "):\n" +
			"  gogan eval fid REAL FAKE                      two folders of images, or .npz statistics\n" +
			"  gogan eval fid --checkpoint RUN REAL          --samples images of a DCGAN against a set\n" +
			"  gogan eval fid --save-stats OUT.npz DIR       a set's statistics (or --checkpoint's samples)\n" +
			"Images are read as PIL's convert('RGB') and ToTensor, resized to 299x299 in the network, and the\n" +
			"features are --dims of pytorch-fid's blocks; the statistics files are pytorch-fid's (--save-stats),\n" +
			"both ways. The FIDs are pytorch-fid's: comparable with published ones with its weights.\n\n" +
			"With --classifier (gogan eval classifier): generates --samples images from a DCGAN checkpoint (or\n" +
			"reads them from --samples-file, or takes Fashion-MNIST training images with --real-train), runs\n" +
			"them and the 10000 Fashion-MNIST test images through the classifier, fits a Gaussian to each set\n" +
			"of 128 features and prints the Fréchet distance between them. Images are quantised to 8 bits first.",
		Args: cobra.ArbitraryArgs, // eval.InceptionFID says what a count of sets lacks
		RunE: func(cmd *cobra.Command, args []string) error {
			f := cmd.Flags()
			if err := atLeast(cmd, 1, "samples", "batch-size"); err != nil { // 0 would take the default
				return err
			}
			if err := atLeast(cmd, 0, "threads"); err != nil {
				return err
			}
			if o.Classifier != "" {
				for _, n := range []string{"inception", "dims", "batch-size", "save-stats"} {
					if f.Changed(n) {
						return fmt.Errorf("eval fid: --%s is for the Inception FID, not --classifier's", n)
					}
				}
				if len(args) > 0 {
					return fmt.Errorf("eval fid: --classifier compares with the Fashion-MNIST test set: no PATH arguments (they are for the Inception FID)")
				}
				res, err := eval.FID(context.Background(), o)
				if err != nil {
					return err
				}
				fmt.Println(res)
				return nil
			}
			for _, n := range []string{"samples-file", "real-train", "data-root"} {
				if f.Changed(n) {
					return fmt.Errorf("eval fid: --%s is for the Fashion-MNIST classifier's FID: give --classifier", n)
				}
			}
			inc.Paths, inc.Checkpoint, inc.Sampling, inc.Device, inc.Threads = args, o.Checkpoint, o.Sampling, o.Device, o.Threads
			inc.Progress = os.Stderr
			res, err := eval.InceptionFID(inc)
			if err != nil {
				return err
			}
			for _, w := range res.Warnings {
				fmt.Fprintln(os.Stderr, "warning:", w)
			}
			fmt.Println(res)
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&inc.Weights, "inception", "", "pytorch-fid's FID Inception weights, "+eval.InceptionWeightsFile+" (default: in torch.hub's cache, where pytorch-fid downloads it)")
	f.IntVar(&inc.Dims, "dims", 2048, "Inception features: 64, 192, 768 or 2048 (pytorch-fid's --dims)")
	f.IntVar(&inc.BatchSize, "batch-size", 50, "images per Inception batch (pytorch-fid's --batch-size)")
	f.StringVar(&inc.SaveStats, "save-stats", "", "write the statistics (mu, sigma) of the one set to this .npz, as pytorch-fid's --save-stats")
	f.StringVar(&o.Classifier, "classifier", "", "FID on the Fashion-MNIST classifier (gogan eval classifier --out FILE) instead of the Inception")
	f.StringVar(&o.Checkpoint, "checkpoint", "", "a DCGAN checkpoint folder, or a run folder (its newest valid checkpoint): its samples are one set")
	f.StringVar(&o.SamplesFile, "samples-file", "", "--classifier: safetensors with images made elsewhere: \"images\" [N 1 32 32], float32 in [-1, 1] or uint8")
	f.BoolVar(&o.RealTrain, "real-train", false, "--classifier: use the first --samples Fashion-MNIST training images (the real-vs-real floor)")
	f.IntVar(&o.Samples, "samples", 10000, "images drawn from --checkpoint")
	f.Int64Var(&o.Seed, "seed", 1, "noise seed")
	f.StringVar(&o.GMode, "g-mode", "eval", "generator mode: eval (running statistics, as gogan sample) or train (batch statistics over batches of 64)")
	flagValues(c, "g-mode", "eval", "train")
	flagValues(c, "dims", "64", "192", "768", "2048")
	f.StringVar(&o.Root, "data-root", "", "--classifier: Fashion-MNIST IDX folder (default /usr/share/datasets/fashion-mnist)")
	deviceFlag(c, &o.Device)
	threadsFlag(c, &o.Threads)
	return c
}

func evalPix2PixCmd() *cobra.Command {
	var o eval.Pix2PixEvalOptions
	c := &cobra.Command{
		Use:   "pix2pix",
		Short: "L1, PSNR and SSIM of a pix2pix or pix2pixHD generator, or a CycleGAN's two, on held-out pairs",
		Long: "Runs the checkpoint's generator on the pairs of --phase (default test; --skip and --limit pick a\n" +
			"range, e.g. the held-out tail of a train split) resized to the crop size without flips, and prints\n" +
			"mean L1 on [-1, 1], PSNR and SSIM (11x11 Gaussian window, sigma 1.5) on 8-bit images, with G in\n" +
			"train mode (the reference test.py's default: batch statistics, dropout on, one pair at a time)\n" +
			"and in eval mode (test.py --eval). A colorization generator is scored on colour photos: L1 on its\n" +
			"ab, PSNR and SSIM on the RGB of each photo's L with that ab against the photo. A CycleGAN trained\n" +
			"on an A|B folder is scored both ways by default, one block each: G_A on each pair's A side against\n" +
			"its B side (--direction AtoB), G_B on the B side against the A side (BtoA). A pix2pixHD generator\n" +
			"of label maps is scored on {phase}_label/ (with {phase}_inst/) against {phase}_img/, its features\n" +
			"(model.instance_feat, label_feat) encoded from each pair's photo.",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := atLeast(cmd, 0, "threads"); err != nil {
				return err
			}
			// A signal stops between batches, so that a results folder
			// under way is removed rather than left half written.
			sd := trainer.NotifyShutdown(context.Background())
			defer sd.Stop()
			quitting := "at once"
			if o.Out != "" {
				quitting += ": a hidden temp folder of results may stay beside " + o.Out + ", which the next eval pix2pix --out of it removes"
			}
			sd.SteppingThrough("stopping before the next pairs; nothing is written", quitting)
			res, err := eval.EvalPix2Pix(sd.Context(), o)
			if errors.Is(err, context.Canceled) && sd.Signal() != nil { // the stop, not an error that came meanwhile
				fmt.Fprintf(os.Stderr, "gogan: eval pix2pix: stopped by %s; nothing was written\n", trainer.SignalName(sd.Signal()))
				os.Exit(sd.ExitCode())
			}
			if err != nil {
				return err
			}
			fmt.Print(res)
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&o.Checkpoint, "checkpoint", "", "a pix2pix, pix2pixHD or CycleGAN checkpoint folder, or a run folder (its newest valid checkpoint)")
	f.StringVar(&o.Direction, "direction", "both", "CycleGAN: AtoB (G_A on the A side of each pair), BtoA (G_B on the B side) or both")
	f.StringVar(&o.Root, "data-root", "", "dataset folder (default: the checkpoint's data.root)")
	f.StringVar(&o.Phase, "phase", "test", "split: train, val or test (Fashion-MNIST: test reads the t10k files)")
	flagValues(c, "phase", "train", "val", "test")
	flagValues(c, "direction", "AtoB", "BtoA", "both")
	f.IntVar(&o.Skip, "skip", 0, "start at this pair")
	f.IntVar(&o.Limit, "limit", 0, "evaluate at most this many pairs (0: all)")
	f.StringVar(&o.Mode, "mode", "both", "generator mode: train (test.py's default), eval (test.py --eval) or both")
	flagValues(c, "mode", "train", "eval", "both")
	f.Int64Var(&o.Seed, "seed", 1, "dropout seed (train mode)")
	deviceFlag(c, &o.Device)
	threadsFlag(c, &o.Threads)
	f.StringVar(&o.Out, "out", "", "also write a results folder (a new one): each pair's input, outputs and target under images/ (test.py's names; a CycleGAN's real_A, fake_B, rec_A, real_B, fake_A, rec_B; pix2pixHD's input_label, synthesized_image, real_image), and index.html showing them with each output's scores")
	c.MarkFlagRequired("checkpoint")
	folderFlag(c, "out")
	return c
}

func evalClassesCmd() *cobra.Command {
	var o eval.ClassesOptions
	c := &cobra.Command{
		Use:   "classes",
		Short: "How often a CycleGAN between Fashion-MNIST classes lands in the target class, and its FID to it, both ways",
		Long: "Translates every test image of the source classes with the checkpoint's generator in eval mode:\n" +
			"G_A takes data.classes_A to classes_B (--direction AtoB), G_B classes_B to classes_A (BtoA); by\n" +
			"default both, one table each. Each table gives the fraction the classifier of gogan eval\n" +
			"classifier puts in the target classes and the FID of the translations' features to the target\n" +
			"classes' test images; beside them the untranslated source images (where G starts from) and the\n" +
			"target classes' training images (the real-vs-real floor). Every set of real images goes through\n" +
			"the run's own data pipeline (data.preprocess, bicubic, no flips), as G took and imitated them.",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := atLeast(cmd, 0, "threads"); err != nil {
				return err
			}
			res, err := eval.Classes(context.Background(), o)
			if err != nil {
				return err
			}
			for i, r := range res {
				if i > 0 {
					fmt.Println()
				}
				fmt.Print(r)
			}
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&o.Classifier, "classifier", "", "the classifier (gogan eval classifier --out FILE)")
	f.StringVar(&o.Checkpoint, "checkpoint", "", "a CycleGAN checkpoint trained on data.classes_A/classes_B, or its run folder")
	f.StringVar(&o.Direction, "direction", "both", "AtoB (G_A: classes_A to classes_B), BtoA (G_B: classes_B to classes_A) or both")
	flagValues(c, "direction", "AtoB", "BtoA", "both")
	f.StringVar(&o.Root, "data-root", "", "Fashion-MNIST IDX folder (default: the checkpoint's data.root)")
	deviceFlag(c, &o.Device)
	threadsFlag(c, &o.Threads)
	// --classifier is checked by eval.Classes, which says how to make one.
	c.MarkFlagRequired("checkpoint")
	return c
}

// outFile refuses an --out that is a folder or does not end in ext (the
// format it is written in), so that no file of another kind is written
// over.
func outFile(out, ext, what string) error {
	if !strings.EqualFold(filepath.Ext(out), ext) {
		return fmt.Errorf("--out %s: gogan writes the %s as a %s file; give a file name ending in %s", out, what, strings.TrimPrefix(ext, "."), ext)
	}
	if fi, err := os.Stat(out); err == nil && fi.IsDir() {
		return fmt.Errorf("--out %s is a folder; give the %s's file name (e.g. %s)", out, what, filepath.Join(out, what+ext))
	}
	return nil
}

// atLeast refuses an int flag given below lo, naming it: the options'
// zero values mean "the default", which a typed 0 must not quietly get.
func atLeast(cmd *cobra.Command, lo int, names ...string) error {
	for _, n := range names {
		if f := cmd.Flags().Lookup(n); f != nil && f.Changed {
			if v, err := cmd.Flags().GetInt(n); err == nil && v < lo {
				return fmt.Errorf("--%s %d: want at least %d", n, v, lo)
			}
		}
	}
	return nil
}
