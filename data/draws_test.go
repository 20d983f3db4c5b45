package data

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"gogan/cgo/torchtest"
)

// TestReferenceDrawsAreTheDataLoaders: ReferenceDraws, given the order and
// the base seed of an epoch of the reference's real torch DataLoader
// (scripts/train_reference.py in draws mode: pytorch-CycleGAN-and-pix2pix's
// AlignedDataset and UnalignedDataset in DataLoader worker processes),
// makes every item's draws as its worker made them: get_params' crop corner
// and flip for facades pairs (resize_and_crop, crop and
// scale_width_and_crop, the room for the crop taken from each image's size;
// batch 4 of 5 drawn by worker 0 of 4 going on with its stream); CycleGAN's
// random B and torchvision's RandomCrop (which draws over a range of one
// too, and nothing at all when the image is crop size) and
// RandomHorizontalFlip; and the draws of 2 epochs.
func TestReferenceDrawsAreTheDataLoaders(t *testing.T) {
	py := torchtest.Python(t)
	src := facadesDir(t)
	root := t.TempDir()
	link := func(dir string, names ...string) {
		os.MkdirAll(filepath.Join(root, dir), 0o755)
		for _, n := range names {
			if err := os.Symlink(filepath.Join(src, n), filepath.Join(root, dir, n)); err != nil {
				t.Fatal(err)
			}
		}
	}
	link("aligned/train", "1.jpg", "2.jpg", "3.jpg", "4.jpg", "5.jpg", "6.jpg", "7.jpg", "8.jpg", "9.jpg", "10.jpg")
	link("unaligned/trainA", "11.jpg", "12.jpg", "13.jpg", "14.jpg", "15.jpg", "16.jpg", "17.jpg")
	link("unaligned/trainB", "21.jpg", "22.jpg", "23.jpg", "24.jpg", "25.jpg")
	link("fewA/trainA", "31.jpg", "32.jpg", "33.jpg")
	link("fewA/trainB", "41.jpg", "42.jpg", "43.jpg", "44.jpg", "45.jpg", "46.jpg", "47.jpg", "48.jpg")
	type tc struct {
		model, preprocess          string
		load, crop, batch, workers int
		noFlip, serial             bool
		root                       string // unaligned: "fewA" for 3 A and 8 B images
	}
	cases := []tc{
		{"pix2pix", ResizeAndCrop, 143, 128, 2, 4, false, false, ""},
		{"pix2pix", Crop, 0, 200, 3, 2, false, false, ""},
		{"pix2pix", ScaleWidthAndCrop, 300, 256, 1, 3, false, false, ""},
		{"cycle_gan", ResizeAndCrop, 143, 128, 1, 4, false, false, ""},
		{"cycle_gan", Crop, 0, 256, 2, 2, false, false, ""}, // 512x256 files: a row range of 1
		{"cycle_gan", ResizeAndCrop, 128, 128, 1, 2, true, false, ""},
		{"cycle_gan", ResizeAndCrop, 143, 128, 2, 3, false, true, ""},
		{"cycle_gan", ResizeAndCrop, 143, 128, 3, 2, false, false, "fewA"},
	}
	for _, c := range cases {
		name := fmt.Sprintf("%s-%s-b%d-w%d", c.model, c.preprocess, c.batch, c.workers)
		if c.noFlip {
			name += "-noflip"
		}
		if c.serial {
			name += "-serial"
		}
		name += c.root
		t.Run(name, func(t *testing.T) {
			dataset, dir := Aligned, "aligned"
			if c.model == "cycle_gan" {
				dataset, dir = Unaligned, cmp.Or(c.root, "unaligned")
			}
			load := c.load
			if load == 0 {
				load = 286 // not read by crop
			}
			cs := map[string]any{"model": c.model, "mode": "draws", "dataroot": filepath.Join(root, dir), "seed": 3, "epochs": 2,
				"batch_size": c.batch, "num_threads": c.workers, "preprocess": c.preprocess, "load_size": load, "crop_size": c.crop,
				"no_flip": c.noFlip, "serial_batches": c.serial, "ngf": 8, "ndf": 8, "netG": "unet_128"}
			if c.model == "cycle_gan" {
				cs["netG"] = "resnet_6blocks"
			}
			casePath := filepath.Join(t.TempDir(), "case.json")
			b, _ := json.Marshal(cs)
			os.WriteFile(casePath, b, 0o644)
			cmd := exec.Command(py, "scripts/train_reference.py", casePath)
			cmd.Dir = repoRoot(t)
			cmd.Env = append(os.Environ(), "OPENBLAS_NUM_THREADS=1")
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("train_reference.py: %v", err)
			}
			cfg := DefaultConfig(dataset)
			cfg.Root, cfg.Preprocess, cfg.LoadSize, cfg.CropSize, cfg.BatchSize = filepath.Join(root, dir), c.preprocess, load, c.crop, c.batch
			cfg.NoFlip, cfg.SerialBatches = c.noFlip, c.serial
			d, err := Open(context.Background(), cfg, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			lines := strings.Split(strings.TrimSpace(string(out)), "\n")
			if len(lines) != 2 {
				t.Fatalf("want 2 epochs, got %d lines", len(lines))
			}
			for e, line := range lines {
				var ep struct {
					BaseSeed int64 `json:"base_seed"`
					Items    []struct {
						Index, X, Y int
						IndexB      int `json:"index_B"`
						Flip        bool
						A, B        []int
						AFlip       *bool `json:"A_flip"`
						BFlip       *bool `json:"B_flip"`
					} `json:"items"`
				}
				if err := json.Unmarshal([]byte(line), &ep); err != nil {
					t.Fatal(err)
				}
				if len(ep.Items) != d.Len() {
					t.Fatalf("epoch %d: %d items, the dataset has %d", e, len(ep.Items), d.Len())
				}
				order := make([]int, len(ep.Items))
				for k, it := range ep.Items {
					order[k] = it.Index
				}
				got, err := d.ReferenceDraws(order, c.batch, c.workers, ep.BaseSeed)
				if err != nil {
					t.Fatal(err)
				}
				for k, it := range ep.Items {
					g := got[k]
					var want Draws
					if c.model == "pix2pix" {
						want = Draws{B: -1, P: [2]Params{{RX: uint64(it.X), RY: uint64(it.Y), Flip: it.Flip}}}
						want.P[1] = want.P[0]
					} else {
						side := func(crop []int, flip *bool) Params {
							var p Params
							if crop != nil {
								p.RY, p.RX = uint64(crop[0]), uint64(crop[1])
							}
							p.Flip = flip != nil && *flip
							return p
						}
						want = Draws{B: it.IndexB, P: [2]Params{side(it.A, it.AFlip), side(it.B, it.BFlip)}}
					}
					if g != want {
						t.Errorf("epoch %d item %d (sample %d): gogan draws %+v, the DataLoader's %+v", e, k, it.Index, g, want)
					}
				}
			}
		})
	}
}

// TestNoReferenceDrawsForSingleImages: DCGAN's datasets, whose reference
// draws nothing per sample, keep their own draws (a flip asked of them is
// gogan's), also where opening read no image sizes (LSUN's large splits,
// trusted unread): no draws to make, no sizes needed. An aligned set
// without its sizes is an error, not a crash.
func TestNoReferenceDrawsForSingleImages(t *testing.T) {
	tf := Transform{Mode: ResizeCenterCrop, ImageSize: 64, Flip: true}
	lsun := &Dataset{cfg: Config{Dataset: LSUN}, n: 30000, tf: tf}
	if dr, err := lsun.ReferenceDraws([]int{5, 1, 2}, 64, 4, 123); dr != nil || err != nil {
		t.Errorf("lsun with flips: draws %v, error %v; want none", dr, err)
	}
	aligned := &Dataset{cfg: Config{Dataset: Aligned}, n: 3, root: "facades", tf: Transform{Mode: Crop, CropSize: 8, Flip: true}}
	if _, err := aligned.ReferenceDraws([]int{0, 1, 2}, 1, 2, 7); err == nil || !strings.Contains(err.Error(), "sizes") {
		t.Errorf("aligned without sizes: error %v, want one naming the sizes", err)
	}
}

// TestWholeBatches: pix2pixHD's dataset length, len // batchSize *
// batchSize: 9 pairs in batches of 2 are 8 samples, one pair and a batch
// of 2 an error naming data.batch_size; a checkpoint of a loader that went
// through all 9 (an older gogan's) resumes on the 8, another count does
// not.
func TestWholeBatches(t *testing.T) {
	src := facadesDir(t)
	open := func(n int, ranks ...int) (*Dataset, error) {
		root := t.TempDir()
		os.MkdirAll(filepath.Join(root, "train"), 0o755)
		for i := 1; i <= n; i++ {
			name := fmt.Sprintf("%d.jpg", i)
			os.Symlink(filepath.Join(src, name), filepath.Join(root, "train", name))
		}
		cfg := DefaultConfig(Aligned)
		cfg.Root, cfg.BatchSize, cfg.WholeBatches = root, 2, true
		if len(ranks) > 0 {
			cfg.Ranks = ranks[0]
		}
		return Open(context.Background(), cfg, nil)
	}
	d, err := open(9)
	if err != nil {
		t.Fatal(err)
	}
	if d.Len() != 8 {
		t.Fatalf("9 pairs in batches of 2: %d samples, want 8", d.Len())
	}
	l, err := NewLoader(d, d.Config().LoaderOptions(1))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if err := l.Restore(LoaderState{Epoch: 1, Batch: 4, Samples: 9, BatchSize: 2, Shuffle: true}); err != nil {
		t.Errorf("a checkpoint over all 9 samples: %v", err)
	} else if st := l.State(); st.Epoch != 2 || st.Batch != 0 || st.Samples != 8 {
		t.Errorf("resumed at %+v, want the end of epoch 1 (epoch 2, batch 0) over 8 samples", st)
	}
	if err := l.Restore(LoaderState{Epoch: 1, Batch: 1, Samples: 7, BatchSize: 2, Shuffle: true}); err == nil {
		t.Error("a checkpoint of 7 samples was taken")
	}
	if _, err := open(1); err == nil || !strings.Contains(err.Error(), "data.batch_size") {
		t.Errorf("one pair in batches of 2: %v, want an error naming data.batch_size", err)
	}
	if _, err := open(3, 2); err == nil || !strings.Contains(err.Error(), "data.batch_size: 2: times the 2 ranks (a global batch of 4) is larger than the dataset (3 samples)") {
		t.Errorf("3 pairs in global batches of 2x2: %v, want an error naming the global batch", err)
	}
}

// TestReferenceWorkersPastTheBatches: workers beyond an epoch's batches
// draw nothing, so any count from the batch count up draws the same, and a
// count no machine has (data.reference_workers=1<<50) is not allocated.
func TestReferenceWorkersPastTheBatches(t *testing.T) {
	d := &Dataset{cfg: Config{Dataset: Aligned}, n: 5, root: "pairs", tf: Transform{Mode: Crop, CropSize: 8, Flip: true},
		dims: [][2]int{{20, 16}, {16, 16}, {30, 12}, {9, 9}, {12, 40}}}
	order := []int{3, 0, 4, 1, 2}
	want, err := d.ReferenceDraws(order, 2, 3, 11) // 3 batches: one worker each
	if err != nil {
		t.Fatal(err)
	}
	for _, workers := range []int{4, 1000, 1 << 50} {
		got, err := d.ReferenceDraws(order, 2, workers, 11)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("%d workers: %v %v, want %v (3 workers)", workers, got, err, want)
		}
	}
}
