package main

import "os"

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
