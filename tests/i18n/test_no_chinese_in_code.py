"""Chinese lives in the catalog (src/churnradar/i18n/locales), not in Python: program texts are messages.

Comments are not read by users and are not checked. Every exception is named here with why it is one; an
exception that no longer holds Chinese fails too, so the list stays true.
"""

from __future__ import annotations

import io
import re
import tokenize
from pathlib import Path

import churnradar

CJK = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef]")
ROOT = Path(churnradar.__file__).parent

EXCEPTIONS = {
    # Language names are shown in their own language, so a reader can always find theirs.
    "i18n/catalog.py": "the language switch's names",
    # Simulated customers' names, notes and complaints: data the demo generates, not program text.
    "demo/texts.py": "demo data generator",
    # Words Chinese spreadsheets use for true/false: what the importer accepts as input.
    "ingest/validate.py": "accepted input values",
    # An example mapping of Chinese column headers (user data) in the module's documentation.
    "ingest/mapping.py": "example of user data in a docstring",
    # Example tags a user may set (user data) in a docstring and in a command's help.
    "models/intervention.py": "example of user data in a docstring",
    "cli/tasks.py": "example of user data in a command's help",
    # The product's name in both languages in the command line's help.
    "cli/main.py": "the product's bilingual name",
}


def _strings_with_chinese(path: Path) -> list[int]:
    tokens = tokenize.generate_tokens(io.StringIO(path.read_text(encoding="utf-8")).readline)
    return [t.start[0] for t in tokens if t.type != tokenize.COMMENT and CJK.search(t.string)]


def test_no_python_module_writes_chinese_outside_the_catalog() -> None:
    found = {
        path.relative_to(ROOT).as_posix(): lines
        for path in sorted(ROOT.rglob("*.py"))
        if (lines := _strings_with_chinese(path))
    }
    unexpected = {name: lines for name, lines in found.items() if name not in EXCEPTIONS}
    assert unexpected == {}, "move these texts to the catalog (churnradar.i18n.msg / N_)"
    assert sorted(set(EXCEPTIONS) - set(found)) == [], "no Chinese left there: drop the exception"
