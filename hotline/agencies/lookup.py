"""Finding an agency in NEA's register from what a job seeker types: a licence number in any
format, the agency's phone number, or its name with typos, words swapped, Kiswahili filler words.

Names are matched in two steps so a lookup stays well under a millisecond at 10,000 agencies:
each query word is matched against the register's vocabulary (fuzzy spelling, a sound key and
the keypad key), the agencies holding those words become candidates, and only the best candidates
are scored on the whole name with rapidfuzz. A name scoring under MIN_SCORE is not a match: the
caller says "not found" rather than guessing.

The index lives in memory, one per process and database, and is rebuilt when the register
changes (a new import bumps the version read by `register_version`).
"""

from __future__ import annotations

import re
import threading
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date

from rapidfuzz import fuzz, process
from sqlalchemy import func, select

from hotline.core.errors import InvalidPhoneNumber
from hotline.core.models import Agency, RegisterSnapshot
from hotline.core.privacy import normalise_phone

MAX_QUERY = 200  # characters; a 2 kB SMS is cut here before any work
MAX_CANDIDATES = 3
MIN_SCORE = 80  # of 100: below this a name "matches nothing well"
WORD_SCORE = 75  # a query word within this of a register word counts as that word
SOUND_SCORE = 95  # a word that sounds, or is keyed, like a register word
CLEAR_LEAD = 10  # candidates this far below the best one are left out
SHORTLIST = 40  # agencies scored on the whole name after the word step

# Folded away before matching: legal forms, "and", and the Kiswahili filler a user may add
# ("kampuni ya ...", "wakala wa ...") and "agency", which nearly every name has. "&"/"and",
# "Ltd"/"Limited", "Co."/"Company" all vanish. Kiswahili words for words in names are translated.
NOISE = frozenset(
    "ltd limited co company inc plc llc the and of agency agencies kampuni ya wa la na cha za wakala".split()
)
TRANSLATE = {"ajira": "employment", "kazi": "jobs", "nje": "abroad", "ughaibuni": "overseas"}
_NON_WORD = re.compile(r"[^a-z0-9]+")
_NOT_ALNUM = re.compile(r"[^A-Z0-9]")
_PHONE_LIKE = re.compile(r"\+?[\d\s().-]{9,20}", re.ASCII)
_NOT_ALNUM_ASCII = re.compile(r"[^A-Za-z0-9]")
_LONG_NUMBER = re.compile(r"\d{7}", re.ASCII)  # a phone number, a national ID: however it is spaced
_JOINED = re.compile(r"\s*([/-])\s*")  # "nea / 12 - 3" -> "nea/12-3"
_CODE_WORD = re.compile(r"(?=.*\d).*[/-]", re.ASCII)  # "NEA/DEMO/001", "RA-2019-45"
_KEYPAD = str.maketrans("abcdefghijklmnopqrstuvwxyz", "22233344455566677778889999")
# Sound folding, in order: spellings English and Kiswahili writers swap for one sound.
_SOUNDS = (
    ("ph", "f"),
    ("ck", "k"),
    ("ch", "c"),
    ("sh", "s"),
    ("dh", "z"),
    ("th", "s"),
    ("gh", "g"),
    ("q", "k"),
    ("x", "ks"),
    ("c", "k"),
    ("z", "s"),
    ("v", "f"),
    ("l", "r"),
    ("y", "i"),
    ("w", "u"),
)
_VOWELS = re.compile(r"(?<=.)[aeiou]+")
_REPEATS = re.compile(r"(.)\1+")


def registration_key(number: str) -> str:
    """A licence number without case, spaces, slashes or dashes: 'nea / 12-3' -> 'NEA123'."""
    return _NOT_ALNUM.sub("", _ascii(number).upper())


def name_words(name: str, translate: bool = True) -> list[str]:
    """The words of a name, lower-case ASCII, legal forms and filler words dropped (and the Kiswahili
    words of TRANSLATE in English, unless `translate` is False)."""
    words = _NON_WORD.sub(" ", _ascii(name).lower().replace("&", " and ")).split()
    kept = [TRANSLATE.get(word, word) if translate else word for word in words if word not in NOISE]
    return kept or words  # "Company Ltd" alone keeps its words


def name_key(name: str, translate: bool = True) -> str:
    """The normalised name stored with an agency and matched against (`translate`: as in name_words)."""
    return " ".join(name_words(name, translate))


def looks_like_number(query: str) -> bool:
    """Whether what was typed is a number rather than a name: a licence or registration number, a
    phone number, an ID, or nothing with letters. Lookup tries every query as a licence number and a
    phone number first, so this is the shape of one: mostly digits, 7 digits in a row however they
    are spaced, one word with a digit ("NEA123"), or a word with a digit joined by slashes or dashes."""
    text = _ascii(query)
    alnum = _NOT_ALNUM_ASCII.sub("", text)
    digits = sum(character.isdigit() for character in alnum)
    letters = len(alnum) - digits
    if not letters or _LONG_NUMBER.search(alnum):
        return True
    if not digits:
        return False
    words = _JOINED.sub(r"\1", text).split()
    return digits >= letters or len(words) == 1 or any(_CODE_WORD.match(word) for word in words)


def typed_name_key(query: str) -> str | None:
    """The name key of a query that is a name (kept to count the names not in the register), or None
    for a number (`looks_like_number`) or an e-mail address: nothing that may be someone's contact.

    Kiswahili words stay as typed: "Ajira Bora" is shown to NEA as the name people use, not as
    "Employment Bora"; looking the key up still translates them, as for what was typed."""
    query = (query or "")[:MAX_QUERY].strip()
    if "@" in query or looks_like_number(query):
        return None
    return name_key(query, translate=False)[:MAX_QUERY] or None


def sound_key(word: str) -> str:
    """A phonetic key of one word: sound-alike spellings and dropped vowels fold together."""
    for old, new in _SOUNDS:
        word = word.replace(old, new)
    return _VOWELS.sub("", _REPEATS.sub(r"\1", word))


def keypad_key(word: str) -> str:
    """The phone keys of a word: a multi-tap slip ('sunrisf') keeps the same keys as the word."""
    return word.translate(_KEYPAD)


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


@dataclass(frozen=True)
class Candidate:
    """One agency a query may mean, with the fields a verdict needs."""

    agency_id: int
    name: str
    registration_number: str
    status: str
    expiry_date: date | None
    licence_type: str
    score: float


@dataclass(frozen=True)
class LookupResult:
    """Up to three candidates, best first; kind: registration, phone, name or none."""

    kind: str
    candidates: tuple[Candidate, ...] = ()


NONE = LookupResult("none")


@dataclass
class AgencyIndex:
    """The register in memory: exact maps for numbers, word maps and postings for names."""

    version: tuple = ()
    agencies: list[Candidate] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)  # name key per agency
    lengths: list[int] = field(default_factory=list)  # words in each name key
    by_registration: dict[str, int] = field(default_factory=dict)
    by_phone: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    postings: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    by_sound: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    by_keypad: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    vocabulary: list[str] = field(default_factory=list)

    def add(self, agency, registration: str, phone: str | None, key: str) -> None:
        """Index one agency (an Agency row or anything with its columns)."""
        position = len(self.agencies)
        self.agencies.append(
            Candidate(
                agency.id,
                agency.name,
                agency.registration_number,
                agency.status,
                agency.expiry_date,
                agency.licence_type,
                100.0,
            )
        )
        self.keys.append(key)
        self.lengths.append(len(key.split()))
        self.by_registration[registration] = position
        if phone:
            self.by_phone[phone].append(position)
        for word in set(key.split()):
            self.postings[word].append(position)
            self.by_sound[sound_key(word)].add(word)
            self.by_keypad[keypad_key(word)].add(word)

    def finish(self) -> AgencyIndex:
        """Freeze the vocabulary once every agency is added."""
        self.vocabulary = list(self.postings)
        return self

    def lookup(self, query: str) -> LookupResult:
        """Registration number, then phone number, then name; see the module docstring."""
        query = (query or "")[:MAX_QUERY].strip()
        if not query:
            return NONE
        position = self.by_registration.get(registration_key(query))
        if position is not None:
            return LookupResult("registration", (self.agencies[position],))
        if _PHONE_LIKE.fullmatch(query):
            try:
                positions = self.by_phone.get(normalise_phone(query), [])
            except InvalidPhoneNumber:
                positions = []
            if positions:
                return LookupResult("phone", tuple(self.agencies[p] for p in positions[:MAX_CANDIDATES]))
        return self._by_name(query)

    def _by_name(self, query: str) -> LookupResult:
        words = [part for word in name_words(query)[:12] for part in self._unglued(word)]
        if not words:
            return NONE
        # Each query word -> the register's words it may be, with how alike they are (0-100).
        alike = {word: self._similar_words(word) for word in dict.fromkeys(words)}
        votes: Counter[int] = Counter()  # agency -> how many query words its name has
        for similar in alike.values():
            votes.update(set().union(*(self.postings[known] for known in similar)))
        query_key = " ".join(words)
        length = sum(len(word) for word in words)
        scored = []
        for position in self._shortlist(votes):
            key = self.keys[position]
            known_words = key.split()
            # How much of what was typed is in this name: an unknown extra word counts against it.
            covered = sum(len(w) * max(alike[w].get(k, 0) for k in known_words) for w in words) / length
            whole = fuzz.token_sort_ratio(query_key, key)
            score = max(0.85 * covered + 0.15 * whole, whole)
            if len(query_key) >= 10:  # words run together or split apart: "juakali", "bridg ecareers"
                score = max(score, 0.9 * fuzz.partial_ratio(query_key, key))
            if score >= MIN_SCORE:
                scored.append((score, position))
        scored.sort(key=lambda item: (-item[0], item[1]))
        # A clear winner stands alone: "Sunrise Overseas Recruiters" typed in full asks no question.
        scored = [(score, p) for score, p in scored if score > scored[0][0] - CLEAR_LEAD] if scored else []
        best = tuple(_with_score(self.agencies[p], s) for s, p in scored[:MAX_CANDIDATES])
        return LookupResult("name", best) if best else NONE

    def _shortlist(self, votes: Counter[int]) -> list[int]:
        """The agencies with the most query words; among equals, shorter names first, so
        "tumaini bureau employment" finds "Tumaini Employment Bureau" before longer namesakes."""
        shortlist: list[int] = []
        for level in range(max(votes.values(), default=0), 0, -1):
            tied = [position for position, count in votes.items() if count == level]
            shortlist += sorted(tied, key=self.lengths.__getitem__)[: SHORTLIST - len(shortlist)]
            if len(shortlist) >= SHORTLIST:
                break
        return shortlist

    def _unglued(self, word: str) -> list[str]:
        """A word typed without its space ('juaupendo') as the two register words it is made of."""
        if len(word) >= 6 and word not in self.postings:
            for cut in range(2, len(word) - 1):
                if word[:cut] in self.postings and word[cut:] in self.postings:
                    return [word[:cut], word[cut:]]
        return [word]

    def _similar_words(self, word: str) -> dict[str, float]:
        similar: dict[str, float] = {}
        if len(word) >= 3:
            found = process.extract(
                word, self.vocabulary, scorer=fuzz.ratio, limit=8, score_cutoff=WORD_SCORE, processor=None
            )
            similar.update((known, score) for known, score, _i in found)
        for known in self.by_sound.get(sound_key(word), set()) | self.by_keypad.get(keypad_key(word), set()):
            similar[known] = max(similar.get(known, 0), SOUND_SCORE)
        if word in self.postings:
            similar[word] = 100
        return similar


def _with_score(candidate: Candidate, score: float) -> Candidate:
    return Candidate(**{**candidate.__dict__, "score": round(score, 1)})


def register_version(session) -> tuple:
    """What changes whenever an import changes the register: its newest snapshot and import time.

    `agencies.upsert` adds a snapshot, or touches the one of the same date, whenever it changes an
    agency; the snapshot table is tiny, so this costs a fraction of a lookup.
    """
    return tuple(
        session.execute(select(func.max(RegisterSnapshot.id), func.max(RegisterSnapshot.imported_at))).one()
    )


def build_index(session, version: tuple | None = None) -> AgencyIndex:
    """An index of every agency in the database."""
    index = AgencyIndex(version=version if version is not None else register_version(session))
    for agency in session.scalars(select(Agency).order_by(Agency.id)):
        index.add(agency, agency.registration_key, agency.phone, agency.name_key)
    return index.finish()


_indexes: dict[str, AgencyIndex] = {}
_lock = threading.Lock()


def current_index(session) -> AgencyIndex:
    """This process's index for the session's database, rebuilt if the register changed."""
    url = str(session.get_bind().url)
    version = register_version(session)
    index = _indexes.get(url)
    if index is None or index.version != version:
        with _lock:
            index = _indexes.get(url)
            if index is None or index.version != version:
                index = _indexes[url] = build_index(session, version)
    return index


def lookup(session_or_index, query: str) -> LookupResult:
    """Up to three agencies `query` may mean (a licence number, a phone number or a name)."""
    index = session_or_index if isinstance(session_or_index, AgencyIndex) else current_index(session_or_index)
    return index.lookup(query)
