package trainer

import (
	"slices"
	"testing"

	"gogan/config"
	"gogan/runfolder"
)

// TestGivenNetChangesNamesOnlyKeysThatShape: a network that does not load
// on resume is answered with the --set keys that build it otherwise than
// the checkpoint; one equal to the saved value, or one that builds no
// layer (pix2pixHD's VGG19 weights file, moved), is not named.
func TestGivenNetChangesNamesOnlyKeysThatShape(t *testing.T) {
	saved, err := config.LoadConfig("", []string{"recipe=pix2pixhd", "model.ngf=8", "model.vgg_weights=/old/vgg19.pth"})
	if err != nil {
		t.Fatal(err)
	}
	yml, err := saved.YAML()
	if err != nil {
		t.Fatal(err)
	}
	st := &runfolder.CheckpointState{Config: string(yml)}
	now, err := config.LoadConfig("", []string{"recipe=pix2pixhd", "model.ngf=8", "model.vgg_weights=/new/vgg19.pth", "model.n_blocks_global=3"})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := givenNetChanges(now, st), []string{"model.n_blocks_global 3 (checkpoint: 9, from --set)"}; !slices.Equal(got, want) {
		t.Errorf("givenNetChanges = %q, want %q", got, want)
	}
}

// divisorsText names the numbers of ranks that can share a global batch a
// resume on another number cannot keep (15 on 2 ranks: 1, 3, 5 or 15).
func TestDivisorsText(t *testing.T) {
	for n, want := range map[int]string{15: "1, 3, 5, 15", 7: "1, 7", 720: "1, 2, 3, 4, 5, 6, 8, 9"} {
		if got := divisorsText(n); got != want {
			t.Errorf("divisorsText(%d) = %q, want %q", n, got, want)
		}
	}
}
