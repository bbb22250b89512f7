"""Regenerate the engine's FIX 4.4 data dictionary (``src/engine/fix/fix44.json``) from a QuickFIX-format XML file.

Usage: ``python tools/gen_fix_dictionary.py PATH/TO/FIX44.xml [--licence PATH/TO/LICENSE] [--out PATH]``.

The XML is the dictionary published by the QuickFIX project under the QuickFIX Software License 1.0, whose
notice is carried into the generated file (``notice``), as the licence requires. The output keeps the XML's
structure with field names resolved to tags: header, trailer, components and messages are lists of items
``["field", tag, required]``, ``["component", name, required]`` or ``["group", count_tag, required, items]``.
"""

from __future__ import annotations

import argparse
import json
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

DEFAULT_OUT = Path(__file__).resolve().parents[1] / "src" / "engine" / "fix" / "fix44.json"
ACKNOWLEDGEMENT = (
    "This product includes software developed by quickfixengine.org (http://www.quickfixengine.org/). "
    "The FIX 4.4 data dictionary below is derived from the QuickFIX project's spec/FIX44.xml."
)


def _items(node: ET.Element, tags: dict[str, int]) -> list[Any]:
    items: list[Any] = []
    for child in node:
        required = child.get("required") == "Y"
        name = child.get("name", "")
        if child.tag == "field":
            items.append(["field", tags[name], required])
        elif child.tag == "component":
            items.append(["component", name, required])
        elif child.tag == "group":
            items.append(["group", tags[name], required, _items(child, tags)])
    return items


def _data_lengths(fields: dict[str, dict[str, Any]]) -> dict[str, int]:
    """Pairs each DATA field with the LENGTH field that gives its size (``RawData`` <- ``RawDataLength``)."""
    by_name = {spec["name"]: int(tag) for tag, spec in fields.items()}
    pairs: dict[str, int] = {}
    for tag, spec in fields.items():
        if spec["type"] != "DATA":
            continue
        for suffix in ("Len", "Length"):
            length_tag = by_name.get(spec["name"] + suffix)
            if length_tag is not None:
                pairs[str(length_tag)] = int(tag)
                break
        else:
            raise SystemExit(f"no length field for DATA field {spec['name']}")
    return pairs


def convert(root: ET.Element, licence: str) -> dict[str, Any]:
    """The JSON document of a parsed QuickFIX dictionary, with ``licence`` as its notice."""
    fields: dict[str, dict[str, Any]] = {}
    for node in root.iterfind("fields/field"):
        spec: dict[str, Any] = {"name": node.get("name"), "type": node.get("type")}
        values = {value.get("enum", ""): value.get("description", "") for value in node.iterfind("value")}
        if values:
            spec["values"] = values
        fields[node.get("number", "")] = spec
    tags = {spec["name"]: int(tag) for tag, spec in fields.items()}
    header = root.find("header")
    trailer = root.find("trailer")
    if header is None or trailer is None:
        raise SystemExit("the XML has no header or trailer")
    return {
        "notice": [ACKNOWLEDGEMENT, *licence.strip().splitlines()],
        "begin_string": f"{root.get('type', 'FIX')}.{root.get('major')}.{root.get('minor')}",
        "fields": fields,
        "data_lengths": _data_lengths(fields),
        "header": _items(header, tags),
        "trailer": _items(trailer, tags),
        "components": {node.get("name", ""): _items(node, tags) for node in root.iterfind("components/component")},
        "messages": {
            node.get("msgtype", ""): {
                "name": node.get("name"),
                "category": node.get("msgcat"),
                "items": _items(node, tags),
            }
            for node in root.iterfind("messages/message")
        },
    }


def main(argv: list[str]) -> int:
    """Read the XML (and the licence beside it unless given) and write the JSON dictionary."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("xml", type=Path)
    parser.add_argument("--licence", type=Path, default=None, help="licence file (default: LICENSE beside the XML)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    licence_path = args.licence or args.xml.with_name("LICENSE")
    document = convert(ET.parse(args.xml).getroot(), licence_path.read_text(encoding="utf-8"))
    text = json.dumps(document, separators=(",", ":"), ensure_ascii=False)
    args.out.write_text(text + "\n", encoding="utf-8")
    print(f"wrote {args.out} ({len(text):,} bytes, {len(document['messages'])} messages)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
