package main

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"gogan/trainer"
)

func exportCmd() *cobra.Command {
	var o trainer.ExportOptions
	c := &cobra.Command{
		Use:   "export",
		Short: "Write a checkpoint's networks as .pth files named and laid out as the recipe's reference saves them",
		Long: "The other direction of gogan import: each network's state_dict in torch.save's format (torch.load reads\n" +
			"it, weights_only too) under the reference's own file name: pytorch/examples dcgan's netG_epoch_N.pth\n" +
			"and netD_epoch_N.pth; pytorch-CycleGAN-and-pix2pix's latest_net_G.pth, latest_net_D.pth (CycleGAN:\n" +
			"G_A, G_B, D_A, D_B); pix2pixHD's latest_net_G.pth, latest_net_D.pth, latest_net_E.pth; beside them the\n" +
			"options file the reference's train.py writes there (train_opt.txt; pix2pixHD's opt.txt and iter.txt),\n" +
			"which gogan import --from DIR reads back. It prints the\n" +
			"reference's command lines that build the same networks and load them (test.py, train.py\n" +
			"--continue_train, main.py --netG): --out is their --checkpoints_dir/--name. The references save no\n" +
			"optimizer state, so training continued there starts Adam afresh.",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			// SIGINT or SIGTERM removes the unfinished files (without a
			// handler the process died with a partial temp file in --out);
			// a second one quits at once.
			sd := trainer.NotifyShutdown(context.Background())
			defer sd.Stop()
			sd.SteppingThrough("removing the unfinished files (an export whose files are all written finishes)",
				"at once: unfinished hidden .tmp- files may stay in "+o.Out)
			o.Stop = sd.Context().Done()
			r, err := trainer.Export(o)
			if errors.Is(err, trainer.ErrExportStopped) {
				fmt.Fprintf(os.Stderr, "gogan: export: stopped by %s; nothing was written in %s\n", trainer.SignalName(sd.Signal()), o.Out)
				os.Exit(sd.ExitCode())
			}
			if err != nil {
				return err
			}
			fmt.Printf("exported step %d of %s (recipe %s) as %s saves it:\n", r.Step, r.Checkpoint, r.Recipe, r.Reference)
			for i, f := range r.Files {
				fmt.Printf("  %s  %s, %d parameters\n", r.Paths[i], f.Role, r.Params[i])
			}
			for i, t := range r.Texts {
				kept := ""
				if r.TextKept[i] {
					kept = " (kept: the folder held it already)"
				}
				fmt.Printf("  %s  %s%s\n", r.TextPaths[i], t.What, kept)
			}
			fmt.Printf("in %s's folder:\n", r.Reference)
			for _, c := range r.Commands {
				fmt.Println("  " + c)
			}
			for _, n := range r.Notes {
				fmt.Println("note:", n)
			}
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&o.Checkpoint, "checkpoint", "", "a checkpoint folder, or a run folder (its newest valid checkpoint)")
	f.StringVar(&o.Out, "out", "", "folder for the files (created): the reference's checkpoints_dir/name")
	f.StringVar(&o.Label, "label", "", "epoch label in the file names (default: latest; DCGAN: the epoch the weights were trained in)")
	f.BoolVar(&o.Force, "force", false, "replace files of the same names in --out")
	c.MarkFlagRequired("checkpoint")
	c.MarkFlagRequired("out")
	folderFlag(c, "out")
	return c
}
