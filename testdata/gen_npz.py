#!/usr/bin/env python3
"""Writes testdata/npz/: .npz archives made by real NumPy (np.savez and
np.savez_compressed), with a manifest of their members, so Go tests can check
the npz reader without Python.

Run with an interpreter that has NumPy: cd testdata && /usr/bin/python3 gen_npz.py
Deterministic: the zip timestamps are pinned, so re-running rewrites the same bytes.
"""
import hashlib
import json
import os
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "npz")
FIXED = time.mktime((2024, 1, 2, 3, 4, 6, 0, 0, -1))


def canonical_sha(a):
    c = np.ascontiguousarray(a.astype(a.dtype.newbyteorder("<")))
    return hashlib.sha256(c.tobytes()).hexdigest()


def members():
    rng = np.random.default_rng(20261128)
    return {
        "ints": np.arange(12, dtype="<i4").reshape(3, 4),
        "floats": rng.standard_normal(257),
        "big": np.arange(6, dtype=">u2").reshape(2, 3),
        "fortran": np.asfortranarray(np.arange(6, dtype="<f4").reshape(2, 3)),
        "scalar": np.array(3.5),
        "empty": np.zeros((0, 3), dtype="<i8"),
        "text": np.array(["a", "bc", "déf"]),
        "rec": np.array([(1, 2.5), (3, -1.0)], dtype=[("x", "<i2"), ("y", "<f8")]),
    }


def main():
    os.makedirs(OUT, exist_ok=True)
    for n in os.listdir(OUT):
        os.remove(os.path.join(OUT, n))
    real_time = time.time
    time.time = lambda: FIXED  # zipfile stamps members with time.time()
    try:
        arrays = members()
        positional = [np.arange(5, dtype="<i8"), np.linspace(0, 1, 4)]
        np.savez(os.path.join(OUT, "savez.npz"), *positional, **arrays)
        np.savez_compressed(os.path.join(OUT, "savez_compressed.npz"), *positional, **arrays)
    finally:
        time.time = real_time
    manifest = {"generator": "testdata/gen_npz.py", "numpy_version": np.__version__, "archives": []}
    for name, compression in (("savez.npz", "stored"), ("savez_compressed.npz", "deflate")):
        with np.load(os.path.join(OUT, name)) as z:
            entry = {"name": name, "compression": compression, "members": []}
            for key in z.files:
                a = z[key]
                entry["members"].append({
                    "key": key,
                    "dtype": a.dtype.str if a.dtype.fields is None else np.lib.format.dtype_to_descr(a.dtype),
                    "shape": list(a.shape),
                    "fortran_order": bool(a.flags.f_contiguous and not a.flags.c_contiguous),
                    "sha256": canonical_sha(a),
                })
            manifest["archives"].append(entry)
    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print("gen_npz.py: wrote", ", ".join(sorted(os.listdir(OUT))))


if __name__ == "__main__":
    main()
