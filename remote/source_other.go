//go:build !(linux || darwin)

package remote

import "os"

// setSource does nothing where extended attributes are not used: Fetch
// then always downloads.
func setSource(*os.File, string) {}

func getSource(string) string { return "" }
