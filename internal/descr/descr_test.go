package descr_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/arrfile/arrfile/internal/descr"
	"github.com/arrfile/arrfile/npy"
)

func TestJSON(t *testing.T) {
	for _, tc := range []struct{ descr, want string }{
		{"<f8", `"<f8"`},
		{"|b1", `"|b1"`},
		{"[('a', '<i4'), ('b', '>f8', (2, 3))]", `[["a","<i4"],["b",">f8",[2,3]]]`},
		{"[(('T', 'x'), '<u2'), ('s', [('c', '|S3')])]", `[[["T","x"],"<u2"],["s",[["c","|S3"]]]]`},
	} {
		d, err := npy.ParseDType(tc.descr)
		if err != nil {
			t.Fatal(tc.descr, err)
		}
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(descr.JSON(d)); err != nil || b.String() != tc.want+"\n" {
			t.Errorf("%s: %s %v, want %s", tc.descr, b.String(), err, tc.want)
		}
	}
}
