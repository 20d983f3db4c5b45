package data

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// TestLabelOfFollowsASkippedFile: with data.skip_invalid, an image that
// passed the header check but does not decode is replaced by the next
// readable one (on the device too, as ExportU8 reads it), and the label
// an index-only batch carries (LabelOf) is that image's, as the host
// batch's is: here class 2's first image stands in for class 1's last.
func TestLabelOfFollowsASkippedFile(t *testing.T) {
	root := t.TempDir()
	png := encode(t, "png", gradient(12, 12))
	for c := range 3 {
		for k := range 3 {
			p := filepath.Join(root, fmt.Sprintf("class%d", c), fmt.Sprintf("%d.png", k))
			os.MkdirAll(filepath.Dir(p), 0o755)
			b := png
			if c == 1 && k == 2 {
				b = png[:len(png)-20] // a header that reads, pixels that do not
			}
			if err := os.WriteFile(p, b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	cfg := DefaultConfig(Folder)
	cfg.Root, cfg.ImageSize, cfg.ImageFolder = root, 8, true
	cfg.SkipInvalid, cfg.Validate = true, "header"
	d, err := Open(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !d.ClassLabels() || d.Len() != 9 {
		t.Fatalf("class labels %v, %d samples: want 9 with labels", d.ClassLabels(), d.Len())
	}
	if _, err := d.ExportU8(context.Background()); err != nil {
		t.Fatal(err)
	}
	for i := range d.Len() {
		s, err := d.Sample(i, 1, 0)
		if err != nil {
			t.Fatal(err)
		}
		if got := d.LabelOf(i); got != s.Label {
			t.Errorf("sample %d: LabelOf %d, the label of the image read %d", i, got, s.Label)
		}
	}
}
