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
