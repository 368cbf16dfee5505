//go:build !linux && !darwin && !dragonfly && !freebsd && !netbsd && !openbsd

package atomicfile

// closeBeforeRename is true: Windows can neither rename nor remove an open
// file.
const closeBeforeRename = true

// syncDir does nothing: folders cannot be synced here.
func syncDir(dir string) error { return nil }
