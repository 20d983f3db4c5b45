package eval

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"gogan/gan/gantest"
)

// TestFIDOfAClassConditionalGenerator: eval fid --checkpoint of a
// class-conditional generator draws image i of class i mod its classes, as
// many of each, across its batches of 64 (130 images: the third is a
// partial one), and says so in the result's source.
func TestFIDOfAClassConditionalGenerator(t *testing.T) {
	dir := t.TempDir()
	clf := untrainedClassifier(t, dir)
	ck := evalCheckpoint(t, "recipe=condprobe", "model.ngf=8", "model.ndf=8", "data.image_size=32", "data.channels=1")
	gantest.Seen()
	r, err := FID(context.Background(), FIDOptions{Classifier: clf, Checkpoint: ck, Sampling: Sampling{Samples: 130}, Device: "cpu", Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	seen := gantest.Seen()
	if len(seen) != 130 {
		t.Fatalf("the generator was given %d classes for 130 images", len(seen))
	}
	for i, c := range seen {
		if int(c) != i%gantest.Classes {
			t.Fatalf("image %d drawn of class %v, want %d (classes %v)", i, c, i%gantest.Classes, seen)
		}
	}
	if r.Generated != 130 || !(r.FID > 0) || !strings.Contains(r.Source, filepath.Base(ck)) || !strings.HasSuffix(r.Source, "(G in eval mode, classes 0 to 9 in turn)") {
		t.Errorf("FID of a class-conditional generator: %+v", r)
	}
}
