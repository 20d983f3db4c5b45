package cyclegan_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gogan/config"
	"gogan/gan"
	_ "gogan/gan/all"
)

// TestExportNotesTheLayout: the reference's UnalignedDataset reads
// trainA/ and trainB/; a run that read an A|B folder (or A/ and B/) is
// told to lay its images out so, one that read trainA/ and trainB/ is not.
func TestExportNotesTheLayout(t *testing.T) {
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "train"), 0o755)
	c, err := config.LoadConfig("", []string{"recipe=cyclegan", "data.root=" + root})
	if err != nil {
		t.Fatal(err)
	}
	def, err := gan.For(c)
	if err != nil {
		t.Fatal(err)
	}
	notes := strings.Join(def.Export(c, gan.ExportOptions{Dir: t.TempDir()}).Notes, "\n")
	if !strings.Contains(notes, "reads --dataroot/trainA and trainB") || !strings.Contains(notes, root) {
		t.Errorf("an A|B root: notes %q, want one on trainA and trainB", notes)
	}
	// data.root not on this machine: no layout to speak of
	c.Data.Root = filepath.Join(root, "elsewhere")
	if notes := def.Export(c, gan.ExportOptions{Dir: t.TempDir()}).Notes; len(notes) != 0 {
		t.Errorf("a data.root not here: notes %q, want none", notes)
	}
	c.Data.Root = root
	for _, d := range []string{"trainA", "trainB", "testA", "testB"} {
		os.MkdirAll(filepath.Join(root, d), 0o755)
		os.WriteFile(filepath.Join(root, d, "0.png"), nil, 0o644) // (an empty testA/ is noted)
	}
	if notes := def.Export(c, gan.ExportOptions{Dir: t.TempDir()}).Notes; len(notes) != 0 {
		t.Errorf("a trainA/trainB root: notes %q, want none", notes)
	}
}

// TestExportNotesMissingTestDomains: the printed test.py runs the
// reference's cycle_gan model, whose UnalignedDataset reads
// --dataroot/testA and testB and stops where either is missing ("is not a
// valid directory"); a run of one's own trainA/ and trainB/ often has
// neither, or one. The note names the missing ones and the --phase that
// runs it on the training images, as pix2pix's export does for test/. An
// empty testA/ (made for later) fails there too, at its first index
// (index % 0): it gave no note.
func TestExportNotesMissingTestDomains(t *testing.T) {
	for _, c := range []struct {
		dirs  []string // folders made, each with an image; an "empty/" prefix: without
		want  []string // the missing folders; none: no note
		empty string   // what the note says of the empty ones
	}{
		{[]string{"trainA", "trainB"}, []string{"testA", "testB"}, ""},
		{[]string{"trainA", "trainB", "testA"}, []string{"testB"}, ""},
		{[]string{"trainA", "trainB", "testA", "testB"}, nil, ""},
		{[]string{"valA", "valB"}, []string{"testA", "testB"}, ""}, // data.phase val: test.py's --phase val
		{[]string{"trainA", "trainB", "empty/testA", "testB"}, nil, "testA holds no images:"},
		{[]string{"trainA", "trainB", "empty/testA"}, []string{"testB"}, "testA holds no images:"},
		{[]string{"trainA", "trainB", "empty/testA", "empty/testB"}, nil, "testA nor ROOT/testB holds images:"},
	} {
		root := t.TempDir()
		for _, d := range c.dirs {
			name, empty := strings.CutPrefix(d, "empty/")
			os.MkdirAll(filepath.Join(root, name), 0o755)
			if !empty {
				os.WriteFile(filepath.Join(root, name, "0.png"), nil, 0o644) // listed by its name
			}
		}
		phase := strings.TrimSuffix(c.dirs[0], "A")
		cfg, err := config.LoadConfig("", []string{"recipe=cyclegan", "data.root=" + root, "data.phase=" + phase})
		if err != nil {
			t.Fatal(err)
		}
		def, err := gan.For(cfg)
		if err != nil {
			t.Fatal(err)
		}
		notes := strings.Join(def.Export(cfg, gan.ExportOptions{Dir: t.TempDir()}).Notes, "\n")
		if c.want == nil && c.empty == "" {
			if strings.Contains(notes, "testA") {
				t.Errorf("%v: notes %q, want none on testA and testB", c.dirs, notes)
			}
			continue
		}
		wants := []string{"add --phase " + phase + " "}
		if c.want != nil {
			missing := make([]string, len(c.want))
			for i, d := range c.want {
				missing[i] = filepath.Join(root, d)
			}
			end := ":"
			if c.empty != "" {
				end = ", and " + root + "/"
			}
			wants = append(wants, "there is no "+strings.Join(missing, " nor ")+end)
		}
		if c.empty != "" {
			wants = append(wants, root+"/"+strings.ReplaceAll(c.empty, "ROOT", root))
		}
		for _, want := range wants {
			if !strings.Contains(notes, want) {
				t.Errorf("%v: notes %q, want one saying %q", c.dirs, notes, want)
			}
		}
	}
}
