"""Words of the page that are Gradio's, not the app's, in Armenian (strings.py serves
them): Gradio's own interface words under its own translation keys (`GRADIO_HY`; its
6.31 frontend ships no `hy` locale, but takes any locale's messages from the app's
`gr.I18n`), and the table headers (`HEADERS_HY`), which Gradio does not translate and
the page's script (assets/language.js) swaps, so the API's column names stay English;
likewise the toasts' headings (`TOASTS_HY`).
"""

from __future__ import annotations

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

# The heading of Gradio's toasts (gr.Error, gr.Warning, gr.Info): Gradio 6.31 shows the
# message's type, capitalised, and neither translates it nor shows the gr.Error title;
# the page's script swaps it.
TOASTS_HY: dict[str, str] = {
    "Error": "Սխալ",
    "Warning": "Զգուշացում",
    "Info": "Տեղեկություն",
    "Success": "Հաջողվեց",
}

__all__ = ["GRADIO_HY", "HEADERS_HY", "TOASTS_HY"]
