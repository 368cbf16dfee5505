package remote_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/arrfile/arrfile/npy"
	"github.com/arrfile/arrfile/remote"
)

// Open a remote .npy file and read its header and one element: the header
// comes with the opening request, the element costs one more.
func Example() {
	var file bytes.Buffer
	npy.Write(&file, []float64{1.5, 2.5, 3.5, 4.5}, 2, 2)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("ETag", `"v1"`)
		http.ServeContent(w, r, "", time.Unix(0, 0), bytes.NewReader(file.Bytes()))
	}))
	defer srv.Close()

	ctx := context.Background()
	o, err := remote.Open(ctx, srv.URL+"/a.npy")
	if err != nil {
		log.Fatal(err)
	}
	defer o.Close()
	h, err := npy.ReadHeader(io.NewSectionReader(o, 0, o.Size()))
	if err != nil {
		log.Fatal(err)
	}
	// The element [1, 1]: the last of the C-order data.
	v := make([]float64, 1)
	if _, err := o.ReadAt(npy.Bytes(v), h.DataOffset+3*8); err != nil {
		log.Fatal(err)
	}
	fmt.Println(h.DType, h.Shape, v[0], o.Size(), o.Requests())
	// Output: <f8 [2 2] 4.5 160 1
}
