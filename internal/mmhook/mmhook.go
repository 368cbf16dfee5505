// Package mmhook lets packages of this module reach unexported operations
// of package mmfile without adding to its exported API. mmfile sets the
// hooks in an init function; a package that imports mmfile may call them.
package mmhook

// Detach, given an *mmfile.Array, moves its mapping and its open file
// into a new *mmfile.Array, which it returns, and leaves the old one
// closed (every method reports fs.ErrClosed, as after Close) without
// unmapping anything. It fails (nil, false) if the Array is closed, pinned
// (Pin, or a guarded access under way), holds a Lock, or is an unpublished
// created array.
var Detach func(a any) (any, bool)
