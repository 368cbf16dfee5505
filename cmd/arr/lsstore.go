package main

import (
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/arrfile/arrfile/queue"
	"github.com/arrfile/arrfile/store"
)

// lsSpecial lists a queue folder (pending, claimed with pids, failed) or
// a store folder (arrays with holders, capacity, spilled arrays); ok is
// false for an ordinary folder.
func (e *env) lsSpecial(dir string, asJSON bool) (status int, ok bool) {
	switch {
	case queue.IsQueue(dir):
		return e.lsQueue(dir, asJSON), true
	case store.IsStore(dir):
		return e.lsStore(dir, asJSON), true
	}
	return 0, false
}

func (e *env) lsQueue(dir string, asJSON bool) int {
	q, err := queue.Open(dir, nil)
	if err != nil {
		e.fail(dir, err)
		return exitError
	}
	st, err := q.Status()
	if err != nil {
		e.fail(dir, err)
		return exitError
	}
	if asJSON {
		claimed := []map[string]any{}
		for _, c := range st.Claimed {
			claimed = append(claimed, map[string]any{"name": c.Name, "pids": append([]int{}, c.Pids...)})
		}
		if err := writeJSON(e.stdout, map[string]any{"pending": append([]string{}, st.Pending...),
			"claimed": claimed, "failed": append([]string{}, st.Failed...)}); err != nil {
			e.fail("", err)
			return exitError
		}
		return exitOK
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "STATE\tNAME\tPIDS")
	for _, n := range st.Pending {
		fmt.Fprintf(tw, "pending\t%s\t\n", n)
	}
	for _, c := range st.Claimed {
		state := "claimed"
		if len(c.Pids) == 0 {
			state = "returning" // its consumer died; the next claim returns it
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", state, c.Name, pids(c.Pids))
	}
	for _, n := range st.Failed {
		fmt.Fprintf(tw, "failed\t%s\t\n", n)
	}
	tw.Flush()
	fmt.Fprintf(e.stdout, "%d pending, %d claimed, %d failed\n", len(st.Pending), len(st.Claimed), len(st.Failed))
	return exitOK
}

func (e *env) lsStore(dir string, asJSON bool) int {
	spill, err := store.RecordedSpillDir(dir)
	if err != nil {
		e.fail(dir, err)
		return exitError
	}
	s, err := store.Open(dir, &store.Options{SpillDir: spill})
	if err != nil {
		e.fail(dir, err)
		return exitError
	}
	defer s.Close()
	list, err := s.List()
	if err != nil {
		e.fail(dir, err)
		return exitError
	}
	u, err := s.Usage()
	if err != nil {
		e.fail(dir, err)
		return exitError
	}
	now := time.Now()
	if asJSON {
		arrays := []map[string]any{}
		for _, in := range list {
			arrays = append(arrays, map[string]any{"key": in.Key, "path": in.Path, "size": in.Size,
				"spilled": in.Spilled, "age_seconds": int64(now.Sub(in.Created).Seconds()),
				"held": in.Held, "pids": append([]int{}, in.Pids...)})
		}
		if err := writeJSON(e.stdout, map[string]any{"arrays": arrays, "capacity": u.Capacity, "used": u.Used,
			"pooled": u.Pooled, "pool_bytes": u.PoolSize}); err != nil {
			e.fail("", err)
			return exitError
		}
		return exitOK
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "KEY\tSIZE\tAGE\tWHERE\tHELD\tPIDS")
	for _, in := range list {
		where, held := "store", ""
		if in.Spilled {
			where = "spilled"
		}
		if in.Held {
			held = "yes"
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\n", in.Key, in.Size, now.Sub(in.Created).Round(time.Second), where, held, pids(in.Pids))
	}
	tw.Flush()
	fmt.Fprintf(e.stdout, "%d arrays, %d spilled; %d of %d bytes used (%.0f%%), %d recycled files (%d bytes)\n",
		u.Arrays, u.Spilled, u.Used, u.Capacity, 100*float64(u.Used)/float64(max(u.Capacity, 1)), u.Pooled, u.PoolSize)
	return exitOK
}

func pids(p []int) string {
	s := make([]string, len(p))
	for i, v := range p {
		s[i] = fmt.Sprint(v)
	}
	return strings.Join(s, ",")
}
