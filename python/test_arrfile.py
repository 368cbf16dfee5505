"""Unit tests of arrfile.py: /usr/bin/python3 -m unittest discover python

The interop tests with real Go processes are in interop_test.go (go test
./python/), which also runs these.
"""

import errno
import fcntl
import gc
import io
import os
import re
import socket
import struct
import subprocess
import sys
import tempfile
import textwrap
import unittest
from unittest import mock

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import arrfile  # noqa: E402

LINUX = sys.platform.startswith("linux")
HERE = os.path.dirname(os.path.abspath(__file__))
TEMP_RE = re.compile(r"^\.(.+)\.(\d+)\.arrtmp$")


def npsave_bytes(a):
    bio = io.BytesIO()
    np.save(bio, a)
    return bio.getvalue()


def open_fds():
    return len(os.listdir("/proc/self/fd"))


def is_live(path):
    """Go's mmfile isLive: another open of the file asks F_OFD_GETLK
    whether someone holds the byte at 1<<62."""
    fd = os.open(path, os.O_RDONLY)
    try:
        res = fcntl.fcntl(fd, 36, struct.pack("hhqqi", fcntl.F_WRLCK, 0, 1 << 62, 1, 0))
    finally:
        os.close(fd)
    return struct.unpack("hhqqi", res)[0] != fcntl.F_UNLCK


class Base(unittest.TestCase):
    def setUp(self):
        root = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
        self._td = tempfile.TemporaryDirectory(dir=root)
        self.dir = self._td.name

    def tearDown(self):
        gc.collect()
        self._td.cleanup()

    def p(self, name):
        return os.path.join(self.dir, name)


class TestHeader(Base):
    CASES = [
        np.arange(12, dtype="<f8").reshape(3, 4),
        np.array(7, dtype=np.int8),
        np.zeros((0, 5), dtype=np.uint16),
        np.asfortranarray(np.arange(6, dtype=np.float32).reshape(2, 3)),
        np.arange(5, dtype=">i4"),
        np.array(["ab", "cde"], dtype="U3"),
        np.zeros(3, dtype=[("x", "<f4"), ("y", "<i2", (2,))]),
        np.zeros(2, dtype=[("f%d" % i, "<f8") for i in range(3000)]),  # needs version 2.0
        np.zeros((2, 3, 4), dtype=np.complex128)[:, ::2],  # not contiguous: stored in C order
        np.arange(10).astype("datetime64[s]"),
    ]

    def test_save_is_byte_identical_to_np_save(self):
        for i, a in enumerate(self.CASES):
            with self.subTest(i=i, dtype=str(a.dtype)[:40], shape=a.shape):
                arrfile.save(self.p("x.npy"), a)
                with open(self.p("x.npy"), "rb") as f:
                    got = f.read()
                self.assertEqual(got, npsave_bytes(a))
                b = arrfile.load(self.p("x.npy"), max_header_size=100000)
                np.testing.assert_array_equal(b, a)
                self.assertEqual(b.dtype, a.dtype)

    def test_create_header_is_np_save_header(self):
        for fortran in (False, True):
            p = arrfile.create(self.p("y.npy"), "<i2", (4, 5), fortran_order=fortran)
            p.array[...] = np.arange(20).reshape(4, 5)
            p.publish()
            a = np.arange(20, dtype="<i2").reshape(4, 5)
            if fortran:
                a = np.asfortranarray(a)
            with open(self.p("y.npy"), "rb") as f:
                self.assertEqual(f.read(), npsave_bytes(a))

    def test_numpy_integer_shape(self):
        p = arrfile.create(self.p("z.npy"), "f4", (np.int64(2), np.int32(3)))
        p.publish()
        self.assertEqual(np.load(self.p("z.npy")).shape, (2, 3))
        p = arrfile.create(self.p("z.npy"), "f4", 5)
        p.publish()
        self.assertEqual(np.load(self.p("z.npy")).shape, (5,))


class TestLoad(Base):
    def setUp(self):
        super().setUp()
        self.a = np.arange(20, dtype=np.float64).reshape(4, 5)
        self.name = self.p("a.npy")
        np.save(self.name, self.a)

    def test_modes(self):
        r = arrfile.load(self.name)
        self.assertIsInstance(r, np.memmap)
        self.assertEqual(r.filename, self.name)
        np.testing.assert_array_equal(r, self.a)
        with self.assertRaises(ValueError):
            r[0, 0] = 1
        w = arrfile.load(self.name, "r+")
        w[0, 0] = 42
        self.assertEqual(r[0, 0], 42)  # the same pages
        c = arrfile.load(self.name, mode="c")
        c[0, 1] = -1
        self.assertEqual(r[0, 1], 1)  # private
        self.assertEqual(np.load(self.name)[0, 0], 42)
        with self.assertRaises(ValueError):
            arrfile.load(self.name, "w+")

    def test_fortran_and_0d(self):
        np.save(self.p("f.npy"), np.asfortranarray(self.a))
        f = arrfile.load(self.p("f.npy"))
        self.assertTrue(f.flags.f_contiguous)
        np.testing.assert_array_equal(f, self.a)
        np.save(self.p("s.npy"), np.float32(2.5))
        s = arrfile.load(self.p("s.npy"))
        self.assertEqual(s.shape, ())
        self.assertEqual(float(s), 2.5)
        np.save(self.p("e.npy"), np.zeros((3, 0)))
        self.assertEqual(arrfile.load(self.p("e.npy")).shape, (3, 0))

    def test_opens_the_path_once(self):
        real_open = os.open
        with mock.patch("os.open", side_effect=real_open) as op, mock.patch(
            "builtins.open", side_effect=AssertionError("builtins.open used")
        ):
            a = arrfile.load(self.name)
        self.assertEqual(op.call_count, 1)
        np.testing.assert_array_equal(a, self.a)

    def test_republished_between_header_and_map(self):
        # The file that was opened is the file that is mapped, whatever
        # happens to the name after the open.
        real_pread = os.pread
        swapped = []

        def pread(fd, n, off):
            if not swapped:
                swapped.append(1)
                np.save(self.p("new.npy"), np.zeros((2, 2), dtype=np.int8))
                os.replace(self.p("new.npy"), self.name)
            return real_pread(fd, n, off)

        with mock.patch("os.pread", side_effect=pread):
            a = arrfile.load(self.name)
        np.testing.assert_array_equal(a, self.a)
        self.assertEqual(arrfile.load(self.name).shape, (2, 2))

    def test_by_descriptor(self):
        fd = os.open(self.name, os.O_RDONLY)
        try:
            os.lseek(fd, 7, os.SEEK_SET)
            a = arrfile.load(fd)
            np.testing.assert_array_equal(a, self.a)
            self.assertEqual(os.lseek(fd, 0, os.SEEK_CUR), 7)  # offset untouched
            del a
            gc.collect()
            os.fstat(fd)  # still the caller's
        finally:
            os.close(fd)

    def test_missing(self):
        with self.assertRaises(FileNotFoundError) as cm:
            arrfile.load(self.p("nope.npy"))
        self.assertEqual(cm.exception.filename, self.p("nope.npy"))

    def test_directory(self):
        with self.assertRaises(IsADirectoryError) as cm:
            arrfile.load(self.dir)
        self.assertIn(self.dir, str(cm.exception))

    def test_fifo_does_not_hang(self):
        os.mkfifo(self.p("fifo.npy"))
        with self.assertRaises(arrfile.FormatError) as cm:
            arrfile.load(self.p("fifo.npy"))
        self.assertIn("not a regular file", str(cm.exception))

    def test_not_npy(self):
        with open(self.p("x.npy"), "wb") as f:
            f.write(b"hello world, this is not an array")
        with self.assertRaises(arrfile.FormatError) as cm:
            arrfile.load(self.p("x.npy"))
        self.assertIn(self.p("x.npy"), str(cm.exception))
        self.assertIn("magic", str(cm.exception))
        self.assertIsInstance(cm.exception, ValueError)

    def test_bad_header(self):
        with open(self.name, "r+b") as f:
            f.seek(12)
            f.write(b"Xdescr")
        with self.assertRaises(arrfile.FormatError) as cm:
            arrfile.load(self.name)
        self.assertIn("bad .npy header", str(cm.exception))

    def test_max_header_size(self):
        a = np.zeros(2, dtype=[("f%d" % i, "<f8") for i in range(3000)])
        np.save(self.p("big.npy"), a)
        with self.assertRaises(arrfile.FormatError) as cm:
            arrfile.load(self.p("big.npy"))
        self.assertIn("max_header_size=10000", str(cm.exception))
        with self.assertRaises(ValueError):
            np.load(self.p("big.npy"), mmap_mode="r")  # NumPy refuses it as well
        self.assertEqual(arrfile.load(self.p("big.npy"), max_header_size=60000).shape, (2,))

    def test_object_dtype(self):
        np.save(self.p("o.npy"), np.array([1, "a"], dtype=object), allow_pickle=True)
        with self.assertRaises(arrfile.FormatError) as cm:
            arrfile.load(self.p("o.npy"))
        self.assertIn("objects", str(cm.exception))

    def test_truncated(self):
        size = os.path.getsize(self.name)
        for cut in (0, 3, 9, 50, 128, size - 1):
            with self.subTest(cut=cut):
                np.save(self.name, self.a)
                os.truncate(self.name, cut)
                with self.assertRaises(arrfile.TruncatedError) as cm:
                    arrfile.load(self.name, "r+")
                self.assertIn(self.name, str(cm.exception))
                self.assertEqual(os.path.getsize(self.name), cut)  # never extended
                last = str(cm.exception)
        self.assertIn("declares %d" % size, last)

    def test_trailing_bytes_allowed(self):
        with open(self.name, "ab") as f:
            f.write(b"\0" * 100)
        np.testing.assert_array_equal(arrfile.load(self.name), self.a)

    def test_no_descriptor_leak(self):
        arrfile.load(self.name)
        gc.collect()
        before = open_fds()
        for _ in range(300):
            a = arrfile.load(self.name)
            v = a[1:][::2]
            del a, v
        for _ in range(100):
            try:
                arrfile.load(self.p("nope.npy"))
            except FileNotFoundError:
                pass
        os.truncate(self.name, 100)
        for _ in range(100):
            try:
                arrfile.load(self.name)
            except arrfile.TruncatedError:
                pass
        gc.collect()
        self.assertEqual(open_fds(), before)


@unittest.skipUnless(LINUX, "the live mark is Linux-only")
class TestProducer(Base):
    def test_temp_name_lock_and_publish(self):
        name = self.p("data.npy")
        p = arrfile.create(name, "f4", (10, 3))
        self.assertEqual(os.path.dirname(p.temp), self.dir)
        m = TEMP_RE.match(os.path.basename(p.temp))
        self.assertIsNotNone(m, p.temp)
        self.assertEqual(m.group(1), "data.npy")
        self.assertLess(int(m.group(2)), 1 << 32)
        self.assertEqual(os.listdir(self.dir), [os.path.basename(p.temp)])
        self.assertTrue(is_live(p.temp))
        p.array[:] = 1.5
        temp = p.temp
        p.publish()
        self.assertTrue(p.published)
        self.assertIsNone(p.temp)
        self.assertEqual(p.array.filename, name)
        self.assertEqual(os.listdir(self.dir), ["data.npy"])
        self.assertFalse(is_live(name))  # the mark is dropped after the rename
        self.assertFalse(os.path.exists(temp))
        np.testing.assert_array_equal(np.load(name), np.full((10, 3), 1.5, dtype="f4"))
        p.array[0, 0] = 9  # still mapped, shared with readers
        self.assertEqual(np.load(name)[0, 0], 9)
        with self.assertRaises(arrfile.ArrfileError):
            p.publish()

    def test_live_mark_survives_other_closes(self):
        # A POSIX lockf would be dropped by any close of the file in this
        # process (NumPy's open_memmap closes its own descriptors); the OFD
        # lock is not.
        p = arrfile.create(self.p("d.npy"), "u1", (100,))
        for _ in range(3):
            os.close(os.open(p.temp, os.O_RDWR))
            with open(p.temp, "rb") as f:
                f.read(10)
            np.load(p.temp, mmap_mode="r")
        self.assertTrue(is_live(p.temp))
        p.abandon()

    def test_abandon(self):
        p = arrfile.create(self.p("d.npy"), "u1", (100,))
        p.abandon()
        self.assertEqual(os.listdir(self.dir), [])
        p.abandon()  # no-op
        with self.assertRaises(arrfile.ArrfileError):
            p.publish()
        with self.assertRaises(arrfile.ArrfileError):
            arrfile.lock(p)

    def test_context_manager(self):
        with arrfile.create(self.p("c.npy"), "i8", (4,)) as p:
            p.array[:] = [1, 2, 3, 4]
        self.assertEqual(np.load(self.p("c.npy")).tolist(), [1, 2, 3, 4])
        with self.assertRaises(KeyError):
            with arrfile.create(self.p("d.npy"), "i8", (4,)) as p:
                raise KeyError("boom")
        self.assertEqual(os.listdir(self.dir), ["c.npy"])

    def test_garbage_collected_producer_is_abandoned(self):
        p = arrfile.create(self.p("g.npy"), "i8", (4,))
        del p
        gc.collect()
        self.assertEqual(os.listdir(self.dir), [])

    def test_replaces_and_old_readers_keep_old(self):
        arrfile.save(self.p("r.npy"), np.arange(3))
        old = arrfile.load(self.p("r.npy"))
        arrfile.save(self.p("r.npy"), np.arange(5) * 10)
        self.assertEqual(old.tolist(), [0, 1, 2])
        self.assertEqual(arrfile.load(self.p("r.npy")).tolist(), [0, 10, 20, 30, 40])

    def test_refused_names(self):
        for bad in (".x.npy.123.arrtmp", ".a.b.arrtmp"):
            with self.assertRaises(ValueError) as cm:
                arrfile.create(self.p(bad), "f8", (1,))
            self.assertIn("temporary", str(cm.exception))
        for bad in (self.dir + "/", self.p(".."), ""):
            with self.assertRaises((ValueError, OSError)):
                arrfile.create(bad, "f8", (1,))
        with self.assertRaises(arrfile.FormatError):
            arrfile.create(self.p("o.npy"), object, (1,))
        with self.assertRaises(ValueError):
            arrfile.create(self.p("n.npy"), "f8", (2, -1))
        with self.assertRaises(FileNotFoundError):
            arrfile.create(self.p("missing/x.npy"), "f8", (1,))
        self.assertEqual(os.listdir(self.dir), [])

    def test_permissions(self):
        old = os.umask(0o077)
        try:
            arrfile.save(self.p("u.npy"), np.arange(3))
            np.save(self.p("n.npy"), np.arange(3))
        finally:
            os.umask(old)
        self.assertEqual(os.stat(self.p("u.npy")).st_mode & 0o777, 0o600)
        self.assertEqual(os.stat(self.p("n.npy")).st_mode & 0o777, 0o600)
        old = os.umask(0o077)
        try:
            arrfile.save(self.p("e.npy"), np.arange(3), perm=0o640)
        finally:
            os.umask(old)
        self.assertEqual(os.stat(self.p("e.npy")).st_mode & 0o777, 0o640)

    def test_no_space_is_an_error_at_create(self):
        # RLIMIT_FSIZE stands in for a full folder (root would need a mount).
        script = textwrap.dedent(
            """
            import resource, signal, sys
            sys.path.insert(0, %r)
            import arrfile
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, resource.RLIM_INFINITY))
            try:
                arrfile.create(%r, "f8", (1 << 20,))
            except OSError as e:
                print(e.errno, e.filename, e.strerror)
            """
            % (HERE, self.p("big.npy"))
        )
        out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=30)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("%d %s not enough space" % (errno.EFBIG, self.p("big.npy")), out.stdout)
        self.assertEqual(os.listdir(self.dir), [])

    def test_no_descriptor_leak(self):
        arrfile.save(self.p("l.npy"), np.arange(3))
        gc.collect()
        before = open_fds()
        for i in range(200):
            p = arrfile.create(self.p("l.npy"), "f8", (8,))
            if i % 2:
                p.publish()
            else:
                p.abandon()
            del p
        gc.collect()
        self.assertEqual(open_fds(), before)


@unittest.skipUnless(LINUX, "OFD locks are Linux-only")
class TestLocks(Base):
    def setUp(self):
        super().setUp()
        self.name = self.p("l.npy")
        np.save(self.name, np.zeros(64, dtype=np.int64))  # 512 data bytes

    def test_ranges_between_two_opens(self):
        a = arrfile.load(self.name, "r+")
        b = arrfile.load(self.name, "r+")
        self.assertTrue(arrfile.lock_range(a, 0, 64))
        self.assertTrue(arrfile.lock_range(a, 32, 64, wait=False))  # same open file: merges
        self.assertFalse(arrfile.lock_range(b, 0, 8, wait=False))
        self.assertFalse(arrfile.lock_range(b, 90, 8, exclusive=False, wait=False))
        self.assertTrue(arrfile.lock_range(b, 96, 8, wait=False))
        arrfile.unlock_range(a, 0, 96)
        self.assertTrue(arrfile.lock_range(b, 0, 8, wait=False))
        self.assertTrue(arrfile.lock_range(a, 200, 8, exclusive=False))
        self.assertTrue(arrfile.lock_range(b, 200, 8, exclusive=False, wait=False))  # shared + shared

    def test_range_survives_other_closes(self):
        a = arrfile.load(self.name, "r+")
        arrfile.lock_range(a, 0, 8)
        os.close(os.open(self.name, os.O_RDWR))  # would drop a lockf lock
        np.load(self.name, mmap_mode="r")
        b = arrfile.load(self.name, "r+")
        self.assertFalse(arrfile.lock_range(b, 0, 8, wait=False))

    def test_views_producers_descriptors(self):
        a = arrfile.load(self.name, "r+")
        view = np.asarray(a)[8:][::2]
        self.assertTrue(arrfile.lock_range(view, 0, 8))
        fd = os.open(self.name, os.O_RDWR)
        try:
            self.assertFalse(arrfile.lock_range(fd, 0, 8, wait=False))
            self.assertTrue(arrfile.lock_range(fd, 8, 8, wait=False))
        finally:
            os.close(fd)
        p = arrfile.create(self.p("m.npy"), "i8", (4,))
        self.assertTrue(arrfile.lock_range(p, 0, 32))
        self.assertTrue(arrfile.lock_range(p.array, 0, 32))
        p.publish()
        q = arrfile.load(self.p("m.npy"), "r+")
        self.assertFalse(arrfile.lock_range(q, 0, 8, wait=False))
        with self.assertRaises(TypeError):
            arrfile.lock(np.zeros(3))

    def test_file_coordinates_are_header_plus_offset(self):
        a = arrfile.load(self.name, "r+")
        arrfile.lock_range(a, 16, 8)
        fd = os.open(self.name, os.O_RDONLY)
        try:
            q = struct.pack("hhqqi", fcntl.F_WRLCK, 0, 0, 0, 0)  # whole file
            got = struct.unpack("hhqqi", fcntl.fcntl(fd, 36, q))
        finally:
            os.close(fd)
        self.assertEqual(got[0], fcntl.F_WRLCK)
        self.assertEqual((got[2], got[3]), (128 + 16, 8))

    def test_errors(self):
        r = arrfile.load(self.name)
        with self.assertRaises(arrfile.ArrfileError) as cm:
            arrfile.lock_range(r, 0, 8)
        self.assertIn("open for writing", str(cm.exception))
        self.assertTrue(arrfile.lock_range(r, 0, 8, exclusive=False))
        for off, n in ((-1, 8), (0, 0), (0, 513), (510, 8)):
            with self.assertRaises(ValueError) as cm:
                arrfile.lock_range(r, off, n, exclusive=False)
            self.assertIn("512-byte array data", str(cm.exception))

    def test_whole_file(self):
        a = arrfile.load(self.name)
        b = arrfile.load(self.name)
        self.assertTrue(arrfile.lock(a, exclusive=False))
        self.assertTrue(arrfile.lock(b, exclusive=False, wait=False))
        self.assertFalse(arrfile.lock(b, exclusive=True, wait=False))
        arrfile.unlock(a)
        self.assertTrue(arrfile.lock(b, exclusive=True, wait=False))
        self.assertFalse(arrfile.lock(a, exclusive=False, wait=False))
        # flock and range locks are independent
        c = arrfile.load(self.name, "r+")
        self.assertTrue(arrfile.lock_range(c, 0, 8, wait=False))
        del b
        gc.collect()  # the lock goes with the last reference
        self.assertTrue(arrfile.lock(a, wait=False))

    def test_across_processes(self):
        script = textwrap.dedent(
            """
            import sys
            sys.path.insert(0, %r)
            import arrfile
            a = arrfile.load(%r, "r+")
            arrfile.lock_range(a, 8, 8)
            arrfile.lock(a, exclusive=False)
            print("locked", flush=True)
            sys.stdin.readline()
            """
            % (HERE, self.name)
        )
        with subprocess.Popen(
            [sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        ) as child:
            try:
                self.assertEqual(child.stdout.readline().strip(), "locked")
                a = arrfile.load(self.name, "r+")
                self.assertFalse(arrfile.lock_range(a, 0, 9, wait=False))
                self.assertTrue(arrfile.lock_range(a, 0, 8, wait=False))
                self.assertTrue(arrfile.lock(a, exclusive=False, wait=False))
                self.assertFalse(arrfile.lock(arrfile.load(self.name), exclusive=True, wait=False))
            finally:
                child.stdin.close()
                child.wait(timeout=10)
        self.assertTrue(arrfile.lock_range(a, 8, 8, wait=False))  # gone with the process


@unittest.skipUnless(LINUX and hasattr(os, "memfd_create"), "memfd is Linux-only")
class TestRecv(Base):
    def memfd(self, a, seals):
        fd = os.memfd_create("arrfile:test", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
        os.write(fd, npsave_bytes(a))
        if seals:
            fcntl.fcntl(fd, fcntl.F_ADD_SEALS, seals)
        return fd

    def roundtrip(self, fds, data=b"A", **kw):
        s, r = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        with s, r:
            if fds is None:
                s.close()
            else:
                socket.send_fds(s, [data], fds)
                for fd in fds:
                    os.close(fd)
            return arrfile.recv_array(r, **kw)

    def test_sealed(self):
        a = np.arange(10, dtype=np.int32)
        got = self.roundtrip([self.memfd(a, fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW)])
        np.testing.assert_array_equal(got, a)
        with self.assertRaises(ValueError):
            got[0] = 1

    def test_unsealed_refused_read_only(self):
        a = np.arange(10, dtype=np.int32)
        for seals in (0, fcntl.F_SEAL_SHRINK, fcntl.F_SEAL_GROW):
            with self.subTest(seals=seals):
                with self.assertRaises(arrfile.SealError) as cm:
                    self.roundtrip([self.memfd(a, seals)])
                self.assertIn("memfd:arrfile:test", str(cm.exception))
                self.assertIn("not sealed", str(cm.exception))
        with self.assertRaises(arrfile.SealError):
            self.roundtrip([self.memfd(a, 0)], mode="c")
        got = self.roundtrip([self.memfd(a, 0)], require_sealed=False)
        np.testing.assert_array_equal(got, a)
        got = self.roundtrip([self.memfd(a, 0)], mode="r+")  # writable: the sender's partner
        got[0] = 5
        self.assertEqual(got[0], 5)

    def test_regular_file_is_unsealed(self):
        name = self.p("f.npy")
        np.save(name, np.arange(3))
        with self.assertRaises(arrfile.SealError):
            self.roundtrip([os.open(name, os.O_RDONLY)])
        self.assertEqual(self.roundtrip([os.open(name, os.O_RDONLY)], require_sealed=False).tolist(), [0, 1, 2])

    def test_bad_messages(self):
        gc.collect()
        before = open_fds()
        with self.assertRaises(EOFError):
            self.roundtrip(None)
        with self.assertRaises(arrfile.ArrfileError) as cm:
            self.roundtrip([])
        self.assertIn("no array descriptor", str(cm.exception))
        a = np.arange(4.0)
        seals = fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW
        got = self.roundtrip([self.memfd(a, seals), self.memfd(a, seals), os.open("/dev/null", os.O_RDONLY)])
        np.testing.assert_array_equal(got, a)
        del got
        with self.assertRaises(arrfile.FormatError):
            fd = os.memfd_create("junk")
            os.write(fd, b"junk" * 100)
            self.roundtrip([fd], require_sealed=False)
        gc.collect()
        self.assertEqual(open_fds(), before)


class TestDefaultDir(unittest.TestCase):
    def test_env_and_path(self):
        with mock.patch.dict(os.environ, {"ARRFILE_DIR": "/some/dir"}):
            self.assertEqual(arrfile.default_dir(), "/some/dir")
            self.assertEqual(arrfile.path("x.npy"), "/some/dir/x.npy")
        for bad in ("../x.npy", "a/b", "", ".."):
            with self.assertRaises(ValueError):
                arrfile.path(bad)


if __name__ == "__main__":
    unittest.main()
