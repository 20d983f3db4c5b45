package main

import (
	"context"
	"fmt"
	"runtime"

	"github.com/spf13/cobra"

	torch "gogan/cgo"
	"gogan/gan/pix2pixhd"
	"gogan/infer"
)

func featuresCmd() *cobra.Command {
	var o pix2pixhd.ClusterOptions
	var threads int
	c := &cobra.Command{
		Use:   "features",
		Short: "Cluster a pix2pixHD run's encoded features per class, for gogan translate --features",
		Long: "pix2pixHD's encode_features.py: the checkpoint's feature encoder E (model.instance_feat or\n" +
			"model.label_feat) encodes every photo of the split (as gogan eval pix2pix reads them, no flip); each\n" +
			"region (instance, or class region) larger than 1/64 of its image gives its class one feature\n" +
			"vector, and each class's vectors are clustered by k-means (--n-clusters). gogan translate\n" +
			"--features then gives each region of a label map a random cluster of its class.",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			if err := atLeast(cmd, 0, "threads", "limit"); err != nil {
				return err
			}
			if o.Out != "" {
				if err := outFile(o.Out, ".safetensors", "features"); err != nil {
					return err
				}
			}
			if err := torch.SetThreads(threads); err != nil {
				return err
			}
			s, err := pix2pixhd.ClusterFeatures(context.Background(), o, infer.LoadNet)
			if err != nil {
				return err
			}
			fmt.Printf("encoded %d images of %s: %d regions, %d large enough, %d clusters over %d classes\nfeatures:   %s\n",
				s.Images, s.Checkpoint, s.Regions, s.Kept, s.Clustered, s.Classes, s.Out)
			return nil
		},
	}
	f := c.Flags()
	f.StringVar(&o.Checkpoint, "checkpoint", "", "a pix2pixhd checkpoint folder, or a run folder (its newest valid checkpoint)")
	f.StringVar(&o.DataRoot, "data-root", "", "dataset folder (default: the checkpoint's data.root)")
	f.StringVar(&o.Phase, "phase", "", "split (default: the checkpoint's data.phase, train)")
	f.IntVar(&o.NClusters, "n-clusters", 10, "clusters per class (the reference's --n_clusters)")
	f.IntVar(&o.Limit, "limit", 0, "encode at most this many images (0: all)")
	f.Uint64Var(&o.Seed, "seed", 0, "seed of k-means' starts")
	f.StringVar(&o.Out, "out", "", "output file (default: RUN/features_clustered_<n>.safetensors)")
	deviceFlag(c, &o.Device)
	f.BoolVar(&o.Eval, "eval", false, "E in eval mode (BatchNorm running stats); default train mode, as encode_features.py")
	threadsFlag(c, &threads)
	c.MarkFlagRequired("checkpoint")
	return c
}
