"""Batch uploads: the résumés inside one zip, read defensively.

A zip's headers are written by whoever made it. Sizes in them can understate what a member
inflates to, names can climb out of any folder they are extracted into ("../../etc/cron.d/x",
"/root/.ssh/...", "C:\\\\Windows\\\\..."), and a member can be another zip, itself full of zips.
So, before a single member is yielded:

* the entry count in the end record is checked before zipfile builds its list (millions of
  tiny entries cost memory even if none is read), then the count of real files;
* every name is checked for absolute paths, drive letters and ".." (the whole archive is refused:
  an archive with such a name was made by a tool nobody should trust);
* encrypted members and members named like archives are refused;
* the sizes declared in the headers are checked against the limits.

Then, while each member is read in 64 KiB chunks, the bytes actually inflated are counted
against the same limits (total, per member, and the ratio to the compressed size), so a header
that lies is caught by what it produces; zipfile also stops at the declared size and fails the
CRC check when the data goes on. Folders, macOS resource forks (__MACOSX/, ._*), .DS_Store and
Thumbs.db are skipped silently: they are what zipping a folder on a Mac or Windows adds.
"""

from __future__ import annotations

import io
import re
import struct
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath

import filetype

from ai_services.resume_service.documents.errors import (
    ArchiveTooLarge,
    CorruptFile,
    EmptyFile,
    FileTooLarge,
    NestedArchive,
    PasswordProtected,
    TooManyMembers,
    UnsafePath,
    UnsupportedType,
    ZipBomb,
)
from ai_services.resume_service.documents.limits import DEFAULT_LIMITS, Limits
from ai_services.resume_service.documents.normalise import is_cjk

RATIO_FLOOR = 1024 * 1024  # a member that inflates to less than this cannot be a bomb, whatever its ratio
_CHUNK = 64 * 1024
_ARCHIVE_NAMES = (".zip", ".rar", ".7z", ".tar", ".gz", ".tgz", ".bz2", ".xz", ".zst", ".jar", ".cab", ".iso")
_ARCHIVE_TYPES = {"application/zip", "application/x-rar-compressed", "application/x-7z-compressed",
                  "application/gzip", "application/x-tar", "application/x-bzip2", "application/x-xz",
                  "application/zstd", "application/vnd.ms-cab-compressed", "application/x-iso9660-image"}
_JUNK = frozenset({".DS_Store", "Thumbs.db", "desktop.ini"})
_DRIVE = re.compile(r"^[A-Za-z]:")


@dataclass(frozen=True)
class ArchiveMember:
    name: str  # the path inside the archive, "/"-separated, decoded (GBK names from Windows included)
    data: bytes


def iter_archive(data: bytes, limits: Limits = DEFAULT_LIMITS) -> Iterator[ArchiveMember]:
    """The files of a zip, in archive order, after the checks above; raise a ResumeFileError
    (and yield nothing more) at the first problem. An error can come after some members were
    yielded, when only the inflated bytes show the problem: treat the batch as refused then."""
    if not data:
        raise EmptyFile()
    if len(data) > limits.max_archive_bytes:
        raise FileTooLarge(len(data), limits.max_archive_bytes)
    entries = _entry_count(data)
    if entries > 3 * limits.max_members:  # folders and Mac metadata can double the count; not this much
        raise TooManyMembers(entries, limits.max_members)
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, ValueError, OSError) as error:
        if not data.startswith(b"PK"):
            raise UnsupportedType("not a zip archive") from None
        raise CorruptFile("zip", str(error)) from None
    with archive:
        members = _members(archive.infolist(), limits)
        check_declared_sizes([info for info, _ in members], limits)
        unpacked = 0
        for info, name in members:
            content = _read(archive, info, name, limits, unpacked)
            unpacked += len(content)
            if _is_archive(content):
                raise NestedArchive(name)
            yield ArchiveMember(name, content)


def check_declared_sizes(infos: list[zipfile.ZipInfo], limits: Limits) -> None:
    """Refuse a zip (a batch, or the package of a .docx) whose headers already admit too much."""
    if sum(info.file_size for info in infos) > limits.max_archive_bytes:
        raise ArchiveTooLarge(limits.max_archive_bytes)
    for info in infos:
        if info.file_size > RATIO_FLOOR and info.file_size > limits.max_ratio * max(info.compress_size, 1):
            raise ZipBomb(info.filename, limits.max_ratio)


def _members(infos: list[zipfile.ZipInfo], limits: Limits) -> list[tuple[zipfile.ZipInfo, str]]:
    members = []
    for info in infos:
        name = _decoded_name(info).replace("\\", "/")
        if "\0" in name or name.startswith("/") or _DRIVE.match(name) or ".." in name.split("/"):
            raise UnsafePath(name)
        path = PurePosixPath(name)
        if info.is_dir() or name.endswith("/") or path.parts[:1] == ("__MACOSX",) \
                or path.name.startswith("._") or path.name in _JUNK:
            continue
        if info.flag_bits & 0x1:
            raise PasswordProtected(f"the archive member {name!r}")
        if path.name.lower().endswith(_ARCHIVE_NAMES):
            raise NestedArchive(name)
        members.append((info, name))
        if len(members) > limits.max_members:
            raise TooManyMembers(sum(1 for i in infos if not i.is_dir()), limits.max_members)
    return members


def _read(archive: zipfile.ZipFile, info: zipfile.ZipInfo, name: str, limits: Limits, unpacked: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    try:
        with archive.open(info) as stream:
            while chunk := stream.read(_CHUNK):
                size += len(chunk)
                if unpacked + size > limits.max_archive_bytes:
                    raise ArchiveTooLarge(limits.max_archive_bytes)
                if size > RATIO_FLOOR and size > limits.max_ratio * max(info.compress_size, 1):
                    raise ZipBomb(name, limits.max_ratio)
                if size > limits.max_bytes:
                    raise FileTooLarge(size, limits.max_bytes, name=name)
                chunks.append(chunk)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as error:
        raise CorruptFile("zip", f"the member {name!r} cannot be unpacked ({error})") from None
    except NotImplementedError as error:
        raise UnsupportedType(f"a zip whose member {name!r} uses an unsupported compression ({error})") from None
    return b"".join(chunks)


def _is_archive(content: bytes) -> bool:
    """Another archive inside: any archive format, except a zip that is an Office document (.docx)."""
    if content.startswith(b"PK\x03\x04"):
        return b"[Content_Types].xml" not in content[:1 << 16] and not _has_content_types(content)
    guess = filetype.guess(content[:8192])
    return guess is not None and guess.mime in _ARCHIVE_TYPES


def _has_content_types(content: bytes) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as inner:
            return "[Content_Types].xml" in inner.namelist()
    except (zipfile.BadZipFile, ValueError, OSError):
        return False


def _decoded_name(info: zipfile.ZipInfo) -> str:
    """zipfile decodes names without the UTF-8 flag as CP437; Chinese Windows writes them in GBK."""
    if info.flag_bits & 0x800:
        return info.filename
    raw = info.filename.encode("cp437", errors="replace")
    for encoding in ("utf-8", "gb18030"):
        try:
            name = raw.decode(encoding)
        except UnicodeDecodeError:
            continue
        wide = [ch for ch in name if ord(ch) > 127]
        if encoding == "utf-8" or sum(map(is_cjk, wide)) > 0.8 * len(wide):
            return name
    return info.filename


def _entry_count(data: bytes) -> int:
    """Entries announced by the end-of-central-directory record (ZIP64 included); 0 when absent."""
    end = data.rfind(b"PK\x05\x06", max(0, len(data) - 65_557))
    if end < 0 or end + 22 > len(data):
        return 0
    (count,) = struct.unpack_from("<H", data, end + 10)
    if count == 0xFFFF:
        locator = data.rfind(b"PK\x06\x07", max(0, end - 20), end)
        if locator >= 0 and locator + 20 <= len(data):
            (record,) = struct.unpack_from("<Q", data, locator + 8)
            if record + 40 <= len(data) and data[record : record + 4] == b"PK\x06\x06":
                (count,) = struct.unpack_from("<Q", data, record + 32)
    return count
