package npy_test

import (
	"bytes"
	"os"

	"github.com/arrfile/arrfile/npy"
)

// writeFile writes data as an .npy file through npy.Write (the atomic
// temp-and-rename write of a file by path is mmfile.Write).
func writeFile[T npy.Elem](name string, data []T, shape ...int) error {
	f, err := os.Create(name)
	if err != nil {
		return err
	}
	if err := npy.Write(f, data, shape...); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// canonical returns the canonical bytes of an array (npy.WriteCanonical).
func canonical(h *npy.Header, data []byte) ([]byte, error) {
	var b bytes.Buffer
	err := npy.WriteCanonical(&b, h, data)
	return b.Bytes(), err
}

// descrJSON returns the dtype as the fixture manifests write NumPy's
// descr in JSON: a string such as "<f8" for simple dtypes, and for
// structured dtypes an array of [name, dtype] or [name, dtype, shape]
// arrays ([[title, name], ...] for titled fields).
func descrJSON(d *npy.DType) any {
	if !d.Structured() {
		return d.String()
	}
	out := make([]any, 0, len(d.Fields))
	for i := range d.Fields {
		f := &d.Fields[i]
		var name any = f.Name
		if f.Title != "" {
			name = []any{f.Title, f.Name}
		}
		item := []any{name, descrJSON(f.Type)}
		if f.Shape != nil {
			item = append(item, append([]int{}, f.Shape...))
		}
		out = append(out, item)
	}
	return out
}
