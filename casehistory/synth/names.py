"""Names for synthetic people, drawn with frequencies shaped like real ones; nicknames; postcodes.

No real data is copied or downloaded. The shape comes from two ONS publications: "Baby names in
England and Wales" (the yearly ranked lists of forenames given to babies) and the surname
frequencies of the population of England and Wales (ONS and the 2011 Census). In both a few names
are very common and most are rare. Approximately, as read off those publications (not data taken
from them):
  boys' forenames   the commonest about 1.5% of boys, the top ten about 11-12%, the top hundred
                    a little under half
  girls' forenames  flatter: the commonest about 1%, the top ten about 8%, the top hundred about 40%
  surnames          Smith about 1.2% of people, the top ten about 6%, the top two hundred under a
                    quarter, and the rest spread thinly over tens of thousands of names
Each table below is a head of names common in England (in roughly the order the lists give
them) and a long tail of rarer names: a few real ones (accents and apostrophes among them), then
invented ones built from syllables. Rank r gets weight (r + q) ** -s (a Zipf-Mandelbrot curve)
with s and q chosen so the shares above come out; tests/synth/test_realistic_names.py holds the
generator to them.
"""

from __future__ import annotations

import bisect
import random
from dataclasses import dataclass
from itertools import accumulate, product


@dataclass(frozen=True)
class NameTable:
    """Names in rank order with cumulative Zipf-Mandelbrot weights."""

    names: tuple[str, ...]
    cumulative: tuple[float, ...]

    @classmethod
    def zipf(cls, names: list[str], s: float, q: float) -> NameTable:
        if len(set(names)) != len(names):
            raise ValueError("a name table holds each name once")
        return cls(tuple(names), tuple(accumulate((rank + q) ** -s for rank in range(1, len(names) + 1))))

    def draw(self, rng: random.Random) -> str:
        return self.names[bisect.bisect_right(self.cumulative, rng.random() * self.cumulative[-1])]

    def share(self, name: str) -> float:
        """The chance a draw gives this name."""
        i = self.names.index(name)
        return (self.cumulative[i] - (self.cumulative[i - 1] if i else 0.0)) / self.cumulative[-1]


# ---- heads: common names, roughly in the order of the lists they come from --------------------------

# babies of 2007-2025 (the children)
GIRLS = """Olivia Amelia Isla Ava Lily Freya Ivy Florence Mia Isabella Willow Evie Sophia Ella Grace
Poppy Sienna Elsie Emily Charlotte Evelyn Daisy Phoebe Sofia Alice Harper Matilda Rosie Ruby Sophie
Emilia Maya Millie Isabelle Eva Luna Jessica Hallie Arabella Layla Esme Chloe Bonnie Maisie Eliza
Aria Imogen Erin Mila Penelope Molly Ellie Thea Violet Zara Lucy Holly Scarlett Hannah Amber Orla
Beatrice Georgia Lola Nancy Harriet Robyn Martha Ada Aisha Amira Fatima Maryam Zainab Megan Leah
Jade Rebecca Niamh Lexi Summer Darcie Lily-Rose Maria Sara Anna Emma Hollie Lacey Bella Heidi
Ellie-Mae Gracie Edith Rose Iris Mabel Margot Aurora Zoë Charlie""".split()
BOYS = """Muhammad Noah Oliver George Leo Arthur Oscar Theodore Freddie Henry Archie Jack Charlie Harry
Alfie Jacob Thomas Finley Lucas Teddy Roman Isaac Tommy Theo Arlo William Edward Reggie Albie Luca
Max Joshua Elijah James Hudson Alexander Rory Louie Ezra Mohammed Sonny Jaxon Jude Ronnie Harrison
Daniel Hunter Mason Frankie Grayson Ethan Samuel Joseph Reuben Dylan Benjamin Zachary Harley Bobby
Jesse Milo Louis Otis Ralph Stanley Ollie Logan Jenson Caleb Kai Alfred Riley Rowan Ryan Liam Callum
Connor Kyle Jordan Jamie Nathan Lewis Ibrahim Yusuf Ali Omar Hamza Adam Aaron Michael Matthew Luke
Dexter Austin Tyler Jayden Toby Felix Elliot""".split()
# babies of about 1970-2005 (the parents)
WOMEN = """Sarah Emma Laura Rebecca Gemma Claire Lisa Nicola Amy Hannah Jessica Charlotte Samantha Kelly
Stacey Danielle Natalie Kirsty Leanne Jade Rachel Louise Victoria Katie Michelle Lauren Sophie
Jennifer Helen Joanne Zoë Lucy Chloe Amanda Donna Hayley Karen Jodie Sian Chantelle Kelsey Megan
Leah Siobhan Aoife Naomi Fatima Aisha Shabana Nadia Ruth Abigail Catherine Elizabeth Kayleigh
Melissa Tracey Julie Sharon Alison Anna-Marie""".split()
MEN = """David Paul Mark Daniel James Christopher Michael Matthew Andrew Richard Thomas Lee Craig
Ryan Adam Jamie Ben Luke Kevin Stephen Robert John Steven Darren Wayne Gary Jason Scott Simon Carl
Dean Ashley Nathan Liam Sean Kieran Aaron Shaun Martin Neil Anthony Jonathan Peter Mohammed
Imran Tariq Asif Declan Ciaran Callum Jordan Kyle Joshua Samuel Joseph William Gareth Rhys Tom""".split()

SURNAMES_HEAD = """Smith Jones Williams Taylor Brown Davies Evans Wilson Thomas Johnson Roberts Robinson
Thompson Wright Walker White Edwards Hughes Green Hall Lewis Harris Clarke Patel Jackson Wood Turner
Martin Cooper Hill Ward Morris Moore Clark Lee King Baker Harrison Morgan Allen James Scott Phillips
Watson Davis Parker Price Bennett Young Griffiths Mitchell Kelly Cook Carter Richardson Bailey Collins
Bell Shaw Murphy Miller Cox Richards Khan Marshall Anderson Simpson Ellis Adams Singh Begum Wilkinson
Foster Chapman Powell Webb Rogers Gray Mason Ali Hunt Hussain Campbell Matthews Owen Palmer Holmes
Mills Barnes Knight Lloyd Butler Russell Barker Fisher Stevens Jenkins Murray Dixon Harvey Graham
Pearson Ahmed Fletcher Walsh Kaur Gibson Howard Andrews Stewart Elliott Reynolds Saunders Payne Fox
Ford Pearce Day Brooks West Lawrence Cole Atkinson Bradley Spencer Gill Dawson Ball Burton O'Brien
Watts Rose Booth Perry Ryan Grant Wells Armstrong Francis Rees Hayes Hart Hudson Newman Barrett
Webster Hunter Gregory Carr Lowe Page Marsh Riley Dunn Woods Parsons Berry Stone Reid Holland
Hawkins Harding Porter Robertson Newton Oliver Reed Kennedy Williamson Bird Gardner Shah Dean Lane
Cooke Bates Henderson Parry Burgess Bishop Walton Burns Nicholson Shepherd Ross Cross Long Freeman
Warren Nicholls Hamilton Byrne Sutton McDonald Yates Hodgson Robson Curtis Hopkins O'Connor Harper
Coleman Watkins Moss McCarthy Chambers O'Neill Griffin Sharp Hardy Wheeler Potter Osborne Johnston
Gordon Doyle Wallace George Jordan Hutchinson Rahman""".split()

# ---- tails: some real rarer names (accents and apostrophes among them), then invented ones ---------

GIRLS_RARER = """Chloé Renée Noémie Inès Anaïs Zoé Siân Aoife Siobhan Chantelle Kelsey Kirsty Gemma
Natalie Stacey Danielle Kayla Amelie Elodie Ottilie Clementine Wren Marnie Nell Orla Delilah""".split()
BOYS_RARER = """Seán Zoltán José André Rémy Ciaran Declan Kieran Sean Christopher Andrew David
Robert Stephen Paul Bradley Ashley Kyle Nathan Jenson Ellis Cassius Ignatius Lorcan Oisín""".split()
SURNAMES_RARER = """O'Sullivan O'Reilly O'Donnell D'Souza D'Arcy Gonçalves Sánchez Muñoz Peña Gómez Müller
Öztürk Nowak Kowalski Okafor Mensah Osei Adeyemi Yilmaz Demir Novak Horvath Popescu Ionescu Ferreira
Silva Santos Costa Rossi Russo Kaya Chaudhry Iqbal Malik Akhtar Bibi Nguyen Tran Pham Wong Chen Zhang
Liu Wang Yang Huang Zhao Zhou Whitfield Ashworth Blackwood Fairbrother Greenhalgh Hargreaves
Pemberton Sutcliffe Thistlethwaite Abbott Acheson Addison Ainsworth Aldridge Appleby Arkwright
Atherton Austin Bancroft Barraclough Bateman Beckett Bickerstaff Birch Blackburn Bolton Bradshaw
Brennan Briggs Broadbent Buckley Caldwell Cartwright Chadwick Clayton Coates Crowther Dalton Denton
Duckworth Eastwood Entwistle Farrell Fenwick Garside Goodwin Hadfield Haigh Hamer Hardcastle Haworth
Hepworth Holroyd Horsfall Howarth Ingham Jagger Kershaw Lister Lomax Marsden Mellor Midgley Nuttall
Ogden Pickles Priestley Rawlinson Redfern Schofield Shackleton Slater Stansfield Sykes Tattersall
Thornton Uttley Wadsworth Walmsley Whiteley Whittaker Wilde Womersley Worsley Doherty""".split()

_NOT_NAMES = {"baby", "boy", "girl", "infant", "unknown", "unborn"}  # what an unnamed baby is recorded as


def _invented(parts: list[list[str]], taken: set[str], limit: int, seed: int) -> list[str]:
    """Up to `limit` names built from one syllable of each list, none in `taken`, in a fixed
    shuffled order (so the rarer of them are not alphabetical)."""
    made = []
    for combo in product(*parts):
        name = "".join(combo)
        name = name[0].upper() + name[1:]
        if name not in taken and name.lower() not in _NOT_NAMES:
            taken.add(name)
            made.append(name)
    random.Random(seed).shuffle(made)
    return made[:limit]


_ONSETS = ["Br", "J", "K", "R", "T", "Z", "D", "C", "M", "L", "B", "Gr", "Fr", "N", "H", "S", "Tr", "Sh",
           "Ch", "El", "Am", "Is", "Av", "Ar"]
_VOWELS = ["a", "ay", "e", "i", "o", "y", "ai", "ee"]
_GIRL_ENDINGS = ["la", "lah", "lie", "ley", "lle", "tte", "lyn", "nna", "na", "ria", "ra", "sha", "nie", "bel",
                 "mi", "ssa"]
_BOY_ENDINGS = ["den", "don", "ton", "son", "lan", "ric", "win", "ver", "vin", "lo", "ro", "dan", "rell", "sey",
                "gan", "mar"]
_SURNAME_PREFIXES = ["Ash", "Black", "Brad", "Brook", "Church", "Clay", "Cold", "Cross", "Dun", "East", "Fair",
                     "Green", "Hart", "Hay", "Hol", "Kirk", "Lang", "Mid", "Mor", "North", "Old", "Pem", "Ray", "Red",
                     "Ros", "Shel", "South", "Stan", "Thorn", "Wal", "West", "Whit", "Win", "Wood", "Ald", "Bar",
                     "Bick", "Brom", "Chad", "Dal", "Ed", "Hal", "Hep", "Ing", "Lid", "Mar", "Ren", "Sed", "Tad",
                     "Wig", "Al", "Bel", "Cal", "Dar", "Fen", "Gar", "Har", "Lin", "Pen", "Sel"]
_SURNAME_MIDDLES = ["", "er", "in", "ing", "ble", "ley", "es", "ham", "ers", "ow", "an", "is"]
_SURNAME_SUFFIXES = ["by", "ton", "ley", "worth", "ford", "field", "wood", "well", "son", "ham", "hurst", "combe",
                     "dale", "shaw", "stone", "more", "bury", "cliffe", "land", "ridge", "wick", "thorpe", "brook",
                     "croft", "gate", "man", "er", "ing", "ell", "den", "leigh", "borough", "cote", "holme", "ster",
                     "ward", "wright", "hill", "side", "mere", "bourne", "ock", "all", "et", "ey",
                     "is", "on", "ett"]


def _table(head: list[str], rarer: list[str], invented_parts: list[list[str]], size: int, s: float, q: float,
           seed: int, avoid: set[str] = frozenset()) -> NameTable:
    names = list(dict.fromkeys(head + [n for n in rarer if n not in head]))
    names += _invented(invented_parts, set(names) | set(avoid), size - len(names), seed)
    return NameTable.zipf(names, s, q)


_ALL_FORENAME_HEADS = set(GIRLS + BOYS + WOMEN + MEN + GIRLS_RARER + BOYS_RARER)
_GIRL_TAIL = [_ONSETS, _VOWELS, _GIRL_ENDINGS]
_BOY_TAIL = [_ONSETS, _VOWELS, _BOY_ENDINGS]
# forenames by sex, for children and for adults; boys' names are the more concentrated
FORENAMES = {
    ("F", "child"): _table(GIRLS, GIRLS_RARER, _GIRL_TAIL, 3000, s=1.25, q=40, seed=1, avoid=_ALL_FORENAME_HEADS),
    ("M", "child"): _table(BOYS, BOYS_RARER, _BOY_TAIL, 3000, s=1.2, q=20, seed=2, avoid=_ALL_FORENAME_HEADS),
    ("F", "adult"): _table(WOMEN, GIRLS_RARER, _GIRL_TAIL, 3000, s=1.25, q=40, seed=3, avoid=_ALL_FORENAME_HEADS),
    ("M", "adult"): _table(MEN, BOYS_RARER, _BOY_TAIL, 3000, s=1.2, q=20, seed=4, avoid=_ALL_FORENAME_HEADS),
}
SURNAMES = _table(SURNAMES_HEAD, SURNAMES_RARER, [_SURNAME_PREFIXES, _SURNAME_MIDDLES, _SURNAME_SUFFIXES], 30000,
                  s=0.75, q=1, seed=5)


def forename(rng: random.Random, sex: str, adult: bool = False) -> str:
    return FORENAMES[(sex, "adult" if adult else "child")].draw(rng)


def surname(rng: random.Random) -> str:
    return SURNAMES.draw(rng)


# Names given to twins that are alike (Jaro-Winkler 0.75 or more, or one inside the other): the
# hardest twins to tell apart. By the twins' sexes.
ALIKE_TWIN_NAMES = {
    ("F", "F"): [("Ella", "Ellie"), ("Lily", "Lila"), ("Isla", "Isabel"), ("Evie", "Eva"), ("Maisie", "Daisy"),
                 ("Amelia", "Emilia"), ("Sophie", "Sophia"), ("Rosie", "Ruby")],
    ("M", "M"): [("Alfie", "Albie"), ("Freddie", "Frankie"), ("Harry", "Harley"), ("Louie", "Louis"),
                 ("Jacob", "Jack"), ("Theo", "Teddy"), ("Ryan", "Rhys"), ("Mason", "Jason")],
    ("F", "M"): [("Ruby", "Reuben"), ("Olivia", "Oliver"), ("Harriet", "Harry"), ("Charlotte", "Charlie"),
                 ("Ella", "Elliot"), ("Isabella", "Isaac"), ("Frankie", "Francis"), ("Louisa", "Louis")],
}

# Forenames given to girls and to boys alike: two strangers of different sex may share one.
UNISEX = sorted(set(FORENAMES[("F", "child")].names[:300]) & set(FORENAMES[("M", "child")].names[:300])
                | {"Charlie", "Frankie", "Riley", "Jordan", "Jamie", "Harley"})

NICKNAMES = {
    "Alexander": "Alex", "Benjamin": "Ben", "Christopher": "Chris", "Daniel": "Dan",
    "Edward": "Ed", "Elizabeth": "Liz", "Isabella": "Bella", "Jacob": "Jake", "James": "Jim",
    "Joseph": "Joe", "Joshua": "Josh", "Matthew": "Matt", "Michael": "Mike", "Nathan": "Nate",
    "Oliver": "Ollie", "Rebecca": "Becky", "Robert": "Rob", "Samuel": "Sam", "Stephen": "Steve",
    "Theodore": "Theo", "Thomas": "Tom", "William": "Will", "Zachary": "Zach", "Charlotte": "Lottie",
    "Florence": "Flo", "Harrison": "Harry", "Jessica": "Jess", "Matilda": "Tilly", "Penelope": "Penny",
    "Sophia": "Sophie", "Andrew": "Andy", "David": "Dave", "Danielle": "Dani", "Natalie": "Nat",
    "Georgia": "Georgie", "Gemma": "Gem", "Kayla": "Kay", "Frankie": "Frank", "Harriet": "Hattie",
    "Eliza": "Lizzie", "Arabella": "Bella", "Reuben": "Reub", "Emilia": "Millie", "Amelia": "Millie",
    "Muhammad": "Mohammed", "Mohammed": "Muhammad", "Theo": "Teddy", "Alfred": "Alfie", "Frederick": "Freddie",
    "Henry": "Harry", "Samantha": "Sam", "Victoria": "Vicky", "Katie": "Kate", "Jennifer": "Jenny",
}

# Postcode districts of an imaginary county; sectors and units are made up on top.
POSTCODE_AREAS = ["IP1", "IP2", "IP3", "IP4", "IP5", "IP8", "IP11", "IP12", "IP14", "IP28",
                  "CO10", "NR32", "NR33", "CB8", "CB9", "MK40", "MK41", "MK42", "MK43", "MK44",
                  "MK45", "LU1", "LU2", "LU3", "LU4", "LU5", "SG17", "SG18", "SG19", "PE19"]
POSTCODE_UNIT_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"
