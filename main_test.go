package main

import (
	"testing"

	"github.com/spf13/cobra"
)

// TestComputingCommandsStartWithSpinBriefly: each name in computing is a
// command of gogan's (a renamed command would silently lose
// torch.SpinBriefly), and no command below the root sets a
// PersistentPreRun of its own: cobra runs only the nearest one, so it
// would replace the root's, and that command and its subcommands would
// run with libgomp's 300,000 spins again.
func TestComputingCommandsStartWithSpinBriefly(t *testing.T) {
	root := rootCmd()
	if root.PersistentPreRun == nil || cobra.EnableTraverseRunHooks {
		t.Fatal("the root command has no PersistentPreRun, or cobra runs every parent's hook")
	}
	top := map[string]bool{}
	for _, c := range root.Commands() {
		top[c.Name()] = true
	}
	for name := range computing {
		if !top[name] {
			t.Errorf("computing names %q, which is no command of gogan's", name)
		}
	}
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		for _, s := range c.Commands() {
			if s.PersistentPreRun != nil || s.PersistentPreRunE != nil {
				t.Errorf("%s has a PersistentPreRun of its own, which replaces the root's (torch.SpinBriefly): call the root's from it", s.CommandPath())
			}
			walk(s)
		}
	}
	walk(root)
}
