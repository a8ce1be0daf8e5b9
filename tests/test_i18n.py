"""The strings catalogue (web/strings.py): both languages complete and consistent, the
page's components built from it, and the dictionaries gr.I18n gets filled in."""

from __future__ import annotations

import re

import pytest

from hyasr_space.settings import Settings
from hyasr_space.web import footer, strings

ARMENIAN_LETTERS = re.compile(r"[\u0531-\u0587]")
# Latin words an Armenian string may keep: names, formats and the API's terms.
LATIN_ALLOWED = {"CTC", "SRT", "WebVTT", "JSON", "CSV", "Hub", "Trainer", "WER", "CER"}
LATIN_ALLOWED |= {"API", "MCP", "Gradio", "https", "English"}


def test_both_languages_have_the_same_keys_and_placeholders() -> None:
    assert strings.EN.keys() == strings.HY.keys()
    for key, english in strings.EN.items():
        assert strings.placeholders(english) == strings.placeholders(strings.HY[key]), key


@pytest.mark.parametrize("key", sorted(strings.HY))
def test_every_armenian_string_is_armenian(key: str) -> None:
    armenian = strings.HY[key]
    if key == "error_other":  # the detail alone, as errors.py wrote it
        return
    assert ARMENIAN_LETTERS.search(armenian), (key, armenian)
    latin = set(re.findall(r"[A-Za-z]+", re.sub(r"\{[^}]*\}", "", armenian)))
    assert latin <= LATIN_ALLOWED, (key, latin - LATIN_ALLOWED)
    assert armenian != strings.EN[key]


def test_gradio_words_and_headers_are_armenian() -> None:
    for table in (strings.GRADIO_HY, strings.HEADERS_HY):
        for key, armenian in table.items():
            assert ARMENIAN_LETTERS.search(armenian), (key, armenian)


def test_the_i18n_dictionaries_quote_the_settings() -> None:
    settings = Settings(max_duration_s=90, temp_file_ttl_s=1800)
    filled = strings.translations(footer.page_values(settings))
    assert filled["en"]["audio_label"] == "Audio (up to 90 s)"
    assert filled["hy"]["audio_label"] == "Ձայն (մինչև 90 վ)"
    assert "30 րոպե" in filled["hy"]["privacy_server"]
    assert "30 minutes" in filled["en"]["privacy_server"]
    assert filled["hy"]["upload_text.drop_audio"] == strings.GRADIO_HY["upload_text.drop_audio"]
    # A server-side message keeps its fields for when it is sent.
    assert "{problem}" in filled["hy"]["unavailable"]


def test_server_messages_in_each_language_and_english_for_anything_else() -> None:
    assert strings.text("hy", "no_audio") == "Նախ ձայնագրեք կամ վերբեռնեք ձայն։"
    assert strings.text("en", "no_audio") == "Record or upload some audio first."
    assert strings.text("fr", "no_audio") == strings.text("en", "no_audio")
    assert strings.text("hy", "info_aligned", duration=2.5, seconds=0.25) == (
        "2.5 վ ձայն, համադրվեց 0.2 վ-ում։"
    )


def test_an_unknown_key_is_refused() -> None:
    with pytest.raises(KeyError, match="no string 'nope'"):
        strings.ui("nope")
