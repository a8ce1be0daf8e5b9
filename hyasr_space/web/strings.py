"""Every word the page says, in English and Eastern Armenian, in one catalogue.

Two ways out of it. Labels, buttons, hints and help text are `ui(key)`: a translation
key that Gradio's frontend looks up in the browser (`gr.I18n`, whose dictionaries
`translations` makes, with the limits of these settings filled in), so one page serves
both languages and a switch needs no round trip. What the server writes after an event
(errors, the details under a result, notices) is `text(language, key, ...)`, in the
language of the page that asked (language.py, messages.py); the API's callers get English.

`GRADIO_HY` and `HEADERS_HY` (gradio_words.py, served from here): Gradio's own visible
words in Armenian, and the table headers that the page's script swaps.

Keys are grouped by where they show. Both catalogues must have the same keys and the
same `{placeholders}` (tests/test_i18n.py checks).
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from typing import Any

from gradio.i18n import I18nData

# Gradio's own words and the table headers (served from here, as before)
from .gradio_words import GRADIO_HY as GRADIO_HY
from .gradio_words import HEADERS_HY as HEADERS_HY
from .gradio_words import TOASTS_HY as TOASTS_HY

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
    "cannot_compare": "Cannot compare",
    "cannot_decode": "Cannot decode",
    "invalid_settings": "Invalid settings",
    "no_model_loaded": "No model is loaded.",
    "info_decoded": "{duration:.1f} s of audio, decoded in {seconds:.1f} s.",
    # Notices the package writes in English (messages.NOTICES recognises them)
    "notice_no_lm": "This model has no language model, so the text was decoded greedily.",
    "notice_time_limit": "Live mode stops after {limit} s.",
    "notice_fell_behind": (
        "Live mode stopped: the server fell more than {behind} s behind the microphone "
        "({setting}, {memory} MB); what it heard until then is the result."
    ),
    "notice_lm_failed": "The language model could not be loaded ({detail}); decoding greedily.",
    "notice_int8_failed": (
        "The faster int8 model could not be prepared ({detail}); {dtype} keeps serving."
    ),
    "notice_final_pass_skipped": (
        "The text is the live one, phrase by phrase: a final pass over the whole recording "
        "would take about {estimate} s here, over the {limit} s allowed ({setting})."
    ),
    "notice_live_kept": "The text is the live one, phrase by phrase: {detail}",
    "notice_fallback_demo": (
        "{model} could not be loaded ({detail}). Using the bundled demo model instead: it is "
        "small and far less accurate."
    ),
    # The decoders' descriptions (messages.DESCRIPTIONS recognises them)
    "describe_greedy": "greedy CTC (no language model)",
    "describe_lm": "beam search + {order}-gram KenLM (`{settings}`)",
    "describe_align": "forced alignment of the given text (CTC Viterbi)",
    # The Live tab's messages (live_tab.py)
    "live_hint_idle": "Press Record and speak; the text appears here.",
    "live_hint_listening": "Listening…",
    "live_hint_nothing": "Nothing was heard.",
    # Written by the page's live client (static/live_client.js, through scripts.py)
    "live_behind": "{seconds} s behind",
    "live_mic_failed": "The microphone could not be opened: {reason}",
    "live_closed": "Live mode stopped: {reason}",
    "live_record_first": "Record something first; the settings apply when it ends.",
    "live_page_gone": "The page sent no audio for {seconds:g} s; live mode stopped.",
    "live_updates_every": "The text updates every {seconds:.1f} s on this hardware.",
    "live_busy": (
        "**Live mode is busy:** {open} live streams are open, the most this server takes "
        "at once (`HYASR_LIVE_MAX_STREAMS`={limit}); this recording was not heard. Stop, "
        "and record again in a minute, or record on the Transcribe tab."
    ),
    "live_lag": (
        "**Live mode lags on this hardware:** recognising a second of speech takes more "
        "than a second here, so the text falls behind the speaker. Transcribe a recording "
        "on the Transcribe tab instead"
    ),
    "live_lag_int8": "; a faster int8 model is being prepared and takes over when ready.",
    "live_lag_cpu": ", or run the app with `HYASR_DTYPE=int8` (several times faster).",
    "live_lag_gpu": ": live mode needs a faster machine or a GPU for this model.",
    # The model choice (model_panel.py)
    "model_loading": "Loading {model} (first use; later requests need not wait)",
    "model_unavailable": "Model unavailable",
    "model_loaded": "loaded",
    "model_not_loaded": "loads on first use",
    # The card tab (card_tab.py)
    "card_scoring": (
        "The figures are the card's own, scored with its author's text normalisation. "
        "`hyasr eval` and the Compare tab score every model alike: {normalisation}"
    ),
    "card_no_model": "No model loaded ({reason}).",
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
    "cannot_compare": "Հնարավոր չէ համեմատել",
    "cannot_decode": "Հնարավոր չէ վերծանել",
    "invalid_settings": "Անթույլատրելի կարգավորումներ",
    "no_model_loaded": "Մոդել բեռնված չէ։",
    "info_decoded": "{duration:.1f} վ ձայն, վերծանվեց {seconds:.1f} վ-ում։",
    "notice_no_lm": "Այս մոդելը լեզվական մոդել չունի, ուստի տեքստը վերծանվեց ագահ եղանակով։",
    "notice_time_limit": "Ուղիղ ռեժիմը կանգ է առնում {limit} վ-ից հետո։",
    "notice_fell_behind": (
        "Ուղիղ ռեժիմը կանգնեցվեց. սերվերը խոսափողից հետ մնաց ավելի քան {behind} վ-ով "
        "({setting}, {memory} ՄԲ). արդյունքը մինչ այդ լսվածն է։"
    ),
    "notice_lm_failed": "Լեզվական մոդելը չհաջողվեց բեռնել ({detail}). վերծանվում է ագահ եղանակով։",
    "notice_int8_failed": (
        "Ավելի արագ `int8` մոդելը չհաջողվեց պատրաստել ({detail}). շարունակում է աշխատել {dtype}-ը։"
    ),
    "notice_final_pass_skipped": (
        "Տեքստը ուղիղ ռեժիմինն է՝ արտահայտություն առ արտահայտություն. ամբողջ ձայնագրության "
        "վերջնական անցումն այստեղ կտևեր մոտ {estimate} վ, ավելի, քան թույլատրված {limit} վ-ը "
        "({setting})։"
    ),
    "notice_live_kept": "Տեքստը ուղիղ ռեժիմինն է՝ արտահայտություն առ արտահայտություն. {detail}",
    "notice_fallback_demo": (
        "{model}-ը չհաջողվեց բեռնել ({detail})։ Փոխարենը օգտագործվում է ներառված փորձնական "
        "մոդելը. այն փոքր է և շատ ավելի քիչ ճշգրիտ։"
    ),
    "describe_greedy": "ագահ CTC (առանց լեզվական մոդելի)",
    "describe_lm": "ճառագայթային որոնում + {order}-գրամ KenLM (`{settings}`)",
    "describe_align": "տրված տեքստի հարկադիր համադրում (CTC Վիտերբի)",
    "live_hint_idle": "Սեղմեք «Ձայնագրել» և խոսեք. տեքստը կհայտնվի այստեղ։",
    "live_hint_listening": "Լսում եմ…",
    "live_hint_nothing": "Ոչինչ չլսվեց։",
    "live_behind": "{seconds} վ ուշացում",
    "live_mic_failed": "Խոսափողը հնարավոր չեղավ բացել. {reason}",
    "live_closed": "Ուղիղ ռեժիմը կանգնեցվեց. {reason}",
    "live_record_first": "Նախ ձայնագրեք ինչ-որ բան. կարգավորումները կիրառվում են ավարտից հետո։",
    "live_page_gone": "Էջը {seconds:g} վ ձայն չուղարկեց. ուղիղ ռեժիմը կանգնեցվեց։",
    "live_updates_every": "Այս սարքավորման վրա տեքստը թարմացվում է {seconds:.1f} վ-ը մեկ։",
    "live_busy": (
        "**Ուղիղ ռեժիմը զբաղված է.** բաց է {open} ուղիղ հոսք, որքան այս սերվերը միաժամանակ "
        "ընդունում է (`HYASR_LIVE_MAX_STREAMS`={limit}). այս ձայնագրությունը չլսվեց։ "
        "Կանգնեցրեք և մեկ րոպեից նորից ձայնագրեք, կամ ձայնագրեք «Տառադարձում» ներդիրում։"
    ),
    "live_lag": (
        "**Ուղիղ ռեժիմը հետ է մնում այս սարքավորման վրա.** խոսքի մեկ վայրկյանը ճանաչելը "
        "այստեղ տևում է ավելի քան մեկ վայրկյան, ուստի տեքստը հետ է մնում խոսողից։ Փոխարենը "
        "տառադարձեք ձայնագրությունը «Տառադարձում» ներդիրում"
    ),
    "live_lag_int8": ". պատրաստվում է ավելի արագ `int8` մոդել, որը պատրաստ լինելուն պես կփոխարինի։",
    "live_lag_cpu": " կամ գործարկեք հավելվածը `HYASR_DTYPE=int8`-ով (մի քանի անգամ ավելի արագ)։",
    "live_lag_gpu": ". այս մոդելի համար ուղիղ ռեժիմին պետք է ավելի արագ մեքենա կամ GPU։",
    "model_loading": "{model}-ը բեռնվում է (առաջին օգտագործում. հաջորդ հարցումները չեն սպասի)",
    "model_unavailable": "Մոդելն անհասանելի է",
    "model_loaded": "բեռնված է",
    "model_not_loaded": "կբեռնվի առաջին օգտագործման ժամանակ",
    "card_scoring": (
        "Թվերը քարտից են՝ գնահատված հեղինակի տեքստի նորմալացմամբ։ `hyasr eval`-ը և "
        "«Համեմատել» ներդիրը բոլոր մոդելները գնահատում են նույն կերպ՝ {normalisation}"
    ),
    "card_no_model": "Մոդել բեռնված չէ ({reason})։",
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
