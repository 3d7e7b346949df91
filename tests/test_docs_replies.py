"""docs/replies.md lists every reply type with exactly the fields the checks in send_specs use."""

from __future__ import annotations

import re
from pathlib import Path

from gateway.channels import channel_class
from gateway.channels.send_specs import SPECS, canonical

DOC = Path(__file__).resolve().parents[1] / "docs" / "replies.md"
SECTIONS = {"wecom": "## WeCom", "mp": "## Official Account"}


def _rows(kind: str) -> dict[str, tuple[set[str], set[str]]]:
    text = DOC.read_text()
    section = text[text.index(SECTIONS[kind]) :]
    section = section[: section.index("\n## ", 1)]
    rows = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 3 or not cells[0].startswith("`"):
            continue
        names = [re.findall(r"`([a-z_]+)`", cell) for cell in cells]
        rows[canonical(names[0][0])] = (set(names[1]), set(names[2]))
    return rows


def test_every_type_and_field_is_documented() -> None:
    for kind, specs in SPECS.items():
        rows = _rows(kind)
        documented = set(rows) | ({"link"} if kind == "mp" else set())  # MP link is news under another name
        assert documented == set(specs), kind
        assert set(specs) == set(channel_class(kind).send_types), kind
        for content_type, (required, optional) in rows.items():
            spec = specs[content_type]
            assert required | optional == set(spec.names), (kind, content_type)
            if content_type != "news":  # news: one article, flat or as `articles` (a rule across fields)
                assert required == {f.name for f in spec.fields if f.required}, (kind, content_type)


def test_the_readme_table_names_every_type_with_its_required_fields() -> None:
    """README's "Reply types" table: a row per type, each platform's required fields as the checks
    have them (news/link on MP: one article, a rule across fields, so only its names are checked)."""
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    table = readme[readme.index("**Reply types**") :]
    table = table[: table.index("\n\n", table.index("| content_type"))]
    columns = {"wecom": 1, "mp": 2}
    seen: dict[str, set[str]] = {"wecom": set(), "mp": set()}
    for line in table.splitlines()[4:]:
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        types = [canonical(t) for t in re.findall(r"`([a-z_]+)`", cells[0])]
        for kind, column in columns.items():
            cell = cells[column]
            if cell == "—":
                continue
            alternatives = [re.findall(r"`([a-z_]+)`", part) for part in cell.split(" / ")]
            for n, content_type in enumerate(types):
                if cell.startswith("as ") or (kind == "mp" and content_type == "news"):
                    seen[kind].add(content_type)
                    continue
                fields = set(alternatives[n] if len(alternatives) == len(types) else alternatives[0])
                spec = SPECS[kind][content_type]
                assert fields == {f.name for f in spec.fields if f.required}, (kind, content_type, fields)
                seen[kind].add(content_type)
    assert seen["wecom"] == set(SPECS["wecom"])
    assert seen["mp"] == set(SPECS["mp"])
