package main

import (
	"flag"
	"fmt"

	"github.com/arrfile/arrfile/codec/npz"
	"github.com/arrfile/arrfile/remote"
)

var verifyCmd = &command{
	name: "verify",
	args: "[--threads N] FILE...",
	summary: `check each file completely: structure, size and every checksum, reading all data
For .npy: a valid header, exactly the data the shape needs (no missing or
trailing bytes) and every data byte readable. For .npy.zst: the seek table,
every frame decompressed with its checksums (the seek table's XXH64 and
zstd's own), sizes consistent with the .npy header. For .npz: the zip
structure and every member's size, CRC-32 and .npy header
(ARCHIVE.npz:KEY checks one member). Prints "FILE: OK" for
each good file; a damaged one gets an error line naming the damage and exit
status 1.`,
	setup: func(fs *flag.FlagSet, e *env) func([]string) int {
		fs.IntVar(&e.threads, "threads", 0, "frames decompressed at once (`N`, default: all cores)")
		return func(args []string) int {
			if len(args) == 0 {
				return e.usageError("no FILE given")
			}
			status := exitOK
			for _, name := range args {
				if err := e.verify(name); err != nil {
					e.fail(name, err)
					status = exitError
				}
			}
			return status
		}
	},
}

func (e *env) verify(name string) error {
	if remote.IsURL(name) {
		if done, err := e.verifyRemoteArchive(name); done {
			return err
		}
	}
	if _, _, member := splitMember(name); !member && name != "-" {
		if kind, err := sniff(name); err == nil && kind == kindZip {
			// The whole archive: its zip structure and every member.
			z, err := npz.OpenReader(name)
			if err != nil {
				return err
			}
			defer z.Close()
			if err := z.Verify(); err != nil {
				return err
			}
			fmt.Fprintf(e.stdout, "%s: OK\n", name)
			return nil
		}
	}
	hs, err := openArrays(name, openOptions{threads: e.threads, strict: true})
	if err != nil {
		return err
	}
	defer closeAll(hs)
	for _, a := range hs {
		if err := a.verify(); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "%s: OK\n", a.label)
	}
	return closeAll(hs)
}
