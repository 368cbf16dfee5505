package main

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseFlagsDefaults(t *testing.T) {
	cfg, list, err := parseFlags(nil, &bytes.Buffer{})
	require.NoError(t, err)
	assert.False(t, list)
	assert.Equal(t, []int64{64 << 10, 1 << 20, 16 << 20, 256 << 20}, cfg.sizes)
	require.Len(t, cfg.data, 1)
	assert.Equal(t, "normal", cfg.data[0].Name)
	assert.Equal(t, 0, cfg.repeats)
	assert.Equal(t, 1, cfg.warmup)
	assert.Equal(t, time.Minute, cfg.timeout)
	assert.Equal(t, "both", cfg.format)
	assert.Equal(t, "default", cfg.populate)
	assert.Zero(t, cfg.bigdata)
	assert.NotEmpty(t, cfg.shmDir)
	assert.NotEmpty(t, cfg.diskDir)
}

func TestParseFlagsErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		msg  string
	}{
		{[]string{"--sizes", "1MiB,zz"}, "--sizes"},
		{[]string{"--sizes", "2"}, "holds no normal element"},
		{[]string{"--data", "walk", "--sizes", "2"}, "holds no walk element"},
		{[]string{"--data", "gauss"}, "--data"},
		{[]string{"--repeats", "-1"}, "--repeats"},
		{[]string{"--warmup", "-1"}, "--warmup"},
		{[]string{"--timeout", "0s"}, "--timeout"},
		{[]string{"--format", "xml"}, "--format"},
		{[]string{"--populate", "eager"}, "--populate"},
		{[]string{"--bigdata-size", "1GiB"}, "needs --bigdata"},
		{[]string{"--bigdata", "--bigdata-size", "4"}, "smaller than one float64"},
		{[]string{"--bigdata", "--csv", "x.csv"}, "--json only"},
		{[]string{"extra"}, "unexpected argument"},
		{[]string{"--no-such-flag"}, "not defined"},
	} {
		_, _, err := parseFlags(c.args, &bytes.Buffer{})
		if assert.Error(t, err, "%v", c.args) {
			assert.Contains(t, err.Error(), c.msg, "%v", c.args)
		}
	}
	cfg, _, err := parseFlags([]string{"--bigdata"}, &bytes.Buffer{})
	require.NoError(t, err)
	if m := memTotal(); m > 0 {
		assert.GreaterOrEqual(t, cfg.bigdata, 2*m, "the default big file is twice the memory")
	}
}

func TestRunBadCommandLine(t *testing.T) {
	var out, errb bytes.Buffer
	assert.Equal(t, 2, run([]string{"--only", "carrier-pigeon"}, &out, &errb))
	assert.Contains(t, errb.String(), `unknown transport "carrier-pigeon"`)
	errb.Reset()
	assert.Equal(t, 2, run([]string{"--only", "npy-disk-cold"}, &out, &errb))
	assert.Contains(t, errb.String(), "need --cold")
	assert.Equal(t, 0, run([]string{"-h"}, &out, &errb))
	assert.Contains(t, errb.String(), "-shm-dir")
	out.Reset()
	assert.Equal(t, 0, run([]string{"--list"}, &out, &errb))
	for _, tr := range allTransports {
		assert.Contains(t, out.String(), tr.Name)
	}
}

func TestSelectTransports(t *testing.T) {
	names := func(ts []*transport) []string {
		var n []string
		for _, t := range ts {
			n = append(n, t.Name)
		}
		return n
	}
	ts, err := selectTransports(allTransports, "", "")
	require.NoError(t, err)
	assert.Equal(t, names(allTransports), names(ts))
	ts, err = selectTransports(allTransports, "reference,pipe-gob", "")
	require.NoError(t, err)
	assert.Equal(t, []string{"pipe-gob", "inproc-copy", "inproc-clone", "inproc-sum"}, names(ts))
	ts, err = selectTransports(allTransports, "", "python,go")
	require.NoError(t, err)
	assert.Equal(t, []string{"inproc-copy", "inproc-clone", "inproc-sum"}, names(ts))
	ts, err = selectTransports(allTransports, "ref", "inproc-sum")
	require.NoError(t, err)
	assert.Equal(t, []string{"inproc-copy", "inproc-clone"}, names(ts))
	_, err = selectTransports(allTransports, "pipe-gob", "pipe-gob")
	assert.ErrorContains(t, err, "leave no transport")
}
