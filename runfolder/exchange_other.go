//go:build !linux

package runfolder

import "errors"

// renameExchange is not offered here: the caller moves the old folder aside
// instead.
func renameExchange(a, b string) error { return errors.ErrUnsupported }
