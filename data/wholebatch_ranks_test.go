package data

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// TestOlderRanksWholeBatchesResume: a data-parallel pix2pixHD checkpoint of
// a gogan before whole global batches cut the dataset to whole batches of
// data.batch_size per rank (2 ranks of 2 over 11 pairs: 10 samples); the
// same job now trains on whole global batches of 4 (8 samples). The resume
// goes on, with the warning, as one over all samples (fromAll) does.
func TestOlderRanksWholeBatchesResume(t *testing.T) {
	src := facadesDir(t)
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "train"), 0o755)
	for i := 1; i <= 11; i++ {
		name := fmt.Sprintf("%d.jpg", i)
		os.Symlink(filepath.Join(src, name), filepath.Join(root, "train", name))
	}
	cfg := DefaultConfig(Aligned)
	cfg.Root, cfg.BatchSize, cfg.WholeBatches, cfg.Ranks = root, 2, true, 2
	d, err := Open(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if d.Len() != 8 {
		t.Fatalf("11 pairs in global batches of 4: %d samples, want 8", d.Len())
	}
	o := d.Config().LoaderOptions(1)
	o.World = 2
	l, err := NewLoader(d, o)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	// saved at the end of epoch 1: its 3rd batch of 5 samples a rank
	if err := l.Restore(LoaderState{Epoch: 1, Batch: 3, Samples: 10, BatchSize: 2, World: 2, Shuffle: true}); err != nil {
		t.Errorf("a checkpoint of an older gogan over whole batches of 2 per rank (10 samples): %v", err)
	} else if st := l.State(); st.Epoch != 2 || st.Batch != 0 || st.Samples != 8 {
		t.Errorf("resumed at %+v, want the end of epoch 1 (epoch 2, batch 0) over 8 samples", st)
	}
	if err := l.Restore(LoaderState{Epoch: 1, Batch: 1, Samples: 7, BatchSize: 2, World: 2, Shuffle: true}); err == nil {
		t.Error("a checkpoint of 7 samples was taken")
	}
}
