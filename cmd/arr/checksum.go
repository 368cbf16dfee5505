package main

import (
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"strings"
)

var checksumCmd = &command{
	name: "checksum",
	args: "FILE...",
	summary: `print the SHA-256 of each array's canonical bytes, as sha256sum prints file hashes
The canonical bytes are the elements in C (row-major) order, every multi-byte
value little-endian, strings as stored, records field by field with zeroed
padding: NumPy's np.ascontiguousarray(a.astype(a.dtype.newbyteorder('<'))).tobytes().
A Fortran-order or big-endian file has the same checksum as its C-order
little-endian twin. Mapped files are hashed in place with little memory.`,
	setup: func(fs *flag.FlagSet, e *env) func([]string) int {
		fs.IntVar(&e.threads, "threads", 0, "frames of .npy.zst files decompressed at once (`N`, default: all cores)")
		return func(args []string) int {
			if len(args) == 0 {
				return e.usageError("no FILE given")
			}
			status := exitOK
			for _, name := range args {
				if err := e.checksum(name); err != nil {
					e.fail(name, err)
					status = exitError
				}
			}
			return status
		}
	},
}

func (e *env) checksum(name string) error {
	hs, err := openArrays(name, openOptions{threads: e.threads})
	if err != nil {
		return err
	}
	defer closeAll(hs)
	for _, a := range hs {
		sum, err := canonicalSHA256(a)
		if err != nil {
			return err
		}
		fmt.Fprintln(e.stdout, sumLine(sum, a.label))
	}
	return closeAll(hs)
}

// canonicalSHA256 hashes the canonical bytes of an array.
func canonicalSHA256(a *arrayHandle) ([]byte, error) {
	hash := sha256.New()
	if err := a.canonical(hash); err != nil {
		return nil, err
	}
	return hash.Sum(nil), nil
}

// sumLine formats a line as sha256sum does, escaping names that hold a
// newline, a carriage return or a backslash.
func sumLine(sum []byte, label string) string {
	if strings.ContainsAny(label, "\n\r\\") {
		r := strings.NewReplacer(`\`, `\\`, "\n", `\n`, "\r", `\r`)
		return `\` + hex.EncodeToString(sum) + "  " + r.Replace(label)
	}
	return hex.EncodeToString(sum) + "  " + label
}
