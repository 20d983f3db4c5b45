package main

import (
	"os"
	"regexp"
	"strings"
	"testing"
	"unicode"

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

// TestREADMELinksResolve: each link of the README's contents to one of its
// sections names a heading there (GitHub's anchor: lower case, spaces as
// hyphens, other punctuation dropped), so that a renamed section does not
// leave a dead link.
func TestREADMELinksResolve(t *testing.T) {
	b, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	anchors := map[string]bool{}
	inCode := false
	for line := range strings.SplitSeq(string(b), "\n") {
		if strings.HasPrefix(line, "```") {
			inCode = !inCode
		}
		if inCode || !strings.HasPrefix(line, "#") {
			continue
		}
		title := strings.ToLower(strings.TrimSpace(strings.TrimLeft(line, "#")))
		anchors[strings.Map(func(r rune) rune {
			switch {
			case r == ' ' || r == '-':
				return '-'
			case unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_':
				return r
			}
			return -1
		}, title)] = true
	}
	links := regexp.MustCompile(`\]\(#([^)]*)\)`).FindAllStringSubmatch(string(b), -1)
	if len(links) == 0 {
		t.Fatal("README.md links to none of its sections: its contents list is gone")
	}
	for _, m := range links {
		if !anchors[m[1]] {
			t.Errorf("README.md links to #%s, which no heading of it has", m[1])
		}
	}
}
