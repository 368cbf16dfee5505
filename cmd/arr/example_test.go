package main

import (
	"os"
	"path/filepath"
)

// Printing an array the way NumPy's print(np.load(FILE)) does.
func Example_show() {
	run([]string{"show", "../../testdata/npy/f2_le_2d_f.npy"}, os.Stdout, os.Stderr)
	run([]string{"show", "--index", "1", "../../testdata/npy/b1_2d_c.npy"}, os.Stdout, os.Stderr)
	// Output:
	// [[ 4.430e+00  9.362e+01 -7.345e+02]
	//  [ 6.070e+04 -9.753e-02 -1.123e-02]
	//  [ 2.158e+03  6.051e+04 -1.085e-02]]
	// [ True False False  True False]
}

// Checksums are printed as sha256sum prints them; a file that cannot be
// read is reported on one line naming it (here on the same output).
func Example_checksum() {
	run([]string{"checksum", "../../testdata/npy/f8_le_0d.npy", "missing.npy"}, os.Stdout, os.Stdout)
	// Output:
	// 0feed3ee4c3497c2fdf7cf44e76e71250033988e01e866c35e9dca13dbad9557  ../../testdata/npy/f8_le_0d.npy
	// arr: missing.npy: no such file or directory
}

func Example_info() {
	run([]string{"info", "../../testdata/npy/i2_be_3d_f.npy"}, os.Stdout, os.Stderr)
	// Output:
	// ../../testdata/npy/i2_be_3d_f.npy:
	//   format:      npy 1.0
	//   dtype:       >i2
	//   shape:       (3, 2, 4)
	//   order:       Fortran
	//   data offset: 128
	//   nbytes:      48
}

// Compressing an array to seekable .npy.zst, printing one row of it (only
// the frames holding that row are decompressed) and verifying every
// checksum.
func Example_convert() {
	src, _ := filepath.Abs("../../testdata/npy/i4_le_3d_c.npy")
	dir, err := os.MkdirTemp("", "arr-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	wd, _ := os.Getwd()
	if err := os.Chdir(dir); err != nil {
		panic(err)
	}
	defer os.Chdir(wd)

	run([]string{"convert", "--frame-size", "16", src, "a.npy.zst"}, os.Stdout, os.Stderr)
	run([]string{"show", "--index", "1", "a.npy.zst"}, os.Stdout, os.Stderr)
	run([]string{"verify", "a.npy.zst"}, os.Stdout, os.Stderr)
	// Output:
	// [[-1048474313  1215772153 -1695510241 -2078412352]
	//  [ 1582405227   942772328   169291448  1929549628]
	//  [ 2017723978  2064157865 -1563548345  1487503283]]
	// a.npy.zst: OK
}
