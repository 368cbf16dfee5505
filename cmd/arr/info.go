package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/arrfile/arrfile/codec/npz"
	"github.com/arrfile/arrfile/internal/descr"
)

var infoCmd = &command{
	name: "info",
	args: "[--json] FILE...",
	summary: `show each array's format, version, dtype, shape, memory order, data offset and size
(reads only the header; the file must be long enough for the shape)`,
	setup: func(fs *flag.FlagSet, e *env) func([]string) int {
		asJSON := fs.Bool("json", false, "print one JSON object per array (a JSON array for several)")
		return func(args []string) int {
			if len(args) == 0 {
				return e.usageError("no FILE given")
			}
			return e.info(args, *asJSON)
		}
	},
}

// infoJSON is the --json form of one array's description.
type infoJSON struct {
	File         string `json:"file"`
	Format       string `json:"format"`
	Version      string `json:"version"`
	DType        any    `json:"dtype"`
	Shape        []int  `json:"shape"`
	FortranOrder bool   `json:"fortran_order"`
	DataOffset   int64  `json:"data_offset"`
	NBytes       int64  `json:"nbytes"`
	ItemSize     int    `json:"itemsize"`
	FileSize     *int64 `json:"file_size,omitempty"`
	Trailing     int64  `json:"trailing_bytes"`
	// .npy.zst and .npz members
	CompressedSize *int64 `json:"compressed_size,omitempty"`
	// .npy.zst only
	Frames   *int  `json:"frames,omitempty"`
	Seekable *bool `json:"seekable,omitempty"`
	// .npz members only
	Archive     string `json:"archive,omitempty"`
	Member      string `json:"member,omitempty"`
	Compression string `json:"compression,omitempty"`
}

func (e *env) info(files []string, asJSON bool) int {
	status := exitOK
	var objs []infoJSON
	first := true
	for _, name := range files {
		hs, err := openHeader(name)
		if err != nil {
			e.fail(name, err)
			status = exitError
			continue
		}
		for _, a := range hs {
			h := a.header
			if asJSON {
				o := infoJSON{
					File: a.label, Format: a.format, Version: h.Version.String(),
					DType: descr.JSON(h.DType), Shape: append([]int{}, h.Shape...),
					FortranOrder: h.FortranOrder, DataOffset: h.DataOffset,
					NBytes: h.DataSize(), ItemSize: h.DType.Size, Trailing: a.trailing,
				}
				if a.fileSize >= 0 && a.member == nil {
					o.FileSize = &a.fileSize
				}
				if m := a.member; m != nil {
					o.Archive, o.Member, o.Compression = strings.TrimSuffix(a.label, ":"+m.Key), m.Name, compression(m)
					o.CompressedSize = &m.CompressedSize
				}
				if z := a.zst; z != nil {
					o.CompressedSize, o.Seekable = &z.compressedSize, &z.seekable
					if z.seekable {
						o.Frames = &z.frames
					}
				}
				objs = append(objs, o)
				continue
			}
			if !first {
				fmt.Fprintln(e.stdout)
			}
			first = false
			writeInfo(e.stdout, a)
		}
		if err := closeAll(hs); err != nil {
			e.fail(name, err)
			status = exitError
		}
	}
	if asJSON {
		var v any
		switch {
		case len(objs) == 1 && len(files) == 1:
			v = objs[0]
		case len(objs) > 0 || len(files) > 1:
			if objs == nil {
				objs = []infoJSON{}
			}
			v = objs
		}
		if v != nil {
			if err := writeJSON(e.stdout, v); err != nil {
				e.fail("", err)
				return exitError
			}
		}
	}
	return status
}

func writeInfo(w io.Writer, a *arrayHandle) {
	h := a.header
	order := "C"
	if h.FortranOrder {
		order = "Fortran"
	}
	fmt.Fprintf(w, "%s:\n", a.label)
	if z := a.zst; z != nil {
		access := fmt.Sprintf("%d frames, seekable", z.frames)
		if !z.seekable {
			access = "no seek table: sequential access only"
		}
		fmt.Fprintf(w, "  format:      npy.zst (npy %s), %s\n", h.Version, access)
		ratio := ""
		if z.compressedSize > 0 {
			ratio = fmt.Sprintf(", ratio %.2f", float64(h.DataOffset+h.DataSize())/float64(z.compressedSize))
		}
		fmt.Fprintf(w, "  compressed:  %d bytes%s%s\n", z.compressedSize, humanSuffix(z.compressedSize), ratio)
	} else if m := a.member; m != nil {
		fmt.Fprintf(w, "  format:      npz member %q (npy %s), %s\n", m.Name, h.Version, compression(m))
		fmt.Fprintf(w, "  compressed:  %d bytes%s\n", m.CompressedSize, humanSuffix(m.CompressedSize))
	} else {
		fmt.Fprintf(w, "  format:      %s %s\n", a.format, h.Version)
	}
	fmt.Fprintf(w, "  dtype:       %s\n", h.DType)
	fmt.Fprintf(w, "  shape:       %s\n", pyShape(h.Shape))
	fmt.Fprintf(w, "  order:       %s\n", order)
	fmt.Fprintf(w, "  data offset: %d\n", h.DataOffset)
	fmt.Fprintf(w, "  nbytes:      %d%s\n", h.DataSize(), humanSuffix(h.DataSize()))
	if a.trailing > 0 {
		fmt.Fprintf(w, "  trailing:    %d bytes after the data (ignored)\n", a.trailing)
	}
}

func compression(m *npz.Member) string {
	if m.Deflated {
		return "deflate"
	}
	return "stored"
}

// writeJSON writes v indented, without escaping '<' and '>' (which dtypes
// are full of).
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// pyShape writes a shape as Python prints a tuple: (), (3,), (3, 4).
func pyShape(shape []int) string {
	parts := make([]string, len(shape))
	for i, d := range shape {
		parts[i] = strconv.Itoa(d)
	}
	if len(parts) == 1 {
		return "(" + parts[0] + ",)"
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

// humanSize writes a byte count with binary units: 96 B, 1.5 KiB, 3.0 GiB.
func humanSize(n int64) string {
	if n < 1024 {
		return strconv.FormatInt(n, 10) + " B"
	}
	units := []string{"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}
	v := float64(n) / 1024
	i := 0
	for v >= 1024 && i < len(units)-1 {
		v /= 1024
		i++
	}
	return strconv.FormatFloat(v, 'f', 1, 64) + " " + units[i]
}

func humanSuffix(n int64) string {
	if n < 1024 {
		return ""
	}
	return " (" + humanSize(n) + ")"
}
