"""Reading a DOCX package for the import: the zip, its XML parts and the handle map.

Its one job: turn the file into parsed parts and a ``HandleMap`` (bookmark →
field and the hash of the field's printed text, the document hash, the source
revision, the preview mark), or raise ``Unreadable`` with a Japanese message
that names the file and the part: not a zip, not a Word document, no handle map
(not made by followup), a handle map of another format, broken XML. The map is
read from ``customXml/item*.xml``; a client that dropped that part still leaves
``docProps/custom.xml``, which records the same (``compiler.docx_handles``).
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from compiler import docx_handles as handles

W_NS = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
MAX_PART_BYTES = 200 * 1024 * 1024  # a zip bomb is refused, not inflated


class Unreadable(Exception):
    """The file cannot be imported; ``code`` is the diagnostic code, the message is Japanese."""

    def __init__(self, code: str, message: str, hint: str, part: str = ""):
        super().__init__(message)
        self.code, self.hint, self.part = code, hint, part


@dataclass
class HandleMap:
    fields: dict[str, str]  # bookmark name → field
    shas: dict[str, str]  # field → hash of its printed text (empty when the map has none)
    document_sha256: str
    source_revision: str | None
    preview: str | None
    origin: str  # the part it was read from


@dataclass
class Package:
    path: Path
    document: object  # lxml root of word/document.xml
    styles: dict[str, str]  # style id → style name
    indents: dict[str, int]  # style name → its left indent (twentieths of a point), where it sets one
    comments: object | None  # lxml root of word/comments.xml
    handles: HandleMap
    margins: list[tuple[str, object]] = field(default_factory=list)  # (part name, lxml root) of headers and footers


def _parse(zf: zipfile.ZipFile, name: str, path: Path):
    from lxml import etree

    info = zf.getinfo(name)
    if info.file_size > MAX_PART_BYTES:
        raise Unreadable("E083", f"{path} の {name} が大きすぎます（{info.file_size:,} バイト）。",
                         "followup が作った DOCX を、Word か LibreOffice で保存し直して送ってもらってください。", name)
    try:
        data = zf.read(name)
    except (zipfile.BadZipFile, OSError, RuntimeError, ValueError) as exc:
        raise Unreadable("E083", f"{path} の {name} を読めません（壊れた zip です: {type(exc).__name__}）。",
                         "元の DOCX を送ってもらってください。", name) from None
    try:
        parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False)
        return etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        line = getattr(exc, "lineno", 0)
        raise Unreadable("E083", f"{path} の {name} の XML が壊れています（{line} 行目: {exc.msg}）。",
                         "Word か LibreOffice で開いて保存し直したものを送ってもらってください。", name) from None


def _from_custom_xml(root, origin: str) -> HandleMap | None:
    if root.tag != f"{{{handles.HANDLES_NS}}}handles":
        return None
    fields, shas = {}, {}
    for h in root:
        if h.tag != f"{{{handles.HANDLES_NS}}}h" or not h.get("b") or not h.get("field"):
            continue
        fields[h.get("b")] = h.get("field")
        if h.get("sha"):
            shas[h.get("field")] = h.get("sha")
    return HandleMap(fields, shas, root.get("document-sha256") or "", root.get("source-revision"), root.get("preview"),
                     origin)


def _from_properties(root) -> tuple[str | None, HandleMap | None]:
    """The format named in docProps/custom.xml, and the map it records (when it records one)."""
    props = {}
    for prop in root:
        value = "".join(prop.itertext())
        props[prop.get("name")] = value
    fmt = props.get(handles.PROP_FORMAT)
    if fmt != handles.HANDLES_FORMAT or handles.PROP_FIELDS not in props:
        return fmt, None
    fields, shas = {}, {}
    for n, pair in enumerate(props[handles.PROP_FIELDS].split(), 1):
        name, _, sha = pair.partition("=")
        fields[f"{handles.HANDLE_BOOKMARK}{n}"] = name
        if sha:
            shas[name] = sha
    return fmt, HandleMap(fields, shas, props.get(handles.PROP_SHA, ""), props.get(handles.PROP_REVISION),
                          props.get(handles.PROP_PREVIEW), "docProps/custom.xml")


def read(path: Path) -> Package:
    path = Path(path)
    try:
        zf = zipfile.ZipFile(path)
    except FileNotFoundError:
        raise Unreadable("E080", f"{path} がありません。", "ファイル名を確かめてください。") from None
    except IsADirectoryError:
        raise Unreadable("E080", f"{path} はフォルダです。", "DOCX ファイルを指定してください。") from None
    except (zipfile.BadZipFile, OSError) as exc:
        raise Unreadable("E080", f"{path} は DOCX（zip）ではありません（{type(exc).__name__}）。",
                         "Word で「Word 文書（*.docx）」として保存したファイルを指定してください（.doc や PDF は読めません）。") from None
    with zf:
        names = set(zf.namelist())
        if "word/document.xml" not in names:
            raise Unreadable("E080", f"{path} は Word の文書ではありません（word/document.xml がありません）。",
                             "Word で「Word 文書（*.docx）」として保存したファイルを指定してください。")
        found: HandleMap | None = None
        other_format: str | None = None
        for name in sorted(n for n in names if n.startswith("customXml/item") and n.endswith(".xml")
                           and "Props" not in n):
            root = _parse(zf, name, path)
            if root.tag.endswith("}handles") or root.tag == "handles":
                if root.tag != f"{{{handles.HANDLES_NS}}}handles" or root.get("format") != handles.HANDLES_FORMAT:
                    other_format = root.get("format") or root.tag
                    continue
                found = _from_custom_xml(root, name)
                break
        if found is None and "docProps/custom.xml" in names:
            fmt, found = _from_properties(_parse(zf, "docProps/custom.xml", path))
            other_format = other_format or (fmt if fmt and fmt != handles.HANDLES_FORMAT else None)
        if found is None:
            if other_format:
                raise Unreadable("E082", f"{path} の目印の表は別の形式（{other_format}）です。この版の followup は "
                                 f"{handles.HANDLES_FORMAT} だけを読みます。",
                                 "この版の followup で作り直したプレビューを使ってください。", "customXml/item1.xml")
            raise Unreadable("E081", f"{path} には段落の目印の表（customXml/item1.xml）がありません。followup が作った DOCX ではないか、"
                             "目印が消えています。",
                             "followup preview（または build）で作った DOCX に書き込んでもらってください。", "customXml/item1.xml")
        if not found.fields or not found.document_sha256:
            raise Unreadable("E082", f"{path} の目印の表（{found.origin}）が空か、作成元の記録がありません。",
                             "followup preview（または build）で作り直した DOCX を使ってください。", found.origin)
        document = _parse(zf, "word/document.xml", path)
        if document.tag != f"{{{W_NS}}}document":
            raise Unreadable("E083", f"{path} の word/document.xml は Word の本文ではありません。",
                             "Word か LibreOffice で開いて保存し直したものを送ってもらってください。", "word/document.xml")
        styles: dict[str, str] = {}
        indents: dict[str, int] = {}
        if "word/styles.xml" in names:
            for st in _parse(zf, "word/styles.xml", path).iter(f"{{{W_NS}}}style"):
                name_el = st.find(f"{{{W_NS}}}name")
                sid = st.get(f"{{{W_NS}}}styleId")
                if sid:
                    styles[sid] = name_el.get(f"{{{W_NS}}}val") if name_el is not None else sid
                    left = left_indent(st.find(f"{{{W_NS}}}pPr"))
                    if left is not None:
                        indents[styles[sid]] = left
        comments = _parse(zf, "word/comments.xml", path) if "word/comments.xml" in names else None
        margins = [(n, _parse(zf, n, path)) for n in sorted(names)
                   if n.startswith(("word/footer", "word/header")) and n.endswith(".xml")]
    return Package(path, document, styles, indents, comments, found, margins)


def left_indent(ppr) -> int | None:
    """The left (start) indent a paragraph's or style's properties set, in twentieths of a point."""
    ind = ppr.find(f"{{{W_NS}}}ind") if ppr is not None else None
    if ind is None:
        return None
    for attr in ("left", "start"):
        value = ind.get(f"{{{W_NS}}}{attr}")
        if value is not None and value.lstrip("-").isdigit():
            return int(value)
    return None
