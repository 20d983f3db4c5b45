// Package all registers every recipe: import it for its side effect where
// recipes are chosen by name (the gogan command, tests). Adding a recipe is
// its package plus one line here.
package all

import (
	_ "gogan/gan/cyclegan"
	_ "gogan/gan/dcgan"
	_ "gogan/gan/pix2pix"
	_ "gogan/gan/pix2pixhd"
)
