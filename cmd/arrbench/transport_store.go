package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/arrfile/arrfile/npy"
	"github.com/arrfile/arrfile/store"
)

// npy-tmpfs-recycled: the array travels through a store (package store)
// in --shm-dir. The producer creates each array under a new key, which
// the store serves from its pool of recycled files when one fits (pages
// resident already), copies its slice in and publishes; the consumer gets
// the key from the store, sums the mapped array and releases it, and the
// producer deletes the key, which returns the file to the pool for the
// next array. Both stores park their mappings (store.Options.ParkFiles):
// the producer's Create of a recycled file writes through the mapping it
// wrote the file's last array through, the consumer's Get reuses the
// mapping it read it through, both with their page tables filled. Each
// row has a store of its own, removed after the row.

func init() {
	consumers["npy-tmpfs-recycled"] = consumeStore
	t := &transport{
		Name:    "npy-tmpfs-recycled",
		Folder:  folderShm,
		Kind:    kindGo,
		Desc:    "producer writes its slice into an array of a store in --shm-dir (store.Create, a recycled file when one is free), publishes, consumer gets it by key (reusing its parked mapping of a recycled file) and releases it, producer deletes it (back to the pool)",
		MemNeed: func(s int64) int64 { return 4 * s }, // the array and the pooled files of those before
		Run:     runNpyRecycled,
	}
	at := slices.IndexFunc(allTransports, func(t *transport) bool { return t.Name == "npy-tmpfs-inplace" }) + 1
	allTransports = slices.Insert(allTransports, at, t)
}

// recycleState is the producer's store of npy-tmpfs-recycled for the row
// being measured.
type recycleState struct {
	s                *store.Store
	frames, recycled int
}

// recycleStore returns the row's store, opening a new one in the run's
// shm folder if none is open.
func (b *bench) recycleStore() (*store.Store, error) {
	if b.rec.s != nil {
		return b.rec.s, nil
	}
	b.seq++
	dir := filepath.Join(b.shmRun, fmt.Sprintf("store%d", b.seq))
	// Every array's file is recycled, however small (the tests' tiny
	// arrays too); tmpfs is never synced anyway.
	s, err := store.Open(dir, &store.Options{RecycleMin: 1, NoSync: true, ParkFiles: parkedMaps})
	if err != nil {
		return nil, err
	}
	b.rec = recycleState{s: s}
	return s, nil
}

// closeRecycleStore closes the row's store and removes its folder (the
// consumer's mapping of the last array, if it still has one, stays valid
// until its next release). It warns when a row of several arrays
// recycled none.
func (b *bench) closeRecycleStore() {
	if b.rec.s == nil {
		return
	}
	dir := b.rec.s.Dir()
	b.rec.s.Close()
	if err := os.RemoveAll(dir); err != nil {
		fmt.Fprintf(b.stderr, "arrbench: npy-tmpfs-recycled: removing its store: %v\n", err)
	}
	if b.rec.frames > 2 && b.rec.recycled == 0 {
		fmt.Fprintf(b.stderr, "arrbench: npy-tmpfs-recycled: none of %d arrays was written into a recycled file\n", b.rec.frames)
	}
	b.rec = recycleState{}
}

// runNpyRecycled: the producer creates the array in the store (from a
// recycled file if one fits), copies its slice in and publishes, all on
// the clock; sends the key; the consumer gets it, sums it and holds it
// until its next release; the producer deletes the key after the answer
// (off the clock, as the other file transports remove their files).
func runNpyRecycled(b *bench, ds *dataSet, n int) (measurement, error) {
	w, err := b.worker()
	if err != nil {
		return measurement{}, err
	}
	s, err := b.recycleStore()
	if err != nil {
		return measurement{}, err
	}
	b.seq++
	key := fmt.Sprintf("a%d", b.seq)
	size := int64(n) * int64(ds.Kind.Size)
	t0 := time.Now()
	wr, err := s.Create(key, &npy.Header{DType: dtypeOf(ds), Shape: []int{n}})
	if err != nil {
		return measurement{}, err
	}
	a := wr.Array()
	hdr := headerSize(a)
	if err := fill(a, ds, n); err != nil {
		return measurement{}, errors.Join(err, wr.Abort())
	}
	recycled := wr.Recycled()
	if err := wr.Publish(); err != nil {
		return measurement{}, err
	}
	t1 := time.Now()
	b.rec.frames++
	if recycled {
		b.rec.recycled++
	}
	req := request{Op: "run", Transport: "npy-tmpfs-recycled", DType: ds.Kind.DType, N: int64(n), Path: s.Dir(), Key: key}
	rep, err := w.exchange(req, nil, b.timeout(size))
	t2 := time.Now()
	if derr := s.Delete(key); err == nil && derr != nil {
		err = derr
	}
	if err != nil {
		return measurement{}, err
	}
	return fromReply(rep, t1.Sub(t0), t2.Sub(t0), size+hdr), nil
}

// consumeStore gets req.Key from the store in folder req.Path (opened
// once per worker and folder, parking up to parkedMaps released
// mappings), sums the mapped array and keeps the reference until the next
// release.
func consumeStore(w *worker, req *request, _ io.Reader) (reply, error) {
	t0 := time.Now()
	s := w.stores[req.Path]
	if s == nil {
		var err error
		if s, err = store.Open(req.Path, &store.Options{ParkFiles: parkedMaps}); err != nil {
			return reply{}, err
		}
		if w.stores == nil {
			w.stores = map[string]*store.Store{}
		}
		w.stores[req.Path] = s
	}
	ref, err := s.Get(req.Key)
	if err != nil {
		return reply{}, err
	}
	w.release = append(w.release, func() { ref.Release() })
	return sumMapped(ref.Array(), req, t0)
}

// parkedMaps is how many mappings the producer's and the consumer's
// stores park: a stream turns over two pooled files, or a few more while
// the producer outruns the store's looks at who holds them.
const parkedMaps = 8

// closeStores closes the stores the worker opened.
func (w *worker) closeStores() {
	for dir, s := range w.stores {
		s.Close()
		delete(w.stores, dir)
	}
}
