package npz

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/arrfile/arrfile/internal/descr"
	"github.com/arrfile/arrfile/npy"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestNpzNumPyFixtures reads the archives that real NumPy wrote
// (testdata/gen_npz.py at the module root: np.savez and np.savez_compressed) without Python,
// and checks every member's header and canonical checksum against the
// manifest NumPy made.
func TestNpzNumPyFixtures(t *testing.T) {
	dir := filepath.Join("..", "..", "testdata", "npz")
	raw, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	require.NoError(t, err)
	var m struct {
		Archives []struct {
			Name        string `json:"name"`
			Compression string `json:"compression"`
			Members     []struct {
				Key     string          `json:"key"`
				DType   json.RawMessage `json:"dtype"`
				Shape   []int           `json:"shape"`
				Fortran bool            `json:"fortran_order"`
				SHA256  string          `json:"sha256"`
			} `json:"members"`
		} `json:"archives"`
	}
	require.NoError(t, json.Unmarshal(raw, &m))
	require.Len(t, m.Archives, 2)
	for _, arc := range m.Archives {
		t.Run(arc.Name, func(t *testing.T) {
			z, err := OpenReader(filepath.Join(dir, arc.Name))
			require.NoError(t, err)
			defer z.Close()
			var want []string
			for _, mem := range arc.Members {
				want = append(want, mem.Key)
			}
			got := keys(z)
			sort.Strings(got)
			sort.Strings(want)
			assert.Equal(t, want, got)
			require.NoError(t, z.Verify())
			for _, mem := range arc.Members {
				r, err := z.Open(mem.Key)
				require.NoError(t, err, mem.Key)
				h := r.Header
				assert.Equal(t, mem.Shape, h.Shape, mem.Key)
				assert.Equal(t, mem.Fortran, h.FortranOrder, mem.Key)
				wantDT, _ := json.Marshal(descr.JSON(h.DType))
				assert.JSONEq(t, string(mem.DType), string(wantDT), mem.Key)
				data, err := io.ReadAll(r)
				require.NoError(t, err, mem.Key)
				c := sha256.New()
				require.NoError(t, npy.WriteCanonical(c, h, data))
				sum := c.Sum(nil)
				assert.Equal(t, mem.SHA256, hex.EncodeToString(sum[:]), "canonical checksum of %s:%s", arc.Name, mem.Key)
			}
		})
	}
}
