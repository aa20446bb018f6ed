"""One code system for the ``language`` field: BCP 47's, whatever the input said.

BCP 47 writes a language with its ISO 639-1 code where it has one (``es``), else its
ISO 639-3 code (``ast``). The language detector used on WARC pages gives ISO 639-1
codes already; Common Crawl's WET header ``WARC-Identified-Content-Language`` gives
ISO 639-3 codes (``spa``), one or a comma-separated list, main language first. Those
are mapped here, so one language has one code in the output whichever input it came
from.

``ISO_639_3_TO_1`` is generated from the ISO 639-3 table that Debian's iso-codes
project maintains, as the ``pycountry`` package ships it (``databases/iso639-3.json``,
pycountry 26.2.16): every entry with an ``alpha_2`` code, 184 of them::

    rows = json.load(open("iso639-3.json"))["639-3"]
    {r["alpha_3"]: r["alpha_2"] for r in rows if "alpha_2" in r}

The two-letter codes are a short list that rarely changes, so a table in the repository
ages about as fast as the standard. A library that canonicalises tags the
CLDR way was not taken: it rewrites some codes that the detector keeps (``tgl`` to
``fil``, not ``tl``), which would give one language two codes again.
"""

from __future__ import annotations

from functools import lru_cache

__all__ = ["ISO_639_3_TO_1", "bcp47_languages"]

ISO_639_3_TO_1: dict[str, str] = {
    "aar": "aa", "abk": "ab", "afr": "af", "aka": "ak", "amh": "am", "ara": "ar", "arg": "an",
    "asm": "as", "ava": "av", "ave": "ae", "aym": "ay", "aze": "az", "bak": "ba", "bam": "bm",
    "bel": "be", "ben": "bn", "bis": "bi", "bod": "bo", "bos": "bs", "bre": "br", "bul": "bg",
    "cat": "ca", "ces": "cs", "cha": "ch", "che": "ce", "chu": "cu", "chv": "cv", "cor": "kw",
    "cos": "co", "cre": "cr", "cym": "cy", "dan": "da", "deu": "de", "div": "dv", "dzo": "dz",
    "ell": "el", "eng": "en", "epo": "eo", "est": "et", "eus": "eu", "ewe": "ee", "fao": "fo",
    "fas": "fa", "fij": "fj", "fin": "fi", "fra": "fr", "fry": "fy", "ful": "ff", "gla": "gd",
    "gle": "ga", "glg": "gl", "glv": "gv", "grn": "gn", "guj": "gu", "hat": "ht", "hau": "ha",
    "hbs": "sh", "heb": "he", "her": "hz", "hin": "hi", "hmo": "ho", "hrv": "hr", "hun": "hu",
    "hye": "hy", "ibo": "ig", "ido": "io", "iii": "ii", "iku": "iu", "ile": "ie", "ina": "ia",
    "ind": "id", "ipk": "ik", "isl": "is", "ita": "it", "jav": "jv", "jpn": "ja", "kal": "kl",
    "kan": "kn", "kas": "ks", "kat": "ka", "kau": "kr", "kaz": "kk", "khm": "km", "kik": "ki",
    "kin": "rw", "kir": "ky", "kom": "kv", "kon": "kg", "kor": "ko", "kua": "kj", "kur": "ku",
    "lao": "lo", "lat": "la", "lav": "lv", "lim": "li", "lin": "ln", "lit": "lt", "ltz": "lb",
    "lub": "lu", "lug": "lg", "mah": "mh", "mal": "ml", "mar": "mr", "mkd": "mk", "mlg": "mg",
    "mlt": "mt", "mon": "mn", "mri": "mi", "msa": "ms", "mya": "my", "nau": "na", "nav": "nv",
    "nbl": "nr", "nde": "nd", "ndo": "ng", "nep": "ne", "nld": "nl", "nno": "nn", "nob": "nb",
    "nor": "no", "nya": "ny", "oci": "oc", "oji": "oj", "ori": "or", "orm": "om", "oss": "os",
    "pan": "pa", "pli": "pi", "pol": "pl", "por": "pt", "pus": "ps", "que": "qu", "roh": "rm",
    "ron": "ro", "run": "rn", "rus": "ru", "sag": "sg", "san": "sa", "sin": "si", "slk": "sk",
    "slv": "sl", "sme": "se", "smo": "sm", "sna": "sn", "snd": "sd", "som": "so", "sot": "st",
    "spa": "es", "sqi": "sq", "srd": "sc", "srp": "sr", "ssw": "ss", "sun": "su", "swa": "sw",
    "swe": "sv", "tah": "ty", "tam": "ta", "tat": "tt", "tel": "te", "tgk": "tg", "tgl": "tl",
    "tha": "th", "tir": "ti", "ton": "to", "tsn": "tn", "tso": "ts", "tuk": "tk", "tur": "tr",
    "twi": "tw", "uig": "ug", "ukr": "uk", "urd": "ur", "uzb": "uz", "ven": "ve", "vie": "vi",
    "vol": "vo", "wln": "wa", "wol": "wo", "xho": "xh", "yid": "yi", "yor": "yo", "zha": "za",
    "zho": "zh", "zul": "zu",
}


@lru_cache(maxsize=4096)  # a crawl's headers hold a few hundred distinct values
def bcp47_languages(codes: str | None) -> str | None:
    """Return the ISO 639-3 ``codes`` (comma-separated) as BCP 47 language codes, in
    their order, joined by commas; None when there are none.

    A code with no two-letter form is kept, in lower case (BCP 47 uses the ISO 639-3 code
    then); so is one that is not ISO 639-3 at all, rather than dropping what the input said.

    Example:
        >>> bcp47_languages("spa"), bcp47_languages("eng,spa, ast"), bcp47_languages("")
        ('es', 'en,es,ast', None)
    """
    if codes is None:
        return None
    parts = [code.strip().lower() for code in codes.split(",")]
    mapped = [ISO_639_3_TO_1.get(code, code) for code in parts if code]
    return ",".join(mapped) or None
