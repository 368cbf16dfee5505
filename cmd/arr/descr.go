package main

import "github.com/arrfile/arrfile/npy"

// descrJSON returns the dtype in a form encoding/json writes as NumPy's
// descr: a string such as "<f8" for simple dtypes, and for structured
// dtypes an array of [name, dtype] or [name, dtype, shape] arrays, where
// dtype is again a string or an array. Titled fields use [[title, name], ...].
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
