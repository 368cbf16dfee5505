package queue_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/arrfile/arrfile/queue"
)

func Example() {
	dir, err := os.MkdirTemp("", "queue")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	q, err := queue.Open(filepath.Join(dir, "jobs"), nil)
	if err != nil {
		log.Fatal(err)
	}
	defer q.Close()

	// Producer: push a published file (moved into the queue).
	frame := filepath.Join(dir, "frame-1.npy")
	if err := os.WriteFile(frame, []byte("an .npy file"), 0o644); err != nil {
		log.Fatal(err)
	}
	if _, err := q.Push(frame, false); err != nil {
		log.Fatal(err)
	}

	// Consumer (any process): exactly one gets each file; waits with inotify.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := q.Claim(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(c.Name(), filepath.Base(filepath.Dir(c.Path())))
	if err := c.Done(); err != nil { // or Return, or Fail
		log.Fatal(err)
	}
	st, _ := q.Status()
	fmt.Println(len(st.Pending), len(st.Claimed))
	// Output:
	// frame-1.npy .claimed
	// 0 0
}
