"""The one catalog: every text the package marks has its Chinese, and each message means one thing."""

from __future__ import annotations

from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

import churnradar
from churnradar import i18n

# The extraction keywords of src/churnradar/i18n/locales/README.md: the web's `_`, and N_, msg, nmsg, pmsg.
KEYWORDS = {
    "_": None,
    "gettext": None,
    "ngettext": (1, 2),
    "N_": None,
    "msg": None,
    "nmsg": (1, 2),
    "pmsg": ((1, "c"), 2),
}
METHODS = [("**/templates/**.html", "jinja2"), ("**.py", "python")]


def _key(message_id: str | tuple[str, ...], context: str | None) -> str:
    text = message_id if isinstance(message_id, str) else message_id[0]
    return f"{context}|{text}" if context else text


def test_every_marked_text_in_the_package_has_a_chinese_translation() -> None:
    root = Path(churnradar.__file__).parent
    wanted = {_key(m[2], m[4]) for m in extract_from_dir(str(root), METHODS, keywords=KEYWORDS)}
    catalog = i18n.read_catalog("zh_CN")
    translated = {_key(m.id, m.context) for m in catalog if m.id and m.string}
    assert sorted(wanted - translated) == []


def test_domain_modules_are_extracted_not_only_the_web() -> None:
    root = Path(churnradar.__file__).parent
    found = {m[0].split("/")[0] for m in extract_from_dir(str(root), METHODS, keywords=KEYWORDS)}
    assert {"web", "notification", "intervention", "scoring", "evaluation"} <= found


def test_a_message_in_several_catalog_files_means_one_thing() -> None:
    # Every .po file of a locale is merged and the first text wins; two texts would be a silent mix-up.
    texts: dict[str, set[str]] = {}
    for path in i18n.catalog_files("zh_CN"):
        with path.open("rb") as handle:
            for message in read_po(handle, locale="zh_CN"):
                if message.id:
                    text = message.string if isinstance(message.string, str) else message.string[0]
                    texts.setdefault(_key(message.id, message.context), set()).add(text)
    assert {key: sorted(found) for key, found in texts.items() if len(found) > 1} == {}


def test_a_context_tells_one_english_word_apart() -> None:
    assert i18n.translate("open", "zh_CN") == "进行中"  # a task's status on the pages
    assert i18n.pmsg("digest: a task not yet done", "open").render("zh_CN") == "待处理"
    assert i18n.pmsg("digest: a task not yet done", "open").render("en") == "open"


def test_language_tags_mean_the_catalog_locale() -> None:
    assert {i18n.normalize(tag) for tag in ("zh", "zh_CN", "zh-CN", "zh-Hans", "zh-Hans-CN")} == {"zh_CN"}
    assert {i18n.normalize(tag) for tag in (None, "", "en", "en-GB", "zh-TW", "fr")} == {"en"}


def test_parameters_are_values_never_templates() -> None:
    # A user's text passed as a parameter is not formatted again: braces in it stay as typed.
    line = i18n.msg("assigned to you by {by}", by="{0} {__class__}")
    assert line.render("en") == "assigned to you by {0} {__class__}"
    assert line.render("zh_CN") == "由 {0} {__class__} 分配给你"
