"""HTML résumés (saved job-board profiles, exported pages): the visible text, one line per block.

selectolax (Lexbor) parses the page; the walk below keeps only what a reader would see: no
<script>, <style>, <head> metadata, <template> or <noscript>, nothing marked `hidden`,
`aria-hidden` or `display:none` inline (stylesheets are not evaluated). Block elements end
lines, <br> breaks them, list items start with "• ", and table cells are joined with " | ".

The walk uses an explicit stack, not recursion, so deep nesting cannot overflow Python's stack,
and the deadline is checked every few hundred nodes. The parser itself cannot be interrupted, and
its cost grows with nesting depth times the number of elements (each block start tag looks up the
stack of open elements): 50,000 nested <div>s took 3.6 s to parse. So before parsing, one regular
expression pass estimates the depth (void and self-closing tags, and tags HTML closes by itself
such as <p> and <li>, do not count) and refuses pages past `Limits.max_html_depth`.
"""

from __future__ import annotations

import re

from selectolax.lexbor import LexborHTMLParser, LexborNode

from ai_services.resume_service.documents.errors import CorruptFile, NoTextFound
from ai_services.resume_service.documents.limits import Deadline, Limits

_INVISIBLE = frozenset({"script", "style", "head", "template", "noscript", "iframe", "object", "svg", "canvas",
                        "select", "option", "datalist", "-comment", "!doctype"})
_BLOCKS = frozenset({"address", "article", "aside", "blockquote", "dd", "details", "dialog", "div", "dl", "dt",
                     "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6",
                     "header", "hr", "li", "main", "nav", "ol", "p", "pre", "section", "summary", "table",
                     "tbody", "thead", "tfoot", "tr", "ul", "body", "html", "caption", "title"})
_CELLS = frozenset({"td", "th"})
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)
_SPACES = re.compile(r"[ \t\r\n\f]+")
_DOUBLE_SPACES = re.compile(r" {2,}")
_CHECK_EVERY = 512
_TAGS = re.compile(r"<(/?)([A-Za-z][A-Za-z0-9-]*)[^>]*?(/?)>")
_UNCOUNTED = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
                        "track", "wbr", "param", "p", "li", "dt", "dd", "tr", "td", "th", "option", "optgroup",
                        "thead", "tbody", "tfoot", "colgroup", "caption", "rb", "rt", "rp", "html", "head", "body"})
_END = object()  # marks the end of an element on the stack


def read_html(text: str, limits: Limits, deadline: Deadline) -> str:
    depth = _nesting(text)
    if depth > limits.max_html_depth:
        raise CorruptFile("HTML", f"its elements are nested {depth:,} deep; the limit is {limits.max_html_depth:,}")
    deadline.check("parsing the HTML")
    tree = LexborHTMLParser(text)
    root = tree.body or tree.root
    if root is None:
        raise NoTextFound("the HTML page has no body")
    lines: list[str] = []
    current: list[str] = []

    def end_line() -> None:
        line = "".join(current).strip()
        if line:
            lines.append(line)
        current.clear()

    stack: list[object] = [root]
    visited = 0
    while stack:
        node = stack.pop()
        if node is _END:
            end_line()
            continue
        if isinstance(node, tuple):  # (tag, node) closing an element that is not a block
            if node[0] in _CELLS:
                current.append(" | ")
            continue
        assert isinstance(node, LexborNode)
        visited += 1
        if visited % _CHECK_EVERY == 0:
            deadline.check("an HTML element")
        tag = node.tag
        if tag == "-text":
            current.append(_SPACES.sub(" ", node.text_content or ""))
            continue
        if tag in _INVISIBLE or not isinstance(tag, str) or _hidden(node):
            continue
        if tag == "br":
            end_line()
            continue
        if tag in _BLOCKS:
            end_line()
            stack.append(_END)
            if tag == "li":
                current.append("• ")
        else:
            stack.append((tag, node))
        stack.extend(reversed(list(_children(node))))
    end_line()
    return "\n".join(_DOUBLE_SPACES.sub(" ", line.rstrip(" |").strip()) for line in lines)


def _nesting(text: str) -> int:
    """The deepest nesting the tags spell out, counting only elements that need an end tag."""
    depth = deepest = 0
    for closing, name, self_closing in _TAGS.findall(text):
        name = name.lower()
        if name in _UNCOUNTED or self_closing:
            continue
        if closing:
            depth = max(depth - 1, 0)
        else:
            depth += 1
            deepest = max(deepest, depth)
    return deepest


def _children(node: LexborNode) -> list[LexborNode]:
    children = []
    child = node.child
    while child is not None:
        children.append(child)
        child = child.next
    return children


def _hidden(node: LexborNode) -> bool:
    attributes = node.attributes
    if not attributes:
        return False
    if "hidden" in attributes or attributes.get("aria-hidden") == "true":
        return True
    style = attributes.get("style")
    return bool(style and _HIDDEN_STYLE.search(style))
