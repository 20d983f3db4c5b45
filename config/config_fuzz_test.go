package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gogan/config"
)

// FuzzLoadConfig feeds YAML files to the config loader: any bytes give a
// valid config that round-trips through its YAML, or an error that names
// the file or the config key at fault.
func FuzzLoadConfig(f *testing.F) {
	files, _ := filepath.Glob("../configs/*.yaml")
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	c, err := config.LoadConfigEnv("", []string{"recipe=pix2pix"}, nil)
	if err != nil {
		f.Fatal(err)
	}
	y, err := c.YAML()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(y)
	for _, s := range []string{
		"",
		"data:\n  batch_size: [1\n",
		"seed: 1\nseed: 2\n",
		"a: &a [x, x, x, x]\nb: &b [*a, *a, *a, *a]\nc: &c [*b, *b, *b, *b]\ndata: *c\n",
		"data: &d {root: *d}\n",
		strings.Repeat("[", 5000) + strings.Repeat("]", 5000),
		"? [data, root]\n: x\n1: 2\n",
		"data:\n  image_size: !!binary aGVsbG8=\n  root: 2001-12-14\n",
		"train:\n  lr: .inf\n  epochs: 1e3\n",
		"recipe: pix2pix\ndata:\n  crop_size: 300\n",
	} {
		f.Add([]byte(s))
	}
	path := filepath.Join(f.TempDir(), "fuzz.yaml")
	keys := config.SchemaKeys()
	f.Fuzz(func(t *testing.T, b []byte) {
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		c, err := config.LoadConfigEnv(path, nil, nil)
		if err != nil {
			msg := err.Error()
			named := strings.Contains(msg, path) || strings.Contains(msg, "recipe")
			for _, k := range keys {
				named = named || strings.Contains(msg, k)
			}
			if !named {
				t.Fatalf("error %q names neither the file nor a key", msg)
			}
			return
		}
		y, err := c.YAML()
		if err != nil {
			t.Fatalf("YAML of a loaded config: %v", err)
		}
		if err := os.WriteFile(path, y, 0o644); err != nil {
			t.Fatal(err)
		}
		back, err := config.LoadConfigEnv(path, nil, nil)
		if err != nil {
			t.Fatalf("the config's own YAML does not load: %v\n%s", err, y)
		}
		if y2, _ := back.YAML(); string(y2) != string(y) {
			t.Fatalf("YAML changes on a round trip:\n%s\nthen\n%s", y, y2)
		}
	})
}
