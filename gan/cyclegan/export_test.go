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
	os.MkdirAll(filepath.Join(root, "trainA"), 0o755)
	if notes := def.Export(c, gan.ExportOptions{Dir: t.TempDir()}).Notes; len(notes) != 0 {
		t.Errorf("a trainA/trainB root: notes %q, want none", notes)
	}
}
