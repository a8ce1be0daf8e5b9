"""Every word the page says, in English and Eastern Armenian, in one catalogue.

Two ways out of it. Labels, buttons, hints and help text are `ui(key)`: a translation
key that Gradio's frontend looks up in the browser (`gr.I18n`, whose dictionaries
`translations` makes, with the limits of these settings filled in), so one page serves
both languages and a switch needs no round trip. What the server writes after an event
(errors, the details under a result) is `text(language, key, ...)`, in the session's
language (language.py); the API's callers get English.

`GRADIO_HY` puts Gradio's own visible words (the upload area, the footer, the recorder)
into Armenian: Gradio 6.31 ships no `hy` locale, and its frontend takes messages for any
locale from the app's `gr.I18n` under its own keys (`upload_text.drop_audio`, ...).
`HEADERS_HY` holds the table headers, which Gradio does not translate: the page's script
(language.js) swaps them, so the API's column names stay English.

Keys are grouped by where they show. Both catalogues must have the same keys and the
same `{placeholders}` (tests/test_i18n.py checks).
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from typing import Any

from gradio.i18n import I18nData

ENGLISH, ARMENIAN = "en", "hy"
LANGUAGES = (ARMENIAN, ENGLISH)
# The switch names each language in that language.
LANGUAGE_NAMES = {ARMENIAN: "Հայերեն", ENGLISH: "English"}

EN: dict[str, str] = {
    # The app shell (web/__init__.py)
    "title": "Armenian speech recognition",
    "intro": "Record or upload Armenian speech to get its text.",
    "no_model": "No speech recognition model could be loaded.",
    "note": "Note:",
    "language": "Language",
    "tab_transcribe": "Transcribe",
    "tab_live": "Live",
    "tab_align": "Align",
    "tab_card": "Model card",
    "privacy_title": "Your recordings and texts",
    "privacy_browser_off": (
        "This page keeps nothing of your recordings or texts in your browser: "
        "close the tab and they are gone from it."
    ),
    "privacy_browser_on": (
        "This page keeps a history of your runs (recordings and texts included) in "
        "your browser, until you delete it from the run history page."
    ),
    "privacy_server": (
        "Uploads, recordings and result files stay on the server for "
        "{ttl_minutes:g} minutes, then they are deleted."
    ),
    "privacy_share": (
        "A Share link saves the page as it is on the server: anyone with the link can "
        "open it, and its audio and files, until they are deleted."
    ),
    # Transcribe tab
    "audio_label": "Audio (up to {max_duration_s:g} s)",
    "clear": "Clear",
    "transcribe": "Transcribe",
    "examples": "Examples",
    "transcript_label": "Transcript (correct it, then Re-align)",
    "realign": "Re-align",
    # Live tab
    "live_help": (
        "Live captions from your microphone, up to {live_time_limit_s:g} s. Nothing you "
        "say is lost when the server is busy: the text falls behind and catches up."
    ),
    "live_no_model": "No model is loaded, so live mode is off:",
    "live_record": "Record",
    "live_stop": "Stop",
    "live_again": "Decode again with these settings",
    "live_transcript": "Live transcript",
    "live_text": "Transcript",
    # Decoder panel
    "decoder": "Decoder",
    "decoder_greedy": "Greedy CTC",
    "decoder_lm": "Beam search + language model",
    "decoder_both": "Both, side by side",
    "lm_settings": "Language model settings",
    "no_lm": "This model has no language model: text is decoded greedily.",
    "alpha": "alpha: weight of the language model",
    "beta": "beta: bonus per word",
    "beam_width": "beam width",
    "hotwords": "hotwords",
    "hotwords_placeholder": "words to favour, separated by commas",
    "hotword_weight": "hotword weight",
    # Result panel
    "confidence_label": "Confidence (doubtful words in red)",
    "downloads_label": "SRT, WebVTT, JSON",
    "segments": "Segments",
    "words": "Words",
    "player_label": "Playback with captions",
    "player_hint": "Click a word to hear it.",
    "picture_label": "Spectrogram with the words and where captions were cut",
    "share": "Share this result",
    "share_done": "Link copied",
    "info_model": "Model:",
    "info_from": "Transcript from:",
    "info_compared": "Compared with:",
    "info_words_from": "Words from:",
    "info_transcribed": "{duration:.1f} s of audio, transcribed in {seconds:.1f} s.",
    "info_aligned": "{duration:.1f} s of audio, aligned in {seconds:.1f} s.",
    "info_no_speech": "No speech was recognised.",
    # Align tab
    "align_help": (
        "Align a text you already have (a script, a corrected transcript) to its "
        "recording: each word gets its start and end, and a score that shows where "
        "the text and the audio disagree."
    ),
    "align_text_label": "Text spoken in the recording",
    "align_placeholder": "Armenian text",
    "align_button": "Align",
    # Card tab
    "card_refresh": "Refresh from the Hub",
    "card_metrics": "Metrics",
    "card_training": "Training results",
    "card_curve_title": "Validation WER and CER during training (the Trainer's eval, greedy)",
    "card_body": "The card",
    "card_legend": (
        "Each figure names the split it was measured on and the decoder that produced it "
        "(greedy CTC or with the language model), and the note says whether the card "
        "stated that or it was inferred. Figures on different splits are not comparable."
    ),
    "card_none": "No model card to show.",
    # Messages (server side, in the session's language)
    "progress": "Recognising speech",
    "progress_unit": "windows",
    "unavailable_title": "Unavailable",
    "unavailable": "No model is loaded: {problem}",
    "no_audio_title": "No audio",
    "no_audio": "Record or upload some audio first.",
    "cannot_transcribe": "Cannot transcribe",
    "cannot_align": "Cannot align",
    # HyasrError subclasses (errors.py), for the page; the API keeps errors.py's English
    "error_too_long": (
        "{name} is {length} seconds long; the limit is {limit:g} seconds. Trim it and try again."
    ),
    "error_too_long_at_least": "at least {duration:.1f}",
    "error_too_short": (
        "{name} is only {ms:.3g} ms long; speech needs at least {limit_ms:g} ms. "
        "Record a little longer and try again."
    ),
    "error_too_large": "{name} is {size:.1f} MB; the limit is {limit:g} MB.",
    "error_empty": "The audio holds no sound: {detail}",
    "error_decode": "This file cannot be read as audio: {detail}",
    "error_request": "A setting is out of range: {detail}",
    "error_model": "The model cannot be used: {detail}",
    "error_other": "{detail}",
    # Choosing and comparing models (model_panel.py, compare_tab.py)
    "model_label": "Model",
    "model_info": "Sizes, licences and figures are the models' Hub cards' own.",
    "tab_compare": "Compare",
    "compare_intro": (
        "The same recording through two models, side by side: the words where they differ "
        "are highlighted. Each model decodes with its own language model where it has one."
    ),
    "compare_audio": "Audio",
    "compare_first": "First model",
    "compare_second": "Second model",
    "compare_button": "Compare",
    # The Live tab's model (live_tab.py)
    "live_model_info": (
        "Record streams with this model. One that is not loaded yet is loaded first; "
        "what you say meanwhile is kept."
    ),
    "live_model_loading": (
        "Loading {model}… What you say meanwhile is kept and transcribed once it is ready."
    ),
    "live_model_unavailable": (
        "**{model} cannot be used now:** {reason} Nothing was recorded; record again with "
        "another model (the Space's model keeps serving)."
    ),
}

HY: dict[str, str] = {
    "title": "Հայերեն խոսքի ճանաչում",
    "intro": "Ձայնագրեք կամ վերբեռնեք հայերեն խոսք և ստացեք դրա տեքստը։",
    "no_model": "Խոսքի ճանաչման ոչ մի մոդել չհաջողվեց բեռնել։",
    "note": "Նշում՝",
    "language": "Լեզու",
    "tab_transcribe": "Տառադարձում",
    "tab_live": "Ուղիղ",
    "tab_align": "Համադրում",
    "tab_card": "Մոդելի քարտ",
    "privacy_title": "Ձեր ձայնագրություններն ու տեքստերը",
    "privacy_browser_off": (
        "Այս էջը ձեր դիտարկիչում ոչինչ չի պահում ձեր ձայնագրություններից և տեքստերից. "
        "փակեք ներդիրը, և դրանք այնտեղից կվերանան։"
    ),
    "privacy_browser_on": (
        "Այս էջը ձեր դիտարկիչում պահում է ձեր գործարկումների պատմությունը "
        "(ձայնագրություններով և տեքստերով), մինչև այն ջնջեք պատմության էջից։"
    ),
    "privacy_server": (
        "Վերբեռնումները, ձայնագրությունները և արդյունքների ֆայլերը սերվերում մնում են "
        "{ttl_minutes:g} րոպե, հետո ջնջվում են։"
    ),
    "privacy_share": (
        "«Կիսվել» հղումը էջը պահում է սերվերում այնպես, ինչպես կա. հղումն ունեցող "
        "ցանկացած մարդ կարող է բացել այն, նաև դրա ձայնն ու ֆայլերը, մինչև դրանց ջնջվելը։"
    ),
    "audio_label": "Ձայն (մինչև {max_duration_s:g} վ)",
    "clear": "Մաքրել",
    "transcribe": "Տառադարձել",
    "examples": "Օրինակներ",
    "transcript_label": "Տեքստ (ուղղեք այն, հետո՝ «Վերահամադրել»)",
    "realign": "Վերահամադրել",
    "live_help": (
        "Ուղիղ ենթագրեր ձեր խոսափողից, մինչև {live_time_limit_s:g} վ։ Երբ սերվերը "
        "զբաղված է, ձեր ասածից ոչինչ չի կորչում. տեքստը հետ է մնում, հետո հասնում է։"
    ),
    "live_no_model": "Մոդել բեռնված չէ, ուստի ուղիղ ռեժիմն անջատված է՝",
    "live_record": "Ձայնագրել",
    "live_stop": "Կանգնեցնել",
    "live_again": "Նորից վերծանել այս կարգավորումներով",
    "live_transcript": "Ուղիղ տեքստ",
    "live_text": "Տեքստ",
    "decoder": "Վերծանիչ",
    "decoder_greedy": "Ագահ CTC",
    "decoder_lm": "Ճառագայթային որոնում + լեզվական մոդել",
    "decoder_both": "Երկուսն էլ՝ կողք կողքի",
    "lm_settings": "Լեզվական մոդելի կարգավորումներ",
    "no_lm": "Այս մոդելը լեզվական մոդել չունի. տեքստը վերծանվում է ագահ եղանակով։",
    "alpha": "ալֆա՝ լեզվական մոդելի կշիռը",
    "beta": "բետա՝ պարգև յուրաքանչյուր բառի համար",
    "beam_width": "ճառագայթի լայնություն",
    "hotwords": "նախընտրելի բառեր",
    "hotwords_placeholder": "բառեր, որոնք պետք է նախընտրել, ստորակետերով բաժանված",
    "hotword_weight": "նախընտրելի բառերի կշիռ",
    "confidence_label": "Վստահություն (կասկածելի բառերը՝ կարմիրով)",
    "downloads_label": "SRT, WebVTT, JSON ֆայլեր",
    "segments": "Հատվածներ",
    "words": "Բառեր",
    "player_label": "Նվագարկում ենթագրերով",
    "player_hint": "Սեղմեք բառի վրա՝ այն լսելու համար։",
    "picture_label": "Սպեկտրոգրամ՝ բառերով և ենթագրերի բաժանման տեղերով",
    "share": "Կիսվել այս արդյունքով",
    "share_done": "Հղումը պատճենված է",
    "info_model": "Մոդել՝",
    "info_from": "Տեքստի աղբյուրը՝",
    "info_compared": "Համեմատված է՝",
    "info_words_from": "Բառերի աղբյուրը՝",
    "info_transcribed": "{duration:.1f} վ ձայն, տառադարձվեց {seconds:.1f} վ-ում։",
    "info_aligned": "{duration:.1f} վ ձայն, համադրվեց {seconds:.1f} վ-ում։",
    "info_no_speech": "Խոսք չճանաչվեց։",
    "align_help": (
        "Համադրեք արդեն ունեցած տեքստը (սցենար, ուղղված տեքստ) իր ձայնագրության հետ. "
        "յուրաքանչյուր բառ ստանում է իր սկիզբն ու ավարտը և գնահատական, որը ցույց է "
        "տալիս, թե որտեղ են տեքստն ու ձայնը տարբերվում։"
    ),
    "align_text_label": "Ձայնագրության մեջ հնչող տեքստը",
    "align_placeholder": "Հայերեն տեքստ",
    "align_button": "Համադրել",
    "card_refresh": "Թարմացնել Hub-ից",
    "card_metrics": "Ցուցանիշներ",
    "card_training": "Ուսուցման արդյունքներ",
    "card_curve_title": ("Ստուգման WER և CER ուսուցման ընթացքում (Trainer-ի գնահատումը, ագահ)"),
    "card_body": "Քարտը",
    "card_legend": (
        "Յուրաքանչյուր թիվ նշում է, թե որ տվյալների մասի վրա է չափվել և որ վերծանիչով "
        "(ագահ CTC կամ լեզվական մոդելով), իսկ նշումն ասում է՝ դա գրված է քարտում, թե "
        "ենթադրված է։ Տարբեր մասերի վրա չափված թվերը համեմատելի չեն։"
    ),
    "card_none": "Ցույց տալու մոդելի քարտ չկա։",
    "progress": "Խոսքը ճանաչվում է",
    "progress_unit": "պատուհան",
    "unavailable_title": "Անհասանելի է",
    "unavailable": "Մոդել բեռնված չէ՝ {problem}",
    "no_audio_title": "Ձայն չկա",
    "no_audio": "Նախ ձայնագրեք կամ վերբեռնեք ձայն։",
    "cannot_transcribe": "Հնարավոր չէ տառադարձել",
    "cannot_align": "Հնարավոր չէ համադրել",
    "error_too_long": (
        "{name}-ի տևողությունը {length} վայրկյան է, իսկ սահմանը {limit:g} վայրկյան է։ "
        "Կրճատեք այն և նորից փորձեք։"
    ),
    "error_too_long_at_least": "առնվազն {duration:.1f}",
    "error_too_short": (
        "{name}-ը ընդամենը {ms:.3g} մվ է. խոսքի համար պետք է առնվազն {limit_ms:g} մվ։ "
        "Ձայնագրեք մի փոքր ավելի երկար և նորից փորձեք։"
    ),
    "error_too_large": "{name}-ի չափը {size:.1f} ՄԲ է, իսկ սահմանը {limit:g} ՄԲ է։",
    "error_empty": "Ձայնը ոչ մի հնչյուն չունի՝ {detail}",
    "error_decode": "Այս ֆայլը հնարավոր չէ կարդալ որպես ձայն՝ {detail}",
    "error_request": "Կարգավորումներից մեկը թույլատրելի սահմաններից դուրս է՝ {detail}",
    "error_model": "Մոդելը հնարավոր չէ օգտագործել՝ {detail}",
    "error_other": "{detail}",
    # Choosing and comparing models (model_panel.py, compare_tab.py)
    "model_label": "Մոդել",
    "model_info": "Չափերը, լիցենզիաները և թվերը մոդելների Hub քարտերից են։",
    "tab_compare": "Համեմատել",
    "compare_intro": (
        "Նույն ձայնագրությունը երկու մոդելով՝ կողք կողքի. այն բառերը, որոնցում նրանք "
        "տարբերվում են, ընդգծված են։ Յուրաքանչյուր մոդել վերծանում է իր լեզվական "
        "մոդելով, եթե այն ունի։"
    ),
    "compare_audio": "Ձայնագրություն",
    "compare_first": "Առաջին մոդել",
    "compare_second": "Երկրորդ մոդել",
    "compare_button": "Համեմատել",
    # The Live tab's model (live_tab.py)
    "live_model_info": (
        "Ձայնագրումն ընթանում է այս մոդելով։ Դեռ չբեռնված մոդելը նախ բեռնվում է, իսկ "
        "այդ ընթացքում ձեր ասածը պահպանվում է։"
    ),
    "live_model_loading": (
        "{model} մոդելը բեռնվում է… Այդ ընթացքում ձեր ասածը պահպանվում է և կվերծանվի, "
        "հենց որ այն պատրաստ լինի։"
    ),
    "live_model_unavailable": (
        "**{model} մոդելն այժմ հնարավոր չէ օգտագործել՝** {reason} Ոչինչ չձայնագրվեց. "
        "ձայնագրեք նորից այլ մոդելով (հիմնական մոդելը շարունակում է աշխատել)։"
    ),
}

# Gradio's own words that show on this page (its `en` dictionary's keys), in Armenian.
GRADIO_HY: dict[str, str] = {
    "upload_text.drop_audio": "Քաշեք ձայնային ֆայլն այստեղ",
    "upload_text.click_to_upload": "Սեղմեք՝ վերբեռնելու համար",
    "upload_text.drop_file": "Քաշեք ֆայլն այստեղ",
    "upload_text.drop_csv": "Քաշեք CSV ֆայլն այստեղ",
    "upload_text.paste_clipboard": "Տեղադրել սեղմատախտակից",
    "common.or": "կամ",
    "common.clear": "Մաքրել",
    "common.download": "Ներբեռնել",
    "common.download_all": "Ներբեռնել բոլորը",
    "common.edit": "Խմբագրել",
    "common.empty": "Դատարկ",
    "common.error": "Սխալ",
    "common.loading": "Բեռնվում է",
    "common.remove": "Հեռացնել",
    "common.settings": "Կարգավորումներ",
    "common.share": "Կիսվել",
    "common.submit": "Ուղարկել",
    "common.undo": "Հետարկել",
    "common.record": "Ձայնագրել",
    "common.stop_recording": "Կանգնեցնել ձայնագրումը",
    "common.built_with": "ստեղծված է",
    "common.built_with_gradio": "Ստեղծված է Gradio-ով",
    "common.hosted_on": "Տեղադրված է",
    "common.no_devices": "Սարքեր չեն գտնվել",
    "common.language": "Լեզու",
    "common.progress": "Ընթացք",
    "common.runs": "Գործարկումներ",
    "common.run": "Գործարկել",
    "audio.allow_recording_access": "Թույլատրեք խոսափողի օգտագործումը ձայնագրելու համար։",
    "audio.audio": "Ձայն",
    "audio.drop_to_upload": "Քաշեք ձայնային ֆայլն այստեղ՝ վերբեռնելու համար",
    "audio.record_from_microphone": "Ձայնագրել խոսափողից",
    "audio.stop_recording": "Կանգնեցնել ձայնագրումը",
    "audio.stop": "Կանգնեցնել",
    "audio.resume": "Շարունակել",
    "audio.record": "Ձայնագրել",
    "audio.no_microphone": "Խոսափող չի գտնվել",
    "audio.recording_error": "Չհաջողվեց սկսել ձայնագրումը խոսափողից։",
    "audio.pause": "Դադար",
    "audio.play": "Նվագարկել",
    "audio.waiting": "Սպասում",
    "audio.no_device_support": (
        "Հնարավոր չեղավ օգտագործել մեդիա սարքերը։ Ստուգեք, որ էջը բացված է "
        "անվտանգ հասցեով (https) և որ դիտարկիչին թույլ եք տվել օգտագործել սարքը։"
    ),
    "file.uploading": "Վերբեռնվում է...",
    "errors.use_via_api": "Օգտագործել API-ով",
    "errors.use_via_api_or_mcp": "Օգտագործել API-ով կամ MCP-ով",
    "dataframe.sort_column": "Դասավորել սյունակը",
    "dataframe.sort_ascending": "Դասավորել աճման կարգով",
    "dataframe.sort_descending": "Դասավորել նվազման կարգով",
    "dataframe.clear_sort": "Չեղարկել դասավորումը",
    "dataframe.filter": "Զտել",
    "dataframe.clear_filter": "Չեղարկել զտիչները",
    "blocks.connection_can_break": (
        "Հեռախոսում կապը կարող է ընդհատվել, եթե այս ներդիրը ակտիվ չէ կամ սարքը "
        "քնած է, և դուք կկորցնեք ձեր տեղը հերթում։"
    ),
    "blocks.lost_connection": "Կապը կորավ էջից դուրս գալու պատճառով։ Վերադառնում ենք հերթ...",
    "blocks.waiting_for_inputs": "Սպասում ենք ֆայլերի վերբեռնման ավարտին, նորից փորձեք։",
    "status.queue_position": "Հերթում՝ {position}-ը {size}-ից",
}

# Table headers (the API's column names) as the Armenian page shows them.
HEADERS_HY: dict[str, str] = {
    "start": "սկիզբ",
    "end": "ավարտ",
    "text": "տեքստ",
    "decoder": "վերծանիչ",
    "word": "բառ",
    "start (s)": "սկիզբ (վ)",
    "end (s)": "ավարտ (վ)",
    "confidence": "վստահություն",
    "metric": "ցուցանիշ",
    "value": "արժեք",
    "split": "մաս",
    "dataset": "տվյալներ",
    "task": "խնդիր",
    "source": "աղբյուր",
    "note": "նշում",
}

CATALOGUES = {ENGLISH: EN, ARMENIAN: HY}


def ui(key: str) -> I18nData:
    """A label, button text or help text, translated in the browser (`translations`)."""
    if key not in EN:
        raise KeyError(f"no string {key!r} in the catalogue")
    return I18nData(key)


def text(language: str, key: str, **values: Any) -> str:
    """The string `key` in `language` (English for anything else), filled in."""
    catalogue = CATALOGUES.get(language, EN)
    return catalogue[key].format(**values) if values else catalogue[key]


def translations(values: Mapping[str, Any]) -> dict[str, dict[str, str]]:
    """The dictionaries for `gr.I18n`: both catalogues, each string filled in with the
    `values` it names (the app's limits); plus Gradio's own words in Armenian."""
    filled: dict[str, dict[str, str]] = {}
    for language, catalogue in CATALOGUES.items():
        filled[language] = {key: _fill(template, values) for key, template in catalogue.items()}
    filled[ARMENIAN].update(GRADIO_HY)
    return filled


def placeholders(template: str) -> set[str]:
    """The names a template's `{fields}` use."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def _fill(template: str, values: Mapping[str, Any]) -> str:
    names = placeholders(template)
    if not names or not names <= values.keys():
        return template  # a server-side message: filled in when it is sent
    return template.format(**{name: values[name] for name in names})
