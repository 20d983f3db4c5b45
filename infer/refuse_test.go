package infer

import (
	"strings"
	"testing"

	"gogan/config"
	"gogan/gan"
	_ "gogan/gan/dcgan"
	"gogan/runfolder"
)

// A recipe whose generator neither draws from noise nor translates (its
// networks train for its sample grids alone) registers without Generate and
// Translate: gogan sample and translate refuse it without sending the user
// from one to the other.
func init() {
	d, err := gan.Lookup("dcgan")
	if err != nil {
		panic(err)
	}
	gan.Register(gan.Definition{Schema: config.RecipeSchema{Name: "gridonly", Doc: "a test recipe (infer/refuse_test.go)."},
		Data: d.Data, Nets: d.Nets, Inputs: d.Inputs, New: d.New})
}

func TestNeitherSampleNorTranslate(t *testing.T) {
	cfg, err := config.LoadConfig("", []string{"recipe=gridonly"})
	if err != nil {
		t.Fatal(err)
	}
	ck := runfolder.Checkpoint{Dir: "RUN/checkpoints/step-00000001"}
	for command, call := range map[string]func() error{
		"gogan sample":    func() error { _, err := Generation(ck, cfg, "gogan sample"); return err },
		"gogan translate": func() error { _, err := Translation(ck, cfg, "", "gogan translate"); return err },
	} {
		err := call()
		if err == nil || !strings.Contains(err.Error(), "nor does it") || strings.Contains(err.Error(), "; use gogan") {
			t.Errorf("%s of a recipe with neither: %v", command, err)
		}
	}
	cfg, err = config.LoadConfig("", []string{"recipe=dcgan"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Translation(ck, cfg, "", "gogan translate"); err == nil || !strings.HasSuffix(err.Error(), "; use gogan sample") {
		t.Errorf("gogan translate of a dcgan run: %v", err)
	}
}
