"""Words that tell the English tagger what a phrase may be, matched at token boundaries.

Hand-written lists (places, degrees, employer and school words, section headings) live here;
the long list of job titles (O*NET alternate titles) is compiled by scripts/train_resume_ner.py
into models/en_lexicon.json.gz, so a clone of the repository needs nothing else at run time.
A match is a hint, never an answer: the tagger weighs it against the words around it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import ahocorasick

# Places resumes of either market name often: countries, US states and their postal codes, Indian
# states, cities. One word each in PLACES, several in PLACE_PHRASES.
PLACES = (
    "india", "usa", "u.s.", "u.s.a.", "america", "uk", "u.k.", "england", "scotland", "wales",
    "ireland", "canada", "australia", "germany", "france", "italy", "spain", "portugal", "netherlands",
    "belgium", "switzerland", "austria", "sweden", "norway", "denmark", "finland", "poland", "russia",
    "ukraine", "china", "taiwan", "japan", "korea", "singapore", "malaysia", "indonesia", "philippines",
    "thailand", "vietnam", "pakistan", "bangladesh", "nepal", "uae", "dubai", "qatar", "oman", "kuwait",
    "bahrain", "israel", "turkey", "egypt", "kenya", "nigeria", "ghana", "ethiopia", "uganda", "tanzania",
    "brazil", "mexico", "argentina", "chile", "colombia", "peru",
)
PLACE_PHRASES = (
    "united states", "united states of america", "united kingdom", "new zealand", "hong kong", "sri lanka",
    "abu dhabi", "saudi arabia", "south africa", "new york", "new jersey", "new mexico", "new hampshire",
    "north carolina", "south carolina", "north dakota", "south dakota", "west virginia", "rhode island",
    "district of columbia", "los angeles", "san francisco", "san jose", "san diego", "las vegas",
    "salt lake city", "st. louis", "kansas city", "tamil nadu", "andhra pradesh", "uttar pradesh",
    "madhya pradesh", "himachal pradesh", "arunachal pradesh", "west bengal", "jammu and kashmir",
    "new delhi", "navi mumbai",
)
US_STATES = (
    "alabama", "alaska", "arizona", "arkansas", "california", "colorado", "connecticut", "delaware",
    "florida", "georgia", "hawaii", "idaho", "illinois", "indiana", "iowa", "kansas", "kentucky",
    "louisiana", "maine", "maryland", "massachusetts", "michigan", "minnesota", "mississippi", "missouri",
    "montana", "nebraska", "nevada", "ohio", "oklahoma", "oregon", "pennsylvania", "tennessee", "texas",
    "utah", "vermont", "virginia", "washington", "wisconsin", "wyoming",
)
US_STATE_CODES = (
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "FL", "GA", "HI", "ID", "IL", "IN", "IA", "KS", "KY",
    "LA", "ME", "MD", "MA", "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ", "NM", "NY", "NC", "ND",
    "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX", "UT", "VT", "VA", "WA", "WV", "WI", "WY", "DC",
)
INDIAN_STATES = (
    "karnataka", "maharashtra", "telangana", "kerala", "gujarat", "rajasthan", "punjab", "haryana", "bihar",
    "odisha", "orissa", "assam", "goa", "jharkhand", "chhattisgarh", "uttarakhand", "delhi", "chandigarh",
    "puducherry", "pondicherry",
)
CITIES = (
    "bangalore", "bengaluru", "mumbai", "bombay", "delhi", "chennai", "madras", "hyderabad", "pune",
    "kolkata", "calcutta", "noida", "gurgaon", "gurugram", "ahmedabad", "jaipur", "lucknow", "kochi",
    "cochin", "trivandrum", "thiruvananthapuram", "coimbatore", "mysore", "mangalore", "indore", "bhopal",
    "nagpur", "vizag", "visakhapatnam", "bhubaneswar", "london", "manchester", "birmingham", "coventry",
    "leeds", "glasgow", "edinburgh", "dublin", "paris", "berlin", "munich", "amsterdam", "zurich", "geneva",
    "madrid", "barcelona", "rome", "milan", "oslo", "stockholm", "copenhagen", "warsaw", "moscow", "toronto",
    "vancouver", "montreal", "ottawa", "calgary", "sydney", "melbourne", "brisbane", "perth", "auckland",
    "chicago", "boston", "seattle", "houston", "dallas", "austin", "atlanta", "miami", "denver", "phoenix",
    "philadelphia", "pittsburgh", "baltimore", "detroit", "minneapolis", "portland", "cleveland", "columbus",
    "charlotte", "nashville", "redmond", "sunnyvale", "cupertino", "raleigh", "richmond", "arlington",
    "towson", "nairobi", "mombasa", "lagos", "johannesburg", "cairo", "tokyo", "beijing", "shanghai",
    "shenzhen",
)

DEGREE_WORDS = (
    "bachelor", "bachelors", "bachelor's", "master", "masters", "master's", "doctor", "doctorate", "diploma",
    "degree", "associate", "associates", "associate's", "certificate", "certification", "graduate",
    "postgraduate", "undergraduate", "ph.d", "phd", "mba", "b.e", "b.tech", "btech", "m.tech", "mtech",
    "b.sc", "bsc", "m.sc", "msc", "b.s", "m.s", "b.a", "m.a", "b.com", "bcom", "m.com", "mca", "bca", "bba",
    "b.ed", "m.ed", "ed.d", "m.d", "j.d", "llb", "ll.b", "llm", "hsc", "ssc", "sslc", "puc", "12th", "10th",
    "intermediate", "matriculation", "ged", "high school", "higher secondary",
)
SCHOOL_WORDS = (
    "university", "universidad", "universität", "college", "institute", "institution", "school", "academy",
    "polytechnic", "iit", "nit", "vidyalaya", "vidyapeeth", "campus",
)
ORG_WORDS = (
    "inc", "inc.", "incorporated", "ltd", "ltd.", "limited", "llc", "l.l.c.", "llp", "corp", "corp.",
    "corporation", "co", "co.", "company", "pvt", "pvt.", "private", "plc", "gmbh", "ag", "s.a.",
    "technologies", "technology", "solutions", "systems", "services", "consulting", "consultants", "group",
    "bank", "partners", "associates", "labs", "software", "infotech", "international", "global",
    "enterprises", "industries", "holdings", "foundation", "agency", "department", "ministry", "hospital",
)
HEADINGS = {
    "work experience": "experience", "experience": "experience", "professional experience": "experience",
    "employment history": "experience", "work history": "experience", "career history": "experience",
    "education": "education", "academic": "education", "qualifications": "education",
    "academic qualifications": "education", "educational qualifications": "education",
    "skills": "skills", "technical skills": "skills", "key skills": "skills", "core competencies": "skills",
    "additional information": "additional", "certifications": "certifications",
    "certifications/licenses": "certifications", "awards": "awards", "publications": "publications",
    "links": "links", "projects": "projects", "summary": "summary", "professional summary": "summary",
    "objective": "summary", "career objective": "summary", "profile": "summary", "groups": "groups",
    "military service": "military", "languages": "languages", "interests": "interests",
}
MONTHS = (
    "jan", "january", "feb", "february", "mar", "march", "apr", "april", "may", "jun", "june", "jul", "july",
    "aug", "august", "sep", "sept", "september", "oct", "october", "nov", "november", "dec", "december",
)

_TOKEN = re.compile(r"\w+|[^\w\s]")


class PhraseLexicon:
    """Lower-cased phrases, each with the kinds it belongs to ("title", "place", ...), found in text
    only where they begin and end on token boundaries ("IN" in "INDIA" is not a state)."""

    def __init__(self, phrases: Iterable[tuple[str, str]]) -> None:
        kinds: dict[str, set[str]] = {}
        for phrase, kind in phrases:
            key = " ".join(_TOKEN.findall(phrase.lower()))
            if key:
                kinds.setdefault(key, set()).add(kind)
        self._automaton = ahocorasick.Automaton()
        for key, key_kinds in kinds.items():
            self._automaton.add_word(key, (len(key), tuple(sorted(key_kinds))))
        self._automaton.make_automaton()

    def find(self, token_texts: list[str]) -> list[tuple[str, int, int]]:
        """(kind, first token, last token + 1) for every phrase in a token list, longest first
        per kind where two overlap."""
        joined = " ".join(token_texts).lower()
        token_at: dict[int, int] = {}
        position = 0
        for index, token in enumerate(token_texts):
            token_at[position] = index
            position += len(token) + 1
        found = []
        for end, (length, kinds) in self._automaton.iter(joined):
            start = end - length + 1
            first = token_at.get(start)
            last = token_at.get(end + 2)  # the token after the match starts one blank later
            if first is None or (last is None and end + 1 != len(joined)):
                continue
            stop = last if last is not None else len(token_texts)
            found.extend((kind, first, stop) for kind in kinds)
        return found


def hand_phrases() -> list[tuple[str, str]]:
    """The hand-written lists as (phrase, kind) pairs."""
    pairs = [(place, "place") for place in (*PLACES, *PLACE_PHRASES, *US_STATES, *INDIAN_STATES, *CITIES)]
    pairs += [(word, "degree") for word in DEGREE_WORDS]
    pairs += [(word, "school") for word in SCHOOL_WORDS]
    pairs += [(word, "org") for word in ORG_WORDS]
    pairs += [(month, "month") for month in MONTHS]
    return pairs
