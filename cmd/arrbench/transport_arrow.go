package main

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/arrfile/arrfile/npy"
)

// arrow-tmpfs, the peer a Go user would pick instead: the array travels as
// an Arrow IPC file (one record batch of one column of the dtype, the
// shape and dtype in the schema's metadata) in --shm-dir, written with
// ipc.NewFileWriter from a buffer that wraps the producer's slice (no copy
// before the write); the consumer maps the file and reads the column in
// place through ipc.NewMappedFileReader.

func init() {
	consumers["arrow-tmpfs"] = consumeArrow
	t := &transport{
		Name:    "arrow-tmpfs",
		Folder:  folderShm,
		Kind:    kindGo,
		Desc:    "producer writes an Arrow IPC file (arrow-go ipc.NewFileWriter) in --shm-dir, consumer maps it and reads the column zero-copy (ipc.NewMappedFileReader)",
		MemNeed: func(s int64) int64 { return s },
		Run:     runArrow,
	}
	at := len(allTransports)
	for i, x := range allTransports {
		if x.Kind == kindPython {
			at = i
			break
		}
	}
	allTransports = append(allTransports[:at], append([]*transport{t}, allTransports[at:]...)...)
}

// arrowType is the Arrow type of an npy dtype string.
func arrowType(dtype string) (arrow.DataType, error) {
	switch dtype {
	case "<f8":
		return arrow.PrimitiveTypes.Float64, nil
	case "<i4":
		return arrow.PrimitiveTypes.Int32, nil
	}
	return nil, fmt.Errorf("arrow: unsupported dtype %q", dtype)
}

// writeArrowBytes writes n elements of dtype, whose bytes are raw, as an
// Arrow IPC file at path.
func writeArrowBytes(path, dtype string, raw []byte, n int) (err error) {
	typ, err := arrowType(dtype)
	if err != nil {
		return err
	}
	data := array.NewData(typ, n, []*memory.Buffer{nil, memory.NewBufferBytes(raw)}, nil, 0, 0)
	defer data.Release()
	col := array.MakeFromData(data)
	defer col.Release()
	md := arrow.NewMetadata([]string{"numpy.dtype", "numpy.shape"}, []string{dtype, "[" + strconv.Itoa(n) + "]"})
	schema := arrow.NewSchema([]arrow.Field{{Name: "x", Type: typ}}, &md)
	rec := array.NewRecordBatch(schema, []arrow.Array{col}, int64(n))
	defer rec.Release()
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(path)
		}
	}()
	w, err := ipc.NewFileWriter(f, ipc.WithSchema(schema))
	if err != nil {
		return fmt.Errorf("arrow: %s: %w", path, err)
	}
	if err := w.Write(rec); err != nil {
		w.Close()
		return fmt.Errorf("arrow: %s: %w", path, err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("arrow: %s: %w", path, err)
	}
	return nil
}

// writeArrow writes the first n elements of ds as an Arrow IPC file.
func writeArrow(ds *dataSet, n int, path string) error {
	return writeArrowBytes(path, ds.Kind.DType, ds.Bytes(n), n)
}

// writeArrowF64 writes s as an Arrow IPC file (a gather part).
func writeArrowF64(s []float64, path string) error {
	return writeArrowBytes(path, "<f8", npy.Bytes(s), len(s))
}

// runArrow: the producer writes the Arrow file, sends its name; the
// consumer maps it and sums the column in place.
func runArrow(b *bench, ds *dataSet, n int) (measurement, error) {
	w, err := b.worker()
	if err != nil {
		return measurement{}, err
	}
	path := b.newPath(b.shmRun) + ".arrow"
	defer os.Remove(path)
	req := request{Op: "run", Transport: "arrow-tmpfs", DType: ds.Kind.DType, N: int64(n), Path: path}
	return handOverFile(b, w, req, int64(n)*int64(ds.Kind.Size), false, func() error { return writeArrow(ds, n, path) })
}

// openArrow maps the Arrow IPC file at path and returns its first record
// batch's first column, zero-copy, with the function that unmaps it and
// the file's size.
func openArrow(path string) (arrow.Array, func(), int64, error) {
	data, unmap, err := mapReadOnly(path)
	if err != nil {
		return nil, nil, 0, err
	}
	// The reader's default limit on a record batch's body (256 MiB) is for
	// untrusted input; the mapped file bounds it here.
	r, err := ipc.NewMappedFileReader(data, ipc.WithBodySizeLimit(int64(len(data))))
	if err != nil {
		unmap()
		return nil, nil, 0, fmt.Errorf("arrow: %s: %w", path, err)
	}
	defer r.Close()
	if r.NumRecords() != 1 {
		unmap()
		return nil, nil, 0, fmt.Errorf("arrow: %s holds %d record batches, want 1", path, r.NumRecords())
	}
	rec, err := r.RecordBatchAt(0)
	if err != nil {
		unmap()
		return nil, nil, 0, fmt.Errorf("arrow: %s: %w", path, err)
	}
	defer rec.Release()
	if rec.NumCols() != 1 {
		unmap()
		return nil, nil, 0, fmt.Errorf("arrow: %s has %d columns, want 1", path, rec.NumCols())
	}
	col := rec.Column(0)
	col.Retain()
	return col, func() { col.Release(); unmap() }, int64(len(data)), nil
}

// mapArrowF64 maps a float64 Arrow IPC file (a gather part) and returns
// its values in place.
func mapArrowF64(path string) ([]float64, func(), int64, error) {
	col, closeFn, size, err := openArrow(path)
	if err != nil {
		return nil, nil, 0, err
	}
	f, ok := col.(*array.Float64)
	if !ok {
		closeFn()
		return nil, nil, 0, fmt.Errorf("arrow: %s holds %s, want float64", path, col.DataType())
	}
	return f.Float64Values(), closeFn, size, nil
}

// consumeArrow maps the Arrow IPC file and sums its column in place.
func consumeArrow(w *worker, req *request, _ io.Reader) (reply, error) {
	t0 := time.Now()
	col, closeFn, _, err := openArrow(req.Path)
	if err != nil {
		return reply{}, err
	}
	w.release = append(w.release, closeFn)
	if int64(col.Len()) != req.N {
		return reply{}, fmt.Errorf("arrow: %s holds %d elements, want %d", req.Path, col.Len(), req.N)
	}
	var sum func() uint64
	switch c := col.(type) {
	case *array.Float64:
		if req.DType != "<f8" {
			return reply{}, fmt.Errorf("arrow: %s holds float64, want %s", req.Path, req.DType)
		}
		v := c.Float64Values()
		sum = func() uint64 { return sumFloat64Bits(v) }
	case *array.Int32:
		if req.DType != "<i4" {
			return reply{}, fmt.Errorf("arrow: %s holds int32, want %s", req.Path, req.DType)
		}
		v := c.Int32Values()
		sum = func() uint64 { return sumInt32(v) }
	default:
		return reply{}, fmt.Errorf("arrow: %s holds %s", req.Path, col.DataType())
	}
	t1 := time.Now()
	cs := sum()
	return reply{Checksum: cs, OpenNS: int64(t1.Sub(t0)), ReadNS: int64(time.Since(t1))}, nil
}
