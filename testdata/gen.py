#!/usr/bin/python3
"""Generate arrfile's .npy test fixtures with real NumPy.

Usage (from this directory):

    /usr/bin/python3 gen.py

Writes
  npy/*.npy            valid files: written by NumPy (np.save / np.lib.format)
                       plus a few hand-made legacy headers NumPy still reads
  npy/manifest.json    what each valid file holds (header fields, exact header
                       bytes, canonical-bytes SHA-256, values)
  bad/*.npy            malformed files, one defect each
  bad/manifest.json    the error class each bad file must produce

The output is deterministic: every case draws from its own random generator
seeded from the case name, and NumPy's writers are deterministic, so running
the script again with the same NumPy (1.24.x) reproduces the same bytes.
Old *.npy and manifest.json files in npy/ and bad/ are removed first.

See README.md for the manifest formats.
"""

import hashlib
import json
import os
import re
import struct
import subprocess
import sys
import warnings
import zlib

import numpy as np
from numpy.lib import format as npf

HERE = os.path.dirname(os.path.abspath(__file__))
GOOD_DIR = os.path.join(HERE, "npy")
BAD_DIR = os.path.join(HERE, "bad")
MAGIC = b"\x93NUMPY"
BIG_HEADER = 1 << 22  # max_header_size we pass to NumPy when checking our own files

I64_MIN = -(1 << 63)


def rng_for(name):
    """A random generator seeded from the case name (stable across edits)."""
    return np.random.default_rng(zlib.crc32(name.encode()))


# ---------------------------------------------------------------------------
# Value generators: varied, non-trivial values including the edge cases.
# ---------------------------------------------------------------------------

def int_values(dt, n, rng):
    info = np.iinfo(dt)
    special = [info.min, info.max, 0, 1, info.max - 1]
    if info.min < 0:
        special += [-1, info.min + 1]
    rand = rng.integers(info.min, info.max, size=n, dtype=dt, endpoint=True)
    out = np.array(special + list(rand), dtype=dt)[:max(n, len(special))]
    return out


def float_values(dt, n, rng):
    dt = np.dtype(dt)
    if dt.itemsize == 2:
        bits = [0x0000, 0x8000, 0x3C00, 0xBC00, 0x7BFF, 0xFBFF, 0x7C00, 0xFC00,
                0x7E00, 0xFE00, 0x7C01, 0x0001, 0x8001, 0x03FF, 0x0400, 0x3555,
                0x4248]
        rand = rng.integers(0, 0x7C00, size=n, dtype=np.uint16)
        sign = rng.integers(0, 2, size=n, dtype=np.uint16) << 15
        allbits = np.array(bits + list(rand | sign), dtype=np.uint16)
        return allbits.view(np.float16)
    uint = {4: np.uint32, 8: np.uint64}[dt.itemsize]
    fi = np.finfo(dt)
    special = [np.nan, -np.nan, np.inf, -np.inf, 0.0, -0.0, 1.0, -1.0,
               fi.max, -fi.max, fi.tiny, -fi.tiny, fi.eps, 1 / 3, np.pi, -2.5]
    arr = np.array(special, dtype=dt)
    # smallest subnormal and a signalling NaN with payload, made from bits
    extra = np.array([1, (0x7F800001 if dt.itemsize == 4 else 0x7FF0000000000001),
                      (0xFFC00123 if dt.itemsize == 4 else 0xFFF8000000000123)],
                     dtype=uint).view(dt)
    expo = rng.uniform(-30, 30, size=n) if dt.itemsize == 8 else rng.uniform(-10, 10, size=n)
    rand = (rng.standard_normal(n) * 10.0 ** expo).astype(dt)
    return np.concatenate([arr, extra, rand])


def complex_values(dt, n, rng):
    dt = np.dtype(dt)
    fdt = np.float32 if dt.itemsize == 8 else np.float64
    re = float_values(fdt, n, rng)
    im = float_values(fdt, n, rng)[::-1].copy()
    out = np.empty(len(re), dtype=dt)
    out.real = re
    out.imag = im
    return out


def bool_values(n, rng):
    return np.concatenate([[True, False], rng.integers(0, 2, size=n) == 1])


def time_values(dt, n, rng):
    dt = np.dtype(dt)
    special = [I64_MIN, 0, 1, -1, (1 << 63) - 1, I64_MIN + 1, 86400, -719162]
    rand = rng.integers(-(1 << 62), 1 << 62, size=n, dtype=np.int64)
    small = rng.integers(-100000, 100000, size=n // 2, dtype=np.int64)
    return np.array(special + list(rand) + list(small), dtype=np.int64).view(dt)


def bytes_values(size, n, rng):
    vals = [b"", b"a", b"\x00", b"\xff" * size, b"x\x00y"[:size], b"A" * size]
    for _ in range(n):
        k = int(rng.integers(0, size + 1))
        vals.append(bytes(rng.integers(0, 256, size=k, dtype=np.uint8)))
    return np.array(vals, dtype="S%d" % size)


UCHARS = list("abcXYZ019 \t") + ["\u00e9", "\u00ff", "\u0100", "\u6e29", "\u5ea6",
                                  "\U0001F600", "\U0010FFFF", "\u20ac"]


def unicode_values(size, n, rng, dt):
    vals = ["", "a", "\U0001F600", "\u6e29\u5ea6"[:size], "z" * size, "\u00e9\x00b"[:size]]
    for _ in range(n):
        k = int(rng.integers(0, size + 1))
        vals.append("".join(UCHARS[int(i)] for i in rng.integers(0, len(UCHARS), size=k)))
    return np.array(vals, dtype=dt)


def void_values(size, n, rng):
    raw = rng.integers(0, 256, size=size * n, dtype=np.uint8).tobytes()
    raw = b"\x00" * size + b"\xff" * size + raw
    return np.frombuffer(raw, dtype="V%d" % size).copy()


def simple_values(dt, n, rng):
    """1-D array of at least n varied values of non-structured dtype dt."""
    dt = np.dtype(dt)
    k = dt.kind
    if k == "b":
        a = bool_values(n, rng)
    elif k in "iu":
        a = int_values(dt.newbyteorder("="), n, rng)
    elif k == "f":
        a = float_values(dt.newbyteorder("="), n, rng)
    elif k == "c":
        a = complex_values(dt.newbyteorder("="), n, rng)
    elif k in "Mm":
        a = time_values(dt.newbyteorder("="), n, rng)
    elif k == "S":
        a = bytes_values(dt.itemsize, n, rng)
    elif k == "U":
        a = unicode_values(dt.itemsize // 4, n, rng, dt.newbyteorder("="))
    elif k == "V":
        a = void_values(dt.itemsize, n, rng)
    else:
        raise ValueError(dt)
    return a.astype(dt)


def random_fill(dt, shape, rng):
    """Array of dt (any dtype, structured too) and shape with random values.

    Structured arrays start from np.zeros so padding bytes are zero."""
    dt = np.dtype(dt)
    shape = tuple(shape)
    count = int(np.prod(shape, dtype=np.int64))
    if dt.names is None:
        k = dt.kind
        if k == "b":
            v = rng.integers(0, 2, size=count) == 1
        elif k in "iu":
            info = np.iinfo(dt)
            v = rng.integers(info.min, info.max, size=count, dtype=dt.newbyteorder("="), endpoint=True)
        elif k == "f":
            v = rng.standard_normal(count) * 1000
        elif k == "c":
            v = rng.standard_normal(count) + 1j * rng.standard_normal(count)
        elif k in "Mm":
            v = rng.integers(-(1 << 40), 1 << 40, size=count, dtype=np.int64)
            if count > 2:
                v[count // 2] = I64_MIN
            v = v.view(dt.newbyteorder("="))
        elif k == "S":
            v = bytes_values(dt.itemsize, count, rng)[-count:] if count else np.zeros(0, dt)
        elif k == "U":
            v = unicode_values(dt.itemsize // 4, count, rng, dt.newbyteorder("="))[-count:] if count else np.zeros(0, dt)
        elif k == "V":
            v = void_values(dt.itemsize, count, rng)[-count:] if count else np.zeros(0, dt)
        else:
            raise ValueError(dt)
        return np.asarray(v).astype(dt).reshape(shape)
    out = np.zeros(shape, dtype=dt)
    for name in dt.names:
        sub = dt.fields[name][0]
        if sub.subdtype is not None:
            base, sshape = sub.subdtype
        else:
            base, sshape = sub, ()
        out[name] = random_fill(base, shape + tuple(sshape), rng)
    return out


# ---------------------------------------------------------------------------
# Canonical bytes and manifest helpers
# ---------------------------------------------------------------------------

def has_padding(dt):
    """True if a structured dtype has bytes not covered by any field."""
    if dt.subdtype is not None:
        return has_padding(dt.subdtype[0])
    if dt.names is None:
        return False
    covered = sum(dt.fields[n][0].itemsize for n in dt.names)
    return covered != dt.itemsize or any(has_padding(dt.fields[n][0]) for n in dt.names)


def canonical(a):
    """np.ascontiguousarray(a.astype(a.dtype.newbyteorder('<'))).tobytes().

    For structured dtypes with padding that need byte swapping NumPy's astype
    leaves the padding bytes of the new array uninitialised (seen: garbage),
    so there we copy into a zero-filled array instead; our fixtures store
    zero padding, so both agree wherever NumPy's result is defined."""
    le = a.dtype.newbyteorder("<")
    numpy_way = np.ascontiguousarray(a.astype(le)).tobytes()
    out = np.zeros(a.shape, dtype=le)
    out[...] = a
    zeroed = np.ascontiguousarray(out).tobytes()
    if numpy_way != zeroed:
        # Allowed only in padding bytes.
        assert has_padding(a.dtype), (a.dtype, "canonical mismatch")
        mask = np.frombuffer(padding_mask(a.dtype) * a.size, dtype=np.uint8)
        x = np.frombuffer(numpy_way, np.uint8)
        y = np.frombuffer(zeroed, np.uint8)
        assert np.all((x == y) | (mask == 1)), (a.dtype, "canonical mismatch outside padding")
        CANON_TROUBLE.add(str(a.dtype))
    return zeroed


CANON_TROUBLE = set()


def padding_mask(dt):
    """bytes of length dt.itemsize: 1 where no field covers the byte."""
    m = bytearray(b"\x01" * dt.itemsize)
    if dt.subdtype is not None:
        base, shape = dt.subdtype
        inner = padding_mask(base)
        return inner * int(np.prod(shape, dtype=np.int64))
    if dt.names is None:
        return bytes(dt.itemsize)
    for n in dt.names:
        sub, off = dt.fields[n][:2]
        m[off:off + sub.itemsize] = padding_mask(sub)
    return bytes(m)


def jsonable(x):
    if isinstance(x, tuple) or isinstance(x, list):
        return [jsonable(v) for v in x]
    return x


def dtype_json(dt):
    """dtype.str for plain dtypes, dtype.descr as nested JSON lists for structured."""
    if dt.names is not None:
        return jsonable(dt.descr)
    return dt.str


def fields_info(dt):
    out = []
    for name in dt.names:
        f = dt.fields[name]
        sub, off = f[0], f[1]
        title = f[2] if len(f) > 2 else None
        base, sshape = sub.subdtype if sub.subdtype is not None else (sub, ())
        e = {"name": name, "title": title, "offset": int(off), "dtype": base.str,
             "shape": [int(s) for s in sshape], "itemsize": int(base.itemsize)}
        if base.names is not None:
            e["fields"] = fields_info(base)
        out.append(e)
    return out


def values_of(a):
    """(encoding, values) for the C-order flattened elements of a, or (None, None)."""
    dt = a.dtype
    flat = np.ascontiguousarray(a).reshape(-1)
    k = dt.kind
    if dt.names is not None:
        return None, None
    if k == "b":
        return "bool", [bool(v) for v in flat]
    if k in "iu":
        return "int", [str(int(v)) for v in flat]
    if k in "Mm":
        return "int", [str(int(v)) for v in flat.astype(dt.newbyteorder("<")).view("<i8")]
    if k == "f":
        le = flat.astype(dt.newbyteorder("<"))
        return "float_bits", [le[i:i + 1].tobytes()[::-1].hex() for i in range(len(le))]
    if k == "c":
        le = flat.astype(dt.newbyteorder("<"))
        h = dt.itemsize // 2
        out = []
        for i in range(len(le)):
            b = le[i:i + 1].tobytes()
            out.append([b[:h][::-1].hex(), b[h:][::-1].hex()])
        return "complex_bits", out
    if k == "S" or k == "V":
        return "bytes_hex", [flat[i:i + 1].tobytes().hex() for i in range(len(flat))]
    if k == "U":
        return "str", [str(v) for v in flat]
    return None, None


def parse_file(data):
    """(version tuple, header_len, data_offset) from the raw bytes."""
    assert data[:6] == MAGIC
    major, minor = data[6], data[7]
    if major == 1:
        (hlen,) = struct.unpack("<H", data[8:10])
        off = 10 + hlen
    else:
        (hlen,) = struct.unpack("<I", data[8:12])
        off = 12 + hlen
    return (major, minor), hlen, off


def same_array(a, b):
    """Equal dtype, shape and canonical bytes (NaN-safe)."""
    if a.shape != b.shape:
        return False
    if a.dtype != b.dtype:
        return False
    return canonical(a) == canonical(b)


def numpy_header(a):
    """The header bytes np.save (NumPy >= 1.24) writes for a."""
    import io
    bio = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        npf.write_array(bio, a, version=None, allow_pickle=False)
    raw = bio.getvalue()
    return raw[:parse_file(raw)[2]]


GOOD = []


def record(name, path, expect, legacy=False, note="", explicit_version=False):
    """Check the file at path loads in NumPy as expect and add it to the manifest."""
    with open(path, "rb") as f:
        raw = f.read()
    version, hlen, off = parse_file(raw)
    with open(path, "rb") as f:
        v = npf.read_magic(f)
        shape, fortran, dtype = npf._read_array_header(f, v, max_header_size=BIG_HEADER)
        assert f.tell() == off, (name, f.tell(), off)
    loaded = np.load(path, allow_pickle=False, max_header_size=BIG_HEADER)
    mapped = np.load(path, mmap_mode="r", allow_pickle=False, max_header_size=BIG_HEADER)
    for got in (loaded, mapped):
        assert same_array(np.asarray(got), expect), (name, got.dtype, expect.dtype)
    assert tuple(shape) == expect.shape
    assert len(raw) == off + expect.nbytes, (name, "size")
    data_bytes = raw[off:]
    layout = "F" if fortran else "C"
    assert data_bytes == expect.tobytes(order=layout), (name, "data bytes")
    dt = loaded.dtype
    enc, vals = values_of(expect)
    e = {
        "name": name,
        "dtype": dtype_json(dt),
        "dtype_str": dt.str,
        "kind": dt.kind,
        "descr": repr(npf.dtype_to_descr(dt)),
        "shape": [int(s) for s in shape],
        "fortran_order": bool(fortran),
        "version": "%d.%d" % version,
        "header_len": hlen,
        "data_offset": off,
        "itemsize": int(dt.itemsize),
        "nbytes": int(expect.nbytes),
        "legacy": legacy,
        "explicit_version": explicit_version,
        "header_hex": raw[:off].hex(),
        "sha256": hashlib.sha256(canonical(expect)).hexdigest(),
    }
    if dt.names is not None:
        e["fields"] = fields_info(dt)
        e["has_padding"] = has_padding(dt)
    if legacy:
        e["numpy_header_hex"] = numpy_header(expect).hex()
    if enc is not None:
        e["values_encoding"] = enc
        e["values"] = vals
    if note:
        e["note"] = note
    GOOD.append(e)


def save(name, a, version=None, note=""):
    """Write a with NumPy (np.save, or np.lib.format.write_array for an explicit version)."""
    path = os.path.join(GOOD_DIR, name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "can only be read by NumPy >= 1.9/1.17"
        if version is None:
            np.save(path, a, allow_pickle=False)
        else:
            with open(path, "wb") as f:
                npf.write_array(f, a, version=version, allow_pickle=False)
    record(name, path, a, note=note, explicit_version=version is not None)


# ---------------------------------------------------------------------------
# Valid files written by NumPy
# ---------------------------------------------------------------------------

def gen_good():
    # Every fixed-size scalar dtype, 1-D, both byte orders for multi-byte ones.
    single = ["b1", "i1", "u1", "S1", "S5", "V1", "V8"]
    multi = ["i2", "i4", "i8", "u2", "u4", "u8", "f2", "f4", "f8", "c8", "c16",
             "U1", "U3", "M8[ns]", "M8[D]", "M8[s]", "m8[ns]", "m8[us]"]
    for code in single:
        dt = np.dtype(code)
        name = "%s_1d.npy" % fname(code)
        save(name, simple_values(dt, 40, rng_for(name)))
    for code in multi:
        for bo, tag in (("<", "le"), (">", "be")):
            dt = np.dtype(bo + code)
            name = "%s_%s_1d.npy" % (fname(code), tag)
            n = 200 if code in ("f8", "i4") else 40
            save(name, simple_values(dt, n, rng_for(name)))

    # C and Fortran order, 2-D and 3-D.
    for code, shape in [("<f8", (4, 5)), ("<i4", (2, 3, 4)), (">i2", (3, 2, 4)),
                        (">f4", (5, 3)), ("<c16", (3, 4)), ("|b1", (3, 5)),
                        ("|S3", (2, 3)), ("<U2", (2, 2, 3)), (">M8[ns]", (2, 4)),
                        ("|u1", (4, 3, 2)), ("<f2", (3, 3)), (">c8", (2, 3, 2))]:
        dt = np.dtype(code)
        n = int(np.prod(shape))
        for order in ("C", "F"):
            name = "%s_%dd_%s.npy" % (fname(code), len(shape), order.lower())
            vals = simple_values(dt, n, rng_for(name))[-n:].reshape(shape)
            a = np.asfortranarray(vals) if order == "F" else np.ascontiguousarray(vals)
            save(name, a)
    # Non-contiguous arrays: NumPy writes them in C order.
    base = simple_values(np.dtype("<i8"), 60, rng_for("noncontig"))[-60:].reshape(3, 4, 5)
    save("i8_le_3d_noncontig.npy", base.transpose(1, 0, 2),
         note="transposed view, neither C nor F contiguous: written C order")
    save("f8_le_2d_strided.npy", simple_values(np.dtype("<f8"), 40, rng_for("strided"))[-40:].reshape(5, 8)[:, ::3],
         note="strided slice: written C order")

    # 0-d arrays.
    for code in ["<f8", ">i4", "|b1", "<c8", ">f2", "<U5", "|S4", "<M8[D]", ">m8[ns]", "|V3"]:
        dt = np.dtype(code)
        name = "%s_0d.npy" % fname(code)
        a = np.array(simple_values(dt, 3, rng_for(name))[-1], dtype=dt).reshape(())
        save(name, a)

    # Empty arrays.
    save("f8_le_empty_0.npy", np.zeros((0,), "<f8"))
    save("i4_be_empty_3x0.npy", np.zeros((3, 0), ">i4"))
    save("u2_le_empty_0x3_f.npy", np.asfortranarray(np.zeros((0, 3), "<u2")),
         note="zero-size arrays are both C and F contiguous: NumPy writes fortran_order False")
    save("c16_be_empty_2x0x3.npy", np.zeros((2, 0, 3), ">c16"))
    save("U4_le_empty_0.npy", np.zeros((0,), "<U4"))
    save("S2_empty_0x0.npy", np.zeros((0, 0), "|S2"))

    # Shapes whose first (or, for F order, last) dimension has many digits: growth spare spaces.
    save("u1_1d_long.npy", random_fill("|u1", (1000,), rng_for("u1long")))
    save("b1_2d_f_long_last.npy",
         np.asfortranarray(random_fill("|b1", (2, 123), rng_for("b1long"))),
         note="F order: growth spare spaces count digits of shape[-1]")
    save("f4_le_3d_ones.npy", random_fill("<f4", (1, 1, 1), rng_for("ones")))

    # Explicit versions for a plain array.
    small = simple_values(np.dtype("<f8"), 3, rng_for("explicit"))[-3:]
    save("f8_le_v1_explicit.npy", small, version=(1, 0))
    save("f8_le_v2_explicit.npy", small, version=(2, 0),
         note="explicit version 2.0: 4-byte length field, data still 64-aligned")
    save("f8_le_v3_explicit.npy", small, version=(3, 0),
         note="explicit version 3.0 with an ASCII header")

    # Structured dtypes.
    golden = np.dtype([("x", "<i4", (2,)), ("y", "<f8"), ("s", "|S3")])
    save("struct_golden_formats_md.npy", random_fill(golden, (2,), rng_for("golden")),
         note="the structured golden vector in formats.md: HEADER_LEN 182, total 192")
    flat = [("b", "|b1"), ("i1", "|i1"), ("u2", "<u2"), ("i8", "<i8"), ("f4", "<f4"),
            ("f2", "<f2"), ("c8", "<c8"), ("t", "<M8[ms]"), ("d", "<m8[s]"), ("u", "<U2"),
            ("s", "|S3"), ("v", "|V3"), ("u8", "<u8")]
    struct_both("struct_flat", flat, (7,))
    sub = [("id", "<u4"), ("pos", "<f8", (3,)), ("m", "<i2", (2, 2)), ("tag", "|S2", (2,))]
    struct_both("struct_subarray", sub, (5,))
    nested = [("id", "<i8"),
              ("pt", [("x", "<f4"), ("y", "<f4")]),
              ("bb", [("lo", [("x", "<i2"), ("y", "<i2")]), ("hi", [("x", "<i2"), ("y", "<i2")])]),
              ("pts", [("x", "<f8"), ("n", "<u2", (2,))], (2,))]
    struct_both("struct_nested", nested, (4,))
    struct_both("struct_2d", [("a", "<i4"), ("b", "<f8")], (3, 4), orders=("C", "F"))
    struct_both("struct_0d", [("a", "<u2"), ("b", "<c8")], ())
    save("struct_empty_0.npy", np.zeros((0,), np.dtype([("a", "<i4"), ("b", "|S2")])))

    aligned = np.dtype([("a", "i1"), ("b", "<i4")], align=True)
    save("struct_aligned_le.npy", random_fill(aligned, (6,), rng_for("aligned")),
         note="align=True: descr has a ('', '|V3') padding field; padding bytes are zero")
    aligned_be = np.dtype([("a", "i1"), ("b", ">i4")], align=True)
    save("struct_aligned_be.npy", random_fill(aligned_be, (6,), rng_for("aligned")),
         note="big-endian padded struct; NumPy's astype leaves canonical padding uninitialised, "
              "sha256 assumes padding copied as stored (zero)")
    tail = np.dtype([("a", "<i4"), ("b", "i1")], align=True)
    save("struct_aligned_tailpad.npy", random_fill(tail, (5,), rng_for("tailpad")),
         note="trailing padding: descr ends with ('', '|V3')")
    offs = np.dtype({"names": ["a", "b"], "formats": ["<u2", ">f8"], "offsets": [0, 8], "itemsize": 24})
    save("struct_offsets_gaps.npy", random_fill(offs, (3,), rng_for("offs")),
         note="explicit offsets with gaps and trailing space: ('', '|V6') and ('', '|V8') fields")
    titled = np.dtype([(("Temperature in K", "temp"), "<f8"), ("n", "<i4"), (("count (\u00e9)", "c"), ">u2")])
    save("struct_titles.npy", random_fill(titled, (4,), rng_for("titled")),
         note="titles appear as ((title, name), descr); one title is latin1 non-ASCII")
    latin = np.dtype([("t\u00e9mp\u00e9rature", "<f4"), ("\u00ff", "|u1")])
    save("struct_latin1_v1.npy", random_fill(latin, (3,), rng_for("latin1")),
         note="non-ASCII latin1 field names stay version 1.0 (latin1 header)")
    cjk = np.dtype([("\u6e29\u5ea6", "<f8"), ("id", "<i4"), ("\U0001F600", "|b1")])
    save("struct_utf8_v3.npy", random_fill(cjk, (3,), rng_for("cjk")),
         note="non-latin1 field names force version 3.0 (UTF-8 header)")
    save("struct_utf8_v3_be_2d_f.npy",
         np.asfortranarray(random_fill(cjk.newbyteorder(">"), (2, 3), rng_for("cjkbe"))))

    # Header exactly filling a 64-byte multiple before padding: NumPy pads 64 more.
    for k in range(1, 64):
        dt = np.dtype([("n" * k, "<i4")])
        h = numpy_header(np.zeros((3,), dt))
        d = h[10:].rstrip(b"\n")
        if len(d) - len(d.rstrip(b" ")) == 64 + 20:  # 20 growth spaces for "3" + 64 padding
            save("struct_pad64_exact.npy", random_fill(dt, (3,), rng_for("pad64")),
                 note="dict text + growth spaces + newline is a multiple of 64: NumPy adds 64 spaces, not 0")
            break
    else:
        raise AssertionError("no pad-64 case found")

    # Version 2.0 chosen automatically: header longer than 65535 bytes.
    codes = ["|u1", "<i2", ">f4", "|b1", "<u4", "|S1"]
    many = np.dtype([("field_%04d" % i, codes[i % len(codes)]) for i in range(3900)])
    save("struct_v2_many_fields.npy", random_fill(many, (2,), rng_for("many")),
         note="3900 fields: header > 65535 bytes, NumPy picks version 2.0 "
              "(and default np.load refuses it without max_header_size)")


def struct_both(prefix, fields, shape, orders=("C",)):
    le = np.dtype(fields)
    be = le.newbyteorder(">")
    for dt, tag in ((le, "le"), (be, "be")):
        for order in orders:
            name = "%s_%s%s.npy" % (prefix, tag, "_f" if order == "F" else "")
            a = random_fill(dt, shape, rng_for(prefix + order))
            if order == "F":
                a = np.asfortranarray(a)
            save(name, a)


def fname(code):
    """File-name-safe dtype code: 'M8[ns]' -> 'M8ns', '<f8' -> 'f8_le' handled by callers."""
    bo = ""
    if code[0] in "<>|=":
        bo = {"<": "_le", ">": "_be", "|": "", "=": ""}[code[0]]
        code = code[1:]
    return code.replace("[", "").replace("]", "") + bo


# ---------------------------------------------------------------------------
# Legacy headers NumPy still reads (hand-made, go to npy/ with legacy: true)
# ---------------------------------------------------------------------------

def raw_header(text, major=1, minor=0, align=64, newline=True, pad=True, encoding="latin1"):
    """magic + version + length + text, padded with spaces to align (and '\\n')."""
    body = text.encode(encoding) if isinstance(text, str) else text
    lf = 2 if major == 1 else 4
    hlen = len(body) + (1 if newline else 0)
    padlen = (-(len(MAGIC) + 2 + lf + hlen) % align) if pad else 0
    body = body + b" " * padlen + (b"\n" if newline else b"")
    fmt = "<H" if major == 1 else "<I"
    return MAGIC + bytes([major, minor]) + struct.pack(fmt, len(body)) + body


def legacy(name, text, a, note, fortran=False, **kw):
    data = a.tobytes(order="F" if fortran else "C")
    path = os.path.join(GOOD_DIR, name)
    with open(path, "wb") as f:
        f.write(raw_header(text, **kw) + data)
    record(name, path, a, legacy=True, note=note)


def gen_legacy():
    f8 = simple_values(np.dtype("<f8"), 3, rng_for("legacy_f8"))[-3:]
    legacy("legacy_align16.npy", "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }", f8,
           "old NumPy: padded to 16 bytes, no growth spaces", align=16)
    legacy("legacy_no_newline.npy", "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }", f8,
           "padded with spaces to 64 but no trailing newline", newline=False)
    legacy("legacy_unpadded.npy", "{'descr': '<f8', 'fortran_order': False, 'shape': (3,)}", f8,
           "gonpy style: no padding, no newline, data at an odd offset (unaligned)", newline=False, pad=False)
    i8 = simple_values(np.dtype("<i8"), 6, rng_for("legacy_L"))[-6:].reshape(2, 3)
    legacy("legacy_py2_long_2d.npy", "{'descr': '<i8', 'fortran_order': False, 'shape': (2L, 3L), }", i8,
           "Python 2 NumPy: L suffixes on the shape ints", align=16)
    u1 = simple_values(np.dtype("|u1"), 3, rng_for("legacy_L1"))[-3:]
    legacy("legacy_py2_long_1d.npy", "{'descr': '|u1', 'fortran_order': False, 'shape': (3L,), }", u1,
           "Python 2 NumPy: (3L,)", align=16)
    f4 = simple_values(np.dtype("<f4"), 4, rng_for("legacy_dq"))[-4:].reshape(2, 2)
    legacy("legacy_double_quotes.npy", '{"descr": "<f4", "fortran_order": False, "shape": (2, 2)}', f4,
           "double-quoted keys and values, no trailing comma")
    u2 = simple_values(np.dtype(">u2"), 4, rng_for("legacy_order"))[-4:]
    legacy("legacy_key_order.npy", "{'shape': (4,), 'fortran_order': False, 'descr': '>u2'}", u2,
           "keys in another order")
    i2 = np.asfortranarray(simple_values(np.dtype("<i2"), 6, rng_for("legacy_ws"))[-6:].reshape(2, 3))
    legacy("legacy_whitespace_f.npy", "{  'descr' :\t'<i2' ,  'fortran_order' : True ,'shape':( 2 ,3 ) ,}", i2,
           "extra spaces and a tab around tokens; Fortran order", fortran=True)
    zero = np.array(simple_values(np.dtype("<f8"), 1, rng_for("legacy_0d"))[-1]).reshape(())
    legacy("legacy_0d_spaces.npy", "{'descr':'<f8','fortran_order':False,'shape':( ),}", zero,
           "no spaces after colons/commas; 0-d shape written '( )'")
    eq = simple_values(np.dtype("<i4"), 5, rng_for("legacy_eq"))[-5:]
    legacy("legacy_native_order.npy", "{'descr': '=i4', 'fortran_order': False, 'shape': (5,), }", eq,
           "descr with '=' (native) byte order; NumPy reads it as native (little-endian here)")
    st = random_fill(np.dtype([("a", "<i4"), ("b", "|S2")]), (2,), rng_for("legacy_struct"))
    legacy("legacy_struct_v2_align16.npy",
           "{'descr': [('a', '<i4'), ('b', '|S2')], 'fortran_order': False, 'shape': (2L,), }", st,
           "version 2.0 header with an L suffix, 16-byte alignment", major=2, align=16)


# ---------------------------------------------------------------------------
# Malformed files
# ---------------------------------------------------------------------------

BAD = []


def bad(name, content, error, desc, stage="header", also_ok=None):
    path = os.path.join(BAD_DIR, name)
    with open(path, "wb") as f:
        f.write(content)
    e = {"name": name, "error": error, "stage": stage, "description": desc, "size": len(content)}
    if also_ok:
        e["also_ok"] = also_ok
    BAD.append(e)


def hdr(shape="(3,)", descr="'<f8'", fortran="False"):
    return "{'descr': %s, 'fortran_order': %s, 'shape': %s, }" % (descr, fortran, shape)


F8x3 = np.array([1.5, -2.0, 3.25], "<f8").tobytes()


def gen_bad():
    ok_v1 = raw_header(hdr()) + F8x3
    # 1. NumPy's seven malformed magic strings (test_format.py malformed_magic).
    for tag, magic in [("92", b"\x92NUMPY\x01\x00"), ("00", b"\x00NUMPY\x01\x00"),
                       ("lower", b"\x93numpy\x01\x00"), ("matlb", b"\x93MATLB\x01\x00")]:
        bad("magic_%s.npy" % tag, magic + ok_v1[8:], "bad_magic",
            "magic %r followed by a valid v1 header and data" % magic)
    bad("magic_7bytes.npy", b"\x93NUMPY\x01", "bad_magic", "7 bytes: magic cut after the major version")
    bad("magic_6bytes.npy", b"\x93NUMPY", "bad_magic", "6 bytes: magic string only, no version")
    bad("magic_empty.npy", b"", "bad_magic", "empty file")
    bad("magic_text.npy", b"hello, this is not an npy file\n", "bad_magic", "a text file")

    # 2. Versions NumPy refuses, each followed by a valid v1-layout header.
    for v in [(1, 1), (0, 0), (0, 1), (2, 2), (255, 255), (4, 0)]:
        bad("version_%d_%d.npy" % v, MAGIC + bytes(v) + ok_v1[8:], "unsupported_version",
            "format version %d.%d (only 1.0, 2.0, 3.0 exist)" % v)
    for v in [(1, 0), (2, 0), (3, 0)]:
        bad("magic_v%d_only.npy" % v[0], MAGIC + bytes(v), "truncated",
            "valid magic and version %d.%d, nothing after" % v)

    # 3. Header length beyond the file.
    bad("hlen_1byte.npy", MAGIC + b"\x01\x00\x01", "truncated", "v1 length field cut after 1 byte")
    bad("hlen_v2_2bytes.npy", MAGIC + b"\x02\x00\x76\x00", "truncated", "v2 length field cut after 2 of 4 bytes")
    bad("hlen_beyond_file.npy", ok_v1[:50], "truncated",
        "v1 length 118 but only 40 header bytes present")
    bad("hlen_v1_max_beyond.npy", MAGIC + b"\x01\x00\xff\xff" + hdr().encode(), "truncated",
        "v1 length 65535 (within any cap) but the file is tiny")
    bad("hlen_v2_beyond_file.npy", MAGIC + b"\x02\x00" + struct.pack("<I", 1000) + hdr().encode() + b"\n",
        "truncated", "v2 length 1000, header is 56 bytes and the file ends")

    # 4. Header length above the cap: must be refused before reading/allocating.
    bad("hlen_v2_4gib.npy", MAGIC + b"\x02\x00" + struct.pack("<I", 0xFFFFFFF0) + hdr().encode() + b"\n",
        "header_too_large", "v2 length field 0xFFFFFFF0 (~4 GiB) in a tiny file")
    bad("hlen_v3_2gib.npy", MAGIC + b"\x03\x00" + struct.pack("<I", 0x80000000) + hdr().encode() + b"\n",
        "header_too_large", "v3 length field 0x80000000 (2 GiB, negative as int32)")
    bad("hlen_v2_max.npy", MAGIC + b"\x02\x00" + b"\xff\xff\xff\xff", "header_too_large",
        "v2 length field 0xFFFFFFFF and nothing after")

    # 5. Not a dict / unbalanced / non-literal.
    for name, text, desc in [
        ("header_list.npy", "[('descr', '<f8'), ('fortran_order', False), ('shape', (3,))]", "header is a list"),
        ("header_string.npy", "'descr'", "header is a string literal"),
        ("header_tuple.npy", "('<f8', False, (3,))", "header is a tuple"),
        ("header_set.npy", "{'descr', 'fortran_order', 'shape'}", "header is a set literal"),
        ("header_int.npy", "42", "header is an int"),
        ("header_empty.npy", "", "header is empty (only padding)"),
        ("header_unbalanced_brace.npy", "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), ",
         "missing closing brace"),
        ("header_unbalanced_paren.npy", "{'descr': '<f8', 'fortran_order': False, 'shape': (3, }",
         "shape tuple never closed"),
        ("header_extra_close.npy", "{'descr': '<f8', 'fortran_order': False, 'shape': (3,)}}",
         "extra closing brace"),
        ("header_unterminated_str.npy", "{'descr': '<f8, 'fortran_order': False, 'shape': (3,), }",
         "unterminated string literal"),
        ("header_call.npy", hdr(shape="tuple([3])"), "shape given as a function call"),
        ("header_import.npy", hdr(descr="__import__('os').getcwd()"), "descr is __import__(...) code"),
        ("header_arith.npy", hdr(shape="(1+2,)"), "arithmetic expression in the shape"),
        ("header_name.npy", hdr(fortran="false"), "bare name 'false' (not Python's False)"),
        ("header_missing_fortran.npy", "{'descr': '<f8', 'shape': (3,), }", "fortran_order key missing"),
        ("header_missing_descr.npy", "{'fortran_order': False, 'shape': (3,), }", "descr key missing"),
        ("header_extra_key.npy", "{'descr': '<f8', 'extrakey': -1, 'fortran_order': False, 'shape': (3,), }",
         "extra key 'extrakey'"),
        ("header_int_key.npy", "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), 1: 2}",
         "extra non-string key"),
        ("header_bytes_keys.npy", "{b'descr': '<f8', b'fortran_order': False, b'shape': (3,), }",
         "bytes literals as keys"),
        ("fortran_int0.npy", hdr(fortran="0"), "fortran_order is 0, not a bool"),
        ("fortran_int1.npy", hdr(fortran="1"), "fortran_order is 1, not a bool"),
        ("fortran_str.npy", hdr(fortran="'True'"), "fortran_order is the string 'True'"),
        ("fortran_none.npy", hdr(fortran="None"), "fortran_order is None"),
    ]:
        bad(name, raw_header(text) + F8x3, "bad_header", desc)
    bad("header_nul_byte.npy", raw_header(hdr().replace("'<f8'", "'<f8\x00'")) + F8x3, "bad_dtype",
        "NUL byte inside the descr string", also_ok=["bad_header"])
    bad("header_v3_bad_utf8.npy", raw_header(b"{'descr': [('\xff\xfe', '<f8')], 'fortran_order': False, 'shape': (3,), }",
                                             major=3) + F8x3,
        "bad_header", "version 3.0 header with invalid UTF-8 bytes")
    bad("header_v3_long_suffix.npy", raw_header(hdr(shape="(3L,)"), major=3) + F8x3, "bad_header",
        "L suffix in a version 3.0 header (NumPy filters L only for <= 2.0)")
    deep = "[" * 2000 + "]" * 2000
    bad("header_deep_nesting.npy", raw_header(hdr(descr=deep)) + F8x3, "bad_header",
        "descr nested 2000 lists deep (parser must bound recursion)", also_ok=["bad_dtype"])

    # 7. Bad shapes.
    for name, shape, desc in [
        ("shape_list.npy", "[3]", "shape is a list"),
        ("shape_int.npy", "3", "shape is a bare int"),
        ("shape_none.npy", "None", "shape is None"),
        ("shape_str_dim.npy", "('3',)", "dimension is a string"),
        ("shape_float.npy", "(3.0,)", "dimension is a float"),
        ("shape_negative.npy", "(-1,)", "negative dimension"),
        ("shape_negative_2d.npy", "(2, -3)", "negative second dimension"),
        ("shape_overflow_int64.npy", "(2, 9223372036854775807)", "element count 2*(2**63-1) overflows int64"),
        ("shape_overflow_uint_wrap.npy", "(2, 18446744073709551614)",
         "dimension above int64 whose product wraps to 2**64-4 (safetensors case)"),
        ("shape_bigint.npy", "(1000000000000000000000000000000,)", "dimension 10**30"),
        ("shape_nbytes_overflow.npy", "(1152921504606846976,)", "2**60 float64 elements: byte size 2**63 overflows int64"),
        ("shape_nested.npy", "((3,),)", "dimension is a tuple"),
    ]:
        bad(name, raw_header(hdr(shape=shape)) + F8x3, "bad_shape", desc)

    # 9. dtypes: unknown, unsized, object.
    for name, descr, err, desc in [
        ("descr_x4.npy", "'<x4'", "bad_dtype", "unknown type code x"),
        ("descr_f3.npy", "'<f3'", "bad_dtype", "float of 3 bytes does not exist"),
        ("descr_empty.npy", "''", "bad_dtype", "empty descr string"),
        ("descr_int.npy", "8", "bad_dtype", "descr is an int"),
        ("descr_S0.npy", "'|S0'", "bad_dtype", "unsized byte string (itemsize 0)"),
        ("descr_U0.npy", "'<U0'", "bad_dtype", "unsized unicode string"),
        ("descr_bad_unit.npy", "'<M8[fortnights]'", "bad_dtype", "unknown datetime unit"),
        ("descr_bang_order.npy", "'!f8'", "bad_dtype", "byte order '!' is not valid in a descr (NumPy refuses)"),
        ("descr_struct_bad_field.npy", "[('a', '<i4'), ('b', '<x4')]", "bad_dtype", "struct field of unknown type"),
        ("descr_struct_dup_name.npy", "[('a', '<i4'), ('a', '<f4')]", "bad_dtype", "duplicate field name"),
        ("descr_struct_short_tuple.npy", "[('a',)]", "bad_dtype", "field tuple without a type"),
        ("descr_struct_long_tuple.npy", "[('a', '<i4', (2,), 5)]", "bad_dtype", "field tuple with 4 items"),
        ("descr_struct_neg_subshape.npy", "[('a', '<i4', (-2,))]", "bad_dtype",
         "negative sub-array dimension", ),
        ("descr_O.npy", "'O'", "object_dtype", "object dtype 'O' (pickled data)"),
        ("descr_O_pipe.npy", "'|O'", "object_dtype", "object dtype '|O' as np.save writes it"),
        ("descr_O8.npy", "'<O8'", "object_dtype", "object dtype spelled '<O8'"),
        ("descr_struct_O.npy", "[('a', '<i4'), ('o', '|O')]", "object_dtype", "structured with an object field"),
        ("descr_struct_nested_O.npy", "[('a', '<i4'), ('n', [('x', '<f8'), ('o', '|O')])]", "object_dtype",
         "nested struct with an object field"),
        ("descr_struct_subarray_O.npy", "[('o', '|O', (2,))]", "object_dtype", "object sub-array field"),
    ]:
        bad(name, raw_header(hdr(descr=descr)) + F8x3, err, desc,
            also_ok=["bad_shape"] if name == "descr_struct_neg_subshape.npy" else None)

    # 10. Data one byte short, for several dtypes and orders.
    for name, a in [
        ("short_f8_1d.npy", np.arange(3, dtype="<f8")),
        ("short_i2_be_3d_f.npy", np.asfortranarray(np.arange(24, dtype=">i2").reshape(2, 3, 4))),
        ("short_c16_2d.npy", np.arange(6, dtype="<c16").reshape(2, 3)),
        ("short_b1_1d.npy", np.array([True, False, True])),
        ("short_U3_1d.npy", np.array(["ab", "c\u00e9"], "<U3")),
        ("short_struct.npy", np.zeros(2, [("a", "<i4"), ("b", "|S3")])),
        ("short_f8_0d.npy", np.array(2.5, "<f8")),
        ("short_u1_1.npy", np.array([7], "|u1")),
    ]:
        bad(name, npy_bytes(a)[:-1], "truncated",
            "%s %s %s-order: data section one byte short" % (a.dtype.str, a.shape,
                                                            "F" if a.flags.f_contiguous and a.ndim > 1 else "C"),
            stage="data")
    for name, a in [("short_empty_f8.npy", np.zeros(0, "<f8")), ("short_empty_struct.npy", np.zeros((2, 0), [("a", "<i4")]))]:
        bad(name, npy_bytes(a)[:-1], "truncated",
            "zero-size array cut by one byte: the header's newline is missing (header EOF)")
    bad("short_no_data.npy", raw_header(hdr()), "truncated", "(3,) f8 header and no data at all", stage="data")
    # 11. Declared size far beyond the file.
    bad("huge_declared.npy", raw_header(hdr(shape="(1000000000000,)")) + F8x3[:16], "truncated",
        "shape (10**12,) float64 (8 TB) in a ~144-byte file: must fail before allocating", stage="data")
    bad("huge_declared_2d_f.npy", raw_header(hdr(shape="(100000, 100000)", descr="'>c16'", fortran="True")) + F8x3,
        "truncated", "shape (100000, 100000) c16 (160 GB) in a tiny file", stage="data")

    # 12. Trailing bytes after the data.
    ok = npy_bytes(np.array([1.5, -2.0, 3.25], "<f8"))
    bad("trailing_1byte.npy", ok + b"\x00", "trailing_data", "one extra byte after the data", stage="data")
    bad("trailing_npy.npy", ok + ok, "trailing_data", "a second .npy appended after the first", stage="data")
    bad("trailing_empty.npy", npy_bytes(np.zeros((0, 3), "<i4")) + b"junk", "trailing_data",
        "zero-size array followed by 4 bytes", stage="data")


def npy_bytes(a):
    import io
    bio = io.BytesIO()
    npf.write_array(bio, a, allow_pickle=False)
    return bio.getvalue()


# ---------------------------------------------------------------------------
# What NumPy itself does with each bad file (run in a child with a memory cap)
# ---------------------------------------------------------------------------

def numpy_verdicts(paths):
    """Map file name -> NumPy 1.24's np.load outcome, computed in a child process."""
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", PYTHONHASHSEED="0")  # set repr order
    out = subprocess.run([sys.executable, os.path.abspath(__file__), "--numpy-verdicts"] + paths,
                         capture_output=True, env=env, timeout=300, check=True)
    return json.loads(out.stdout)


def child_verdicts(paths):
    import resource
    resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))
    res = {}
    for p in paths:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                a = np.load(p, allow_pickle=False)
            res[os.path.basename(p)] = "accepts: dtype %s shape %s" % (a.dtype.str, a.shape)
        except BaseException as e:  # noqa: record whatever NumPy raises
            msg = str(e).splitlines()[0] if str(e) else ""
            msg = re.sub(r" at 0x[0-9a-f]+>", ">", msg)  # ast node addresses vary per run
            if len(msg) > 160:
                msg = msg[:157] + "..."
            res[os.path.basename(p)] = "%s: %s" % (type(e).__name__, msg)
    json.dump(res, sys.stdout)


# ---------------------------------------------------------------------------

def write_manifest(path, meta, entries):
    """Pretty JSON, one key per line, long values (values, header_hex) on one line."""
    lines = ["{"]
    for k, v in meta.items():
        lines.append(" %s: %s," % (json.dumps(k), json.dumps(v)))
    lines.append(' "files": [')
    for i, e in enumerate(entries):
        lines.append("  {")
        items = list(e.items())
        for j, (k, v) in enumerate(items):
            sep = "," if j < len(items) - 1 else ""
            lines.append("   %s: %s%s" % (json.dumps(k), json.dumps(v, separators=(",", ":")), sep))
        lines.append("  }" + ("," if i < len(entries) - 1 else ""))
    lines.append(" ]")
    lines.append("}")
    with open(path, "w", encoding="ascii") as f:
        f.write("\n".join(lines) + "\n")


def clean(d):
    os.makedirs(d, exist_ok=True)
    for n in os.listdir(d):
        if n.endswith(".npy") or n == "manifest.json":
            os.remove(os.path.join(d, n))


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--numpy-verdicts":
        child_verdicts(sys.argv[2:])
        return
    ver = tuple(int(x) for x in np.__version__.split(".")[:2])
    if ver < (1, 24):
        sys.exit("gen.py: NumPy >= 1.24 needed (growth-axis spare spaces); found %s" % np.__version__)
    if ver != (1, 24):
        print("gen.py: warning: fixtures were made with NumPy 1.24.2; %s may write different bytes"
              % np.__version__, file=sys.stderr)
    clean(GOOD_DIR)
    clean(BAD_DIR)
    gen_good()
    gen_legacy()
    gen_bad()
    names = [e["name"] for e in GOOD + BAD]
    assert len(names) == len(set(names)), "duplicate fixture names"
    verdicts = numpy_verdicts([os.path.join(BAD_DIR, e["name"]) for e in BAD])
    for e in BAD:
        e["numpy"] = verdicts[e["name"]]
    meta = {"generator": "testdata/gen.py", "numpy_version": np.__version__,
            "canonical": "sha256 of np.ascontiguousarray(a.astype(a.dtype.newbyteorder('<'))).tobytes()"}
    meta["canonical_padding"] = (
        "for structured dtypes with padding (has_padding true) NumPy's astype leaves the padding "
        "bytes of the new array uninitialised (seen as garbage, also for little-endian files), so the "
        "expression above is not deterministic there; sha256 hashes the padding bytes as stored in "
        "the file (always zero in these fixtures)")
    write_manifest(os.path.join(GOOD_DIR, "manifest.json"), meta, GOOD)
    meta = {"generator": "testdata/gen.py", "numpy_version": np.__version__,
            "errors": ["bad_magic", "unsupported_version", "truncated", "header_too_large", "bad_header",
                       "bad_shape", "bad_dtype", "object_dtype", "trailing_data"]}
    write_manifest(os.path.join(BAD_DIR, "manifest.json"), meta, BAD)
    total = sum(os.path.getsize(os.path.join(d, n)) for d in (GOOD_DIR, BAD_DIR) for n in os.listdir(d))
    print("gen.py: %d valid files (%d legacy), %d malformed files, %d bytes in total"
          % (len(GOOD), sum(e["legacy"] for e in GOOD), len(BAD), total))


if __name__ == "__main__":
    main()
