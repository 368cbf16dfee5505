"""Share NumPy arrays between processes as .npy files, safely.

This is the Python side of arrfile (https://github.com/arrfile/arrfile): a
producer writes an array into a hidden temporary file, fills it in place and
publishes it under its name with an atomic rename; consumers map the file and
read it in place. The files are ordinary .npy files, so plain NumPy can read
them too, but the raw NumPy calls have two traps that this module avoids:

* ``np.load(name, mmap_mode="r")`` opens the path three times. If a producer
  republishes the name between those opens, the array gets one file's
  header and another file's data (a wrong shape, or "mmap length is greater
  than file size"). :func:`load` opens the file once and maps through that
  descriptor.
* A producer that writes its temporary file with ``open_memmap`` is not
  marked live, so ``arr gc`` (Go's ``mmfile.RemoveStale``) can remove it
  before it is renamed. :func:`create` names and locks its temporary file
  exactly as Go's mmfile does, so gc leaves it alone while the producer
  runs, and removes it if the producer crashes.

It also receives anonymous (memfd) arrays sent by Go's ``mmfile.Send``
(:func:`recv_array`, with seal checks), and takes the same advisory locks as
Go's ``Array.Lock`` and ``Array.LockRange`` (:func:`lock`,
:func:`lock_range`), so Python and Go workers exclude each other.

Standard library and NumPy only; Python 3.9 or later, on Linux and other
Unix systems (not Windows). The live mark, the range locks and memfd
receiving are Linux features; on other Unix systems :func:`load`,
:func:`create` and :func:`lock` work, a temporary file is protected from
gc by its age only (as Go's there), and range locks raise
:class:`OSError` (ENOTSUP).

Arrays returned by :func:`load`, :func:`create` and :func:`recv_array` are
``numpy.memmap`` objects. Each keeps its open file (one descriptor besides
the mapping's own) until the array and every view of it are garbage
collected; locks taken through it last until then or until released.
"""

import errno
import io
import os
import socket
import stat
import struct
import sys
import tempfile

import numpy as np
import numpy.lib.format as _fmt

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None

__all__ = [
    "ArrfileError",
    "FormatError",
    "TruncatedError",
    "SealError",
    "load",
    "create",
    "save",
    "Producer",
    "recv_array",
    "lock",
    "unlock",
    "lock_range",
    "unlock_range",
    "default_dir",
    "path",
]

__version__ = "0.1.0"

_LINUX = sys.platform.startswith("linux")

# Linux fcntl commands, also on Pythons that lack the names.
_F_OFD_GETLK = getattr(fcntl, "F_OFD_GETLK", 36 if _LINUX else None)
_F_OFD_SETLK = getattr(fcntl, "F_OFD_SETLK", 37 if _LINUX else None)
_F_OFD_SETLKW = getattr(fcntl, "F_OFD_SETLKW", 38 if _LINUX else None)
_F_GET_SEALS = getattr(fcntl, "F_GET_SEALS", 1034 if _LINUX else None)
_F_SEAL_SHRINK = getattr(fcntl, "F_SEAL_SHRINK", 0x2)
_F_SEAL_GROW = getattr(fcntl, "F_SEAL_GROW", 0x4)
_F_RDLCK = getattr(fcntl, "F_RDLCK", 0)
_F_WRLCK = getattr(fcntl, "F_WRLCK", 1)
_F_UNLCK = getattr(fcntl, "F_UNLCK", 2)

#: Seals a received memfd must carry for :func:`recv_array` to accept it
#: read-only: the ones Go's ``mmfile.CreateAnon`` sets. With them no process
#: can truncate the file under a mapping (which would make reads crash the
#: receiver with SIGBUS).
REQUIRED_SEALS = _F_SEAL_SHRINK | _F_SEAL_GROW

#: Suffix of the temporary files of producers (Go's mmfile and this module).
TEMP_SUFFIX = ".arrtmp"

#: File offset of the byte a producer keeps locked while its temporary file
#: is in use (Go's mmfile liveOffset): far past any data, so it never meets
#: a user's range lock.
LIVE_OFFSET = 1 << 62

# The largest header NumPy reads without allow_pickle-style opt-in
# (numpy.lib.format._MAX_HEADER_SIZE).
_MAX_HEADER_SIZE = getattr(_fmt, "_MAX_HEADER_SIZE", 10000)
try:
    import inspect as _inspect

    _HAS_MAX_HEADER = "max_header_size" in _inspect.signature(_fmt.read_array_header_1_0).parameters
except (TypeError, ValueError):
    _HAS_MAX_HEADER = False

_MAGIC = b"\x93NUMPY"


class ArrfileError(ValueError):
    """A problem with an array file. ``filename`` names the file (or
    descriptor or socket); the message starts with it."""

    def __init__(self, filename, reason):
        self.filename = filename
        self.reason = reason
        super().__init__("%s: %s" % (filename, reason))


class FormatError(ArrfileError):
    """The file is not a mappable .npy: bad magic or header, an object
    dtype, or not a regular file."""


class TruncatedError(FormatError):
    """The file is shorter than its header declares."""


class SealError(ArrfileError):
    """A received memfd lacks the seals that make it safe to map."""


# ---------------------------------------------------------------------------
# Descriptor ownership


class _Handle:
    """Owns one open file descriptor behind a mapped array: the descriptor
    that locks go through. It is closed when the handle is garbage
    collected (with the array that carries it) or by close(), after which
    the number is never used again."""

    def __init__(self, fd, name, data_offset, data_size, writable):
        self.fd = fd
        self.name = name
        self.data_offset = data_offset
        self.data_size = data_size
        self.writable = writable

    def fileno(self):
        if self.fd < 0:
            raise ArrfileError(self.name, "the array's file is closed")
        return self.fd

    def close(self):
        fd, self.fd = self.fd, -1
        if fd >= 0:
            os.close(fd)

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass


class _FdFile:
    """The file object numpy.memmap is given: it maps fileno() and asks
    seek/tell only for the size, which is answered from the validated size
    without touching the descriptor's offset (shared with every dup), and
    it can never extend the file."""

    def __init__(self, fd, size, name=None):
        self._fd, self._size, self._pos = fd, size, 0
        if name is not None:
            self.name = name  # numpy.memmap sets .filename from it

    def read(self, *_):  # only its presence is tested
        raise io.UnsupportedOperation("read")

    def write(self, *_):
        raise io.UnsupportedOperation("arrfile never extends a file")

    def flush(self):
        pass

    def fileno(self):
        return self._fd

    def seek(self, off, whence=0):
        self._pos = off + (self._size if whence == 2 else 0)
        return self._pos

    def tell(self):
        return self._pos


def _handle_of(obj):
    """Returns the _Handle behind an arrfile array (or a view of one) or a
    Producer, else None."""
    if isinstance(obj, Producer):
        return obj._handle
    seen = 0
    while isinstance(obj, np.ndarray) and seen < 64:
        h = getattr(obj, "_arrfile", None)
        if h is not None:
            return h
        obj = obj.base
        seen += 1
    return None


# ---------------------------------------------------------------------------
# Reading


def _read_header(fd, name, max_header_size=_MAX_HEADER_SIZE):
    """Reads and parses the .npy header at the start of fd with pread (the
    descriptor's offset is left alone). Returns (shape, fortran_order,
    dtype, data_offset)."""
    pre = os.pread(fd, 12, 0)
    if not pre:
        raise TruncatedError(name, "file is empty")
    if pre[:6] != _MAGIC[: len(pre)]:
        raise FormatError(name, "not an .npy file (no .npy magic at the start)")
    major = pre[6] if len(pre) > 6 else 1
    prefix = 10 if major == 1 else 12
    if len(pre) < prefix:
        raise TruncatedError(name, "file ends inside the .npy magic and header length (%d bytes)" % len(pre))
    if major == 1:
        hlen = 10 + struct.unpack("<H", pre[8:10])[0]
    elif major in (2, 3):
        hlen = 12 + struct.unpack("<I", pre[8:12])[0]
    else:
        raise FormatError(name, "unsupported .npy format version %d.%d" % (pre[6], pre[7]))
    if hlen - prefix > max_header_size:
        raise FormatError(
            name,
            "the .npy header is %d bytes, more than max_header_size=%d (as np.load, a guard against "
            "hostile files; pass a larger max_header_size to load it)" % (hlen - prefix, max_header_size),
        )
    buf = os.pread(fd, hlen, 0)
    if len(buf) < hlen:
        raise TruncatedError(name, "file ends inside the .npy header (%d of %d bytes)" % (len(buf), hlen))
    bio = io.BytesIO(buf)
    try:
        version = _fmt.read_magic(bio)
        kw = {"max_header_size": max(max_header_size, _MAX_HEADER_SIZE)} if _HAS_MAX_HEADER else {}
        if version == (1, 0):
            shape, fortran, dtype = _fmt.read_array_header_1_0(bio, **kw)
        elif version == (2, 0):
            shape, fortran, dtype = _fmt.read_array_header_2_0(bio, **kw)
        else:
            shape, fortran, dtype = _fmt._read_array_header(bio, version, **kw)
    except (ValueError, TypeError, SyntaxError) as e:
        raise FormatError(name, "bad .npy header: %s" % e) from None
    if dtype.hasobject:
        raise FormatError(name, "arrays of Python objects (dtype %s) cannot be mapped" % dtype)
    return shape, fortran, dtype, hlen


def _data_size(shape, dtype, name):
    n = 1
    for d in shape:
        n *= int(d)
    size = n * dtype.itemsize
    if size > sys.maxsize:
        raise FormatError(name, "shape %s of %s is too large for this machine" % (shape, dtype))
    return size


_MMAP_MODES = {"r": "r", "readonly": "r", "r+": "r+", "readwrite": "r+", "c": "c", "copyonwrite": "c"}


def _check_mode(mode):
    m = _MMAP_MODES.get(mode)
    if m is None:
        raise ValueError("mode must be 'r', 'r+' or 'c', not %r" % (mode,))
    return m


def _map_fd(fd, name, mode, path=None, max_header_size=_MAX_HEADER_SIZE):
    """Maps the .npy in fd (which the caller gives away: it is closed on
    error, else owned by the returned array); path, if the file has one,
    becomes the memmap's filename. Header first, then the size,
    so a file that only grows (an Appender) is never seen as truncated."""
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise IsADirectoryError(errno.EISDIR, "Is a directory", name)
        if not stat.S_ISREG(st.st_mode):
            raise FormatError(name, "not a regular file")
        shape, fortran, dtype, offset = _read_header(fd, name, max_header_size)
        size = _data_size(shape, dtype, name)
        fsize = os.fstat(fd).st_size
        if fsize < offset + size:
            raise TruncatedError(
                name,
                "file has %d bytes, the header (shape %s, dtype %s) declares %d"
                % (fsize, tuple(shape), dtype.str, offset + size),
            )
        arr = np.memmap(
            _FdFile(fd, fsize, path),
            dtype=dtype,
            mode=mode,
            offset=offset,
            shape=tuple(shape),
            order="F" if fortran else "C",
        )
    except BaseException:
        os.close(fd)
        raise
    writable = (_accmode(fd) != os.O_RDONLY)
    arr._arrfile = _Handle(fd, name, offset, size, writable)
    return arr


def _accmode(fd):
    if fcntl is None:
        return os.O_RDWR
    return fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE


def load(name, mode="r", *, max_header_size=_MAX_HEADER_SIZE):
    """Maps the .npy file ``name`` and returns it as a ``numpy.memmap``.

    Like ``np.load(name, mmap_mode=mode)``, but the file is opened once and
    everything (header, size check, mapping) goes through that descriptor,
    so a producer that republishes ``name`` meanwhile can never mix one
    file's header with another file's data: you get the old array or the
    new one. ``name`` is a path (str, bytes or os.PathLike) or an open file
    descriptor (int, for example an inherited memfd); a descriptor is
    duplicated, the caller keeps its own.

    ``mode`` is ``"r"`` (read-only, the default), ``"r+"`` (read-write,
    shared with every process that maps the file) or ``"c"``
    (copy-on-write, changes stay private), as in ``np.load``.

    Raises FileNotFoundError (and other OSErrors) naming the file,
    IsADirectoryError, FormatError for anything that is not a mappable
    .npy (including object arrays), and TruncatedError when the file is
    shorter than its header declares (the file is never extended, unlike
    NumPy's "r+" mode). Bytes after the data are allowed, as in NumPy.
    Headers longer than ``max_header_size`` are refused, as by ``np.load``
    (a guard against hostile files).
    """
    mode = _check_mode(mode)
    if isinstance(name, int):
        label = "fd %d" % name
        fd = os.dup(name)
    else:
        name = os.fspath(name)
        label = os.fsdecode(name)
        flags = os.O_RDWR if mode == "r+" else os.O_RDONLY
        # O_NONBLOCK: a FIFO renamed onto the name cannot hang the open.
        flags |= getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NONBLOCK", 0)
        fd = os.open(name, flags)
    return _map_fd(fd, label, mode, None if isinstance(name, int) else label, max_header_size)


# ---------------------------------------------------------------------------
# Producing


def _is_temp_name(base):
    """Reports whether base is named like a producer's temporary file
    (".TARGET.RANDOM.arrtmp"), as Go's mmfile isTempName."""
    if not base.startswith(".") or not base.endswith(TEMP_SUFFIX):
        return False
    s = base[1 : len(base) - len(TEMP_SUFFIX)]
    return s.rfind(".") > 0


def _ofd(fd, typ, off, n, wait, name):
    """Sets or clears an open-file-description lock on the file bytes
    [off, off+n). Returns False if not wait and another holder conflicts."""
    if _F_OFD_SETLK is None:
        raise OSError(errno.ENOTSUP, "byte-range (open-file-description) locks need Linux", name)
    cmd = _F_OFD_SETLKW if wait else _F_OFD_SETLK
    arg = struct.pack("hhqqi", typ, 0, off, n, 0)
    while True:
        try:
            fcntl.fcntl(fd, cmd, arg)
            return True
        except InterruptedError:
            continue
        except OSError as e:
            if not wait and e.errno in (errno.EAGAIN, errno.EACCES):
                return False
            raise OSError(e.errno, "fcntl(F_OFD_SETLK): %s" % e.strerror, name) from None


def _random32():
    return str(int.from_bytes(os.urandom(4), "little"))


def _create_temp(dirfd, dirname, base, perm):
    """Creates the temporary file ".BASE.RANDOM.arrtmp" in the folder
    dirfd, marked live before its name appears where Linux allows it (an
    unnamed O_TMPFILE file, locked, then linked), else locked right after
    an exclusive create. Returns (fd, temp base name)."""
    mode = 0o666 if perm is None else 0o600
    cloexec = getattr(os, "O_CLOEXEC", 0)
    if _LINUX and hasattr(os, "O_TMPFILE") and _F_OFD_SETLK is not None:
        fd = -1
        try:
            fd = os.open(".", os.O_TMPFILE | os.O_RDWR | cloexec, mode, dir_fd=dirfd)
            _ofd(fd, _F_WRLCK, LIVE_OFFSET, 1, False, dirname)
            if perm is not None:
                os.fchmod(fd, perm)
            for _ in range(1000):
                tmp = "." + base + "." + _random32() + TEMP_SUFFIX
                try:
                    # dst_dir_fd makes CPython call linkat, and
                    # follow_symlinks AT_SYMLINK_FOLLOW: the link is to the
                    # file behind /proc/self/fd/N.
                    os.link("/proc/self/fd/%d" % fd, tmp, dst_dir_fd=dirfd, follow_symlinks=True)
                    return fd, tmp
                except FileExistsError:
                    continue
        except OSError:
            pass
        if fd >= 0:
            os.close(fd)
    for _ in range(1000):
        tmp = "." + base + "." + _random32() + TEMP_SUFFIX
        try:
            fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL | cloexec, mode, dir_fd=dirfd)
        except FileExistsError:
            continue
        try:
            if _F_OFD_SETLK is not None:
                try:  # best effort, as Go's setLive: some filesystems refuse
                    _ofd(fd, _F_WRLCK, LIVE_OFFSET, 1, False, dirname)
                except OSError:
                    pass
            if perm is not None:
                os.fchmod(fd, perm)
        except BaseException:
            os.unlink(tmp, dir_fd=dirfd)
            os.close(fd)
            raise
        return fd, tmp
    raise FileExistsError(errno.EEXIST, "no free temporary file name", os.path.join(dirname, "." + base + ".*" + TEMP_SUFFIX))


def _header_bytes(dtype, shape, fortran_order):
    """The header np.save writes for an array of this dtype, shape and
    order (numpy.lib.format picks the smallest version that fits)."""
    d = {
        "descr": _fmt.dtype_to_descr(dtype),
        "fortran_order": bool(fortran_order),
        "shape": shape,
    }
    bio = io.BytesIO()
    if hasattr(_fmt, "_write_array_header"):
        _fmt._write_array_header(bio, d, None)
    else:  # very old NumPy
        try:
            _fmt.write_array_header_1_0(bio, d)
        except ValueError:
            bio = io.BytesIO()
            _fmt.write_array_header_2_0(bio, d)
    return bio.getvalue()


class Producer:
    """A new array under a temporary name, not yet visible under its name:
    the result of :func:`create`.

    ``array`` is the writable ``numpy.memmap`` to fill in place. Then
    :meth:`publish` makes it visible under ``name`` atomically, or
    :meth:`abandon` removes it. As a context manager it publishes when the
    block ends normally and abandons when it raises::

        with arrfile.create("/dev/shm/frames.npy", "f4", (1000, 640)) as p:
            p.array[:] = compute()

    Until then ``temp`` names the hidden temporary file
    (".NAME.RANDOM.arrtmp", as Go's mmfile names them) and the producer
    holds an open-file-description lock on it (Linux), which ``arr gc``,
    ``arr ls`` and Go's ``mmfile.RemoveStale`` read as "producer running":
    they never remove it, whatever its age. If the process dies, the kernel
    drops the lock and gc removes the leftover.

    After :meth:`publish` the array stays mapped: writes through it are
    seen by every process that maps the file, as with Go's Array. A
    Producer dropped without publish or abandon is abandoned when it is
    garbage collected. Not safe for concurrent publish/abandon calls from
    several threads.
    """

    def __init__(self, name, dtype, shape, fortran_order=False, perm=None, reserve=True):
        name = os.fspath(name)
        self.name = os.fsdecode(name)
        dtype = np.dtype(dtype)
        if dtype.hasobject:
            raise FormatError(self.name, "arrays of Python objects (dtype %s) cannot be mapped" % dtype)
        if isinstance(shape, (int, np.integer)):
            shape = (shape,)
        shape = tuple(int(d) for d in shape)
        if any(d < 0 for d in shape):
            raise ValueError("%s: negative dimension in shape %s" % (self.name, shape))
        dirname, base = os.path.split(self.name)
        if base in ("", ".", ".."):
            raise ValueError("%s: no file name" % self.name)
        if _is_temp_name(base):
            raise ValueError(
                "%s: the name looks like a producer's temporary file (.NAME.RANDOM%s); gc would remove it"
                % (self.name, TEMP_SUFFIX)
            )
        dirname = dirname or "."
        self._dirname = dirname
        self._base = base
        self.published = False
        self._done = False
        self._handle = None
        self.array = None
        self._dirfd = -1
        hb = _header_bytes(dtype, shape, fortran_order)
        size = _data_size(shape, dtype, self.name)
        total = len(hb) + size
        self._dirfd = os.open(dirname, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0) | getattr(os, "O_CLOEXEC", 0))
        try:
            fd, tmp = _create_temp(self._dirfd, dirname, base, perm)
        except BaseException:
            os.close(self._dirfd)
            self._dirfd = -1
            raise
        self._tmp = tmp
        self.temp = os.path.join(dirname, tmp)
        try:
            try:
                os.ftruncate(fd, total)
                if reserve and hasattr(os, "posix_fallocate") and total > 0:
                    try:
                        os.posix_fallocate(fd, 0, total)
                    except OSError as e:
                        if e.errno not in (errno.EOPNOTSUPP, errno.ENOTSUP, errno.EINVAL, errno.ENOSYS):
                            raise
            except OSError as e:
                if e.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.ENOMEM):
                    raise OSError(
                        e.errno,
                        "not enough space in %s: the array needs %d bytes (%s)" % (dirname, total, e.strerror),
                        self.name,
                    ) from None
                raise
            os.pwrite(fd, hb, 0)
            self.array = np.memmap(
                _FdFile(fd, total, self.temp),
                dtype=dtype,
                mode="r+",
                offset=len(hb),
                shape=shape,
                order="F" if fortran_order else "C",
            )
        except BaseException:
            try:
                os.unlink(tmp, dir_fd=self._dirfd)
            finally:
                os.close(fd)
                os.close(self._dirfd)
                self._dirfd = -1
                self._done = True
            raise
        self._handle = _Handle(fd, self.name, len(hb), size, True)
        self.array._arrfile = self._handle

    def publish(self, sync=True):
        """Makes the array visible under ``name``: flushes the mapping and
        fsyncs the file (unless ``sync`` is false; on tmpfs this costs
        nothing), renames the temporary file onto ``name`` with
        ``os.replace`` while it is still open and locked (replacing any
        file of that name; processes that have the old file mapped keep
        it), drops the live mark and fsyncs the folder. If the rename
        fails, the temporary file is removed and the error raised."""
        if self._done:
            raise ArrfileError(self.name, "already published" if self.published else "already abandoned")
        fd = self._handle.fileno()
        if sync:
            self.array.flush()
            os.fsync(fd)
        try:
            os.replace(self._tmp, self._base, src_dir_fd=self._dirfd, dst_dir_fd=self._dirfd)
        except OSError as e:
            self.abandon()
            raise OSError(e.errno, "publish: rename %s: %s" % (self.temp, e.strerror), self.name) from None
        self._done = True
        self.published = True
        self.temp = None
        self.array.filename = os.path.abspath(self.name)
        try:
            if _F_OFD_SETLK is not None:
                _ofd(fd, _F_UNLCK, LIVE_OFFSET, 1, False, self.name)
            if sync:
                os.fsync(self._dirfd)
        finally:
            os.close(self._dirfd)
            self._dirfd = -1

    def abandon(self):
        """Removes the temporary file (while still holding its lock) and
        closes it. The array must not be used afterwards. Does nothing after
        publish or a first abandon."""
        if self._done:
            return
        self._done = True
        try:
            try:
                os.unlink(self._tmp, dir_fd=self._dirfd)
            except FileNotFoundError:
                pass
        finally:
            os.close(self._dirfd)
            self._dirfd = -1
            self.array = None
            self._handle.close()
            self.temp = None

    def fileno(self):
        """The descriptor of the array's file (for locks and fstat)."""
        return self._handle.fileno()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None:
            self.publish()
        else:
            self.abandon()
        return False

    def __del__(self):
        try:
            if not self._done and self._dirfd >= 0:
                self.abandon()
        except Exception:
            pass

    def __repr__(self):
        state = "published" if self.published else ("abandoned" if self._done else "unpublished")
        return "<arrfile.Producer %s %s>" % (self.name, state)


def create(name, dtype, shape, fortran_order=False, *, perm=None, reserve=True):
    """Creates the array ``name`` of ``dtype`` and ``shape`` under a hidden
    temporary name in the same folder and returns its :class:`Producer`:
    fill ``.array`` in place, then ``.publish()`` (or use it as a context
    manager).

    The header is byte for byte the one ``np.save`` writes for such an
    array. ``perm`` is the permission of the published file: None (the
    default) means 0o666 minus the umask, as ``np.save`` and ``open``;
    an int is applied exactly, whatever the umask. With ``reserve`` (the
    default) the space is allocated at once (``posix_fallocate``), so a
    full tmpfs is an OSError (ENOSPC) here, not a SIGBUS while filling.

    Raises ValueError for a name without a file part or one that looks like
    a temporary file (gc would remove it), FormatError for object dtypes,
    and OSError (with the file name) when the folder refuses the file.
    """
    return Producer(name, dtype, shape, fortran_order, perm=perm, reserve=reserve)


def save(name, array, *, perm=None, sync=True):
    """Publishes a copy of ``array`` under ``name``: :func:`create`, copy,
    :meth:`Producer.publish`. Same bytes as ``np.save(name, array)`` (a
    Fortran-contiguous array is stored in Fortran order, anything else in C
    order), but readers of ``name`` never see a partial file and gc never
    removes the temporary file of a running save."""
    array = np.asanyarray(array)
    fortran = bool(array.flags.f_contiguous and not array.flags.c_contiguous)
    p = create(name, array.dtype, array.shape, fortran, perm=perm)
    try:
        if array.size:
            p.array[...] = array
    except BaseException:
        p.abandon()
        raise
    p.publish(sync=sync)


# ---------------------------------------------------------------------------
# Receiving anonymous arrays


def _fd_label(fd):
    try:
        target = os.readlink("/proc/self/fd/%d" % fd)
    except OSError:
        return "received fd %d" % fd
    if target.startswith("/memfd:"):
        target = target[1:]
    if target.endswith(" (deleted)"):
        target = target[: -len(" (deleted)")]
    return target


def recv_array(sock, mode="r", *, require_sealed=None, max_header_size=_MAX_HEADER_SIZE):
    """Receives one array descriptor sent over the Unix socket ``sock``
    (a ``socket.socket`` or its descriptor) by Go's ``mmfile.Send`` (one
    data byte with one SCM_RIGHTS descriptor) and maps it like
    :func:`load`. Extra descriptors in the message are closed.

    ``require_sealed`` (default: true for modes "r" and "c", false for
    "r+") refuses a descriptor that is not sealed with at least
    :data:`REQUIRED_SEALS` (F_SEAL_SHRINK | F_SEAL_GROW, what Go's
    ``CreateAnon`` sets) with a :class:`SealError`: the sender of an
    unsealed file can truncate it under the mapping, and the next read
    kills this process with SIGBUS. Pass ``require_sealed=False`` to map it
    anyway, for a sender you trust.

    Raises EOFError if the peer closed the socket, ArrfileError for a
    message without a descriptor, and the errors of :func:`load`. Linux
    only.
    """
    mode = _check_mode(mode)
    if require_sealed is None:
        require_sealed = mode != "r+"
    if isinstance(sock, int):
        sock = socket.socket(fileno=os.dup(sock))
        owned = True
    else:
        owned = False
    try:
        label = "unix socket"
        try:
            addr = sock.getsockname()
            if addr:
                label = os.fsdecode(addr) if isinstance(addr, (str, bytes)) else str(addr)
        except OSError:
            pass
        flags = getattr(socket, "MSG_CMSG_CLOEXEC", 0)
        msg, fds, mflags, _ = socket.recv_fds(sock, 1, 4, flags)
    finally:
        if owned:
            sock.close()
    if not msg and not fds:
        raise EOFError("%s: the peer closed the socket" % label)
    if not fds or len(msg) != 1 or mflags & getattr(socket, "MSG_CTRUNC", 0):
        for fd in fds:
            os.close(fd)
        raise ArrfileError(label, "message carries no array descriptor")
    for fd in fds[1:]:
        os.close(fd)
    fd = fds[0]
    name = _fd_label(fd)
    try:
        if require_sealed:
            seals = 0
            if _F_GET_SEALS is not None:
                try:
                    seals = fcntl.fcntl(fd, _F_GET_SEALS)
                except OSError:  # EINVAL: a file that cannot be sealed
                    seals = 0
            if seals & REQUIRED_SEALS != REQUIRED_SEALS:
                raise SealError(
                    name,
                    "the received file is not sealed against shrinking and growing "
                    "(seals 0x%x, need 0x%x): its sender could truncate it under the mapping; "
                    "pass require_sealed=False to map it anyway" % (seals, REQUIRED_SEALS),
                )
    except BaseException:
        os.close(fd)
        raise
    return _map_fd(fd, name, mode, None, max_header_size)


# ---------------------------------------------------------------------------
# Locks


def _lock_target(obj, what):
    """Returns (fd, name, handle-or-None) for an arrfile array, Producer,
    descriptor or object with fileno()."""
    h = _handle_of(obj)
    if h is not None:
        return h.fileno(), h.name, h
    if isinstance(obj, int):
        return obj, "fd %d" % obj, None
    if hasattr(obj, "fileno"):
        return obj.fileno(), getattr(obj, "name", "fd %d" % obj.fileno()), None
    raise TypeError(
        "%s needs an array from arrfile.load/create/recv_array (or a view of one), "
        "a Producer, a file descriptor or a file object, not %s" % (what, type(obj).__name__)
    )


def lock(obj, exclusive=True, wait=True):
    """Takes an advisory lock on the whole file behind ``obj``, shared or
    exclusive, the same lock as Go's ``Array.Lock``: a BSD
    ``flock``, which binds the open file, so it excludes other processes and
    other :func:`load` results of the same file in this process. ``obj`` is
    an array from this module (or a view), a Producer, a descriptor or a
    file object. With ``wait`` false it returns False instead of blocking
    when another holder conflicts; else it returns True once granted.
    Locking again through the same file converts the lock (flock
    semantics). Released by :func:`unlock` or when the file is closed."""
    fd, name, _ = _lock_target(obj, "lock")
    if fcntl is None:
        raise OSError(errno.ENOTSUP, "file locks need a Unix system", name)
    how = fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH
    if not wait:
        how |= fcntl.LOCK_NB
    while True:
        try:
            fcntl.flock(fd, how)
            return True
        except InterruptedError:
            continue
        except OSError as e:
            if not wait and e.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                return False
            raise OSError(e.errno, "flock: %s" % e.strerror, name) from None


def unlock(obj):
    """Releases the whole-file lock taken with :func:`lock`."""
    fd, name, _ = _lock_target(obj, "unlock")
    if fcntl is None:
        raise OSError(errno.ENOTSUP, "file locks need a Unix system", name)
    try:
        fcntl.flock(fd, fcntl.LOCK_UN)
    except OSError as e:
        raise OSError(e.errno, "flock: %s" % e.strerror, name) from None


def _range(obj, off, n, what):
    fd, name, h = _lock_target(obj, what)
    if h is not None:
        data_offset, data_size, writable = h.data_offset, h.data_size, h.writable
    else:
        shape, _, dtype, data_offset = _read_header(fd, name)
        data_size = _data_size(shape, dtype, name)
        writable = _accmode(fd) != os.O_RDONLY
    off, n = int(off), int(n)
    if off < 0 or n <= 0 or off > data_size - n:
        raise ValueError(
            "%s: range [%d, %d+%d) is not inside the %d-byte array data" % (name, off, off, n, data_size)
        )
    return fd, name, data_offset + off, n, writable


def lock_range(obj, off, n, exclusive=True, wait=True):
    """Takes an advisory lock on the ``n`` data bytes starting at data byte
    ``off`` (offsets into the array's data, after the header), the same lock
    as Go's ``Array.LockRange``: a Linux
    open-file-description (OFD) lock on the file bytes at header size +
    ``off``. It binds the open file, so it excludes other processes and
    other :func:`load` results of the same file in this process, but never
    ranges locked through the same file (those merge). Unlike
    ``fcntl.lockf`` it survives other descriptors of the file being closed.

    Exclusive locks need a file open for writing (``load(name, "r+")``, a
    Producer). With ``wait`` false it returns False instead of blocking
    when another holder conflicts. Independent of :func:`lock`. Linux only
    (OSError ENOTSUP elsewhere)."""
    fd, name, start, n, writable = _range(obj, off, n, "lock_range")
    if exclusive and not writable:
        raise ArrfileError(name, "exclusive range locks need a file open for writing (mode 'r+')")
    return _ofd(fd, _F_WRLCK if exclusive else _F_RDLCK, start, n, wait, name)


def unlock_range(obj, off, n):
    """Releases the range locks held through ``obj``'s file on the ``n``
    data bytes at ``off``."""
    fd, name, start, n, _ = _range(obj, off, n, "unlock_range")
    _ofd(fd, _F_UNLCK, start, n, False, name)


# ---------------------------------------------------------------------------
# The shared folder


def default_dir():
    """The default folder for shared arrays, as Go's ``mmfile.DefaultDir``:
    ``$ARRFILE_DIR`` if set, else ``/dev/shm`` if this process may create
    files in it, else the temporary folder."""
    d = os.environ.get("ARRFILE_DIR")
    if d:
        return d
    if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK | os.X_OK):
        return "/dev/shm"
    return tempfile.gettempdir()


def path(name):
    """The path of the array ``name`` in :func:`default_dir`. ``name`` must
    be a plain file name (no folder separators)."""
    if not name or name in (".", "..") or os.sep in name or (os.altsep and os.altsep in name):
        raise ValueError("%r is not a plain file name" % (name,))
    return os.path.join(default_dir(), name)
