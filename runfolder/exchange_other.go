//go:build !linux

package runfolder

import "errors"

// exchange is not offered here: the caller moves the old folder aside
// instead.
func exchange(a, b string) error { return errors.ErrUnsupported }
