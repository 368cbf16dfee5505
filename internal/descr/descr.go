// Package descr writes a dtype as NumPy writes its descr in JSON
// (json.dumps(dtype.descr) for structured dtypes, dtype.str otherwise):
// the form of `arr info --json` and `arr ls --json`, and of the manifests
// the NumPy fixture scripts write, against which the tests compare. It is
// the one implementation of that form.
package descr

import "github.com/arrfile/arrfile/npy"

// JSON returns d in a form encoding/json writes as NumPy's descr: a
// string such as "<f8" for a simple dtype; for a structured dtype an array
// of [name, dtype] or [name, dtype, shape] arrays, where dtype is again a
// string or an array, and a titled field's name is [title, name].
func JSON(d *npy.DType) any {
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
		item := []any{name, JSON(f.Type)}
		if f.Shape != nil {
			item = append(item, append([]int{}, f.Shape...))
		}
		out = append(out, item)
	}
	return out
}
