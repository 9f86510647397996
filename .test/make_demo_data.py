"""Write the demo datasets in .test/data/ (deterministic; re-run to regenerate).

Small, plausible text in every raw shape the workflow reads: the three pair-file
line shapes (.jsonl.gz), a medmcqa parquet, and a BeIR folder with qrels.
Usage: python .test/make_demo_data.py
"""

from __future__ import annotations

import gzip
import json
import random
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

OUT = Path(__file__).parent / "data"

COUNTRIES = [
    ("France", "Paris", "Europe", "French", "euro", "the Seine"),
    ("Germany", "Berlin", "Europe", "German", "euro", "the Spree"),
    ("Italy", "Rome", "Europe", "Italian", "euro", "the Tiber"),
    ("Spain", "Madrid", "Europe", "Spanish", "euro", "the Manzanares"),
    ("Portugal", "Lisbon", "Europe", "Portuguese", "euro", "the Tagus"),
    ("Poland", "Warsaw", "Europe", "Polish", "zloty", "the Vistula"),
    ("Hungary", "Budapest", "Europe", "Hungarian", "forint", "the Danube"),
    ("Austria", "Vienna", "Europe", "German", "euro", "the Danube"),
    ("Egypt", "Cairo", "Africa", "Arabic", "Egyptian pound", "the Nile"),
    ("Kenya", "Nairobi", "Africa", "Swahili", "Kenyan shilling", "the Nairobi River"),
    ("Nigeria", "Abuja", "Africa", "English", "naira", "the Niger"),
    ("Ghana", "Accra", "Africa", "English", "cedi", "the Volta"),
    ("Japan", "Tokyo", "Asia", "Japanese", "yen", "the Sumida"),
    ("China", "Beijing", "Asia", "Mandarin", "renminbi", "the Yongding"),
    ("India", "New Delhi", "Asia", "Hindi", "rupee", "the Yamuna"),
    ("Thailand", "Bangkok", "Asia", "Thai", "baht", "the Chao Phraya"),
    ("Vietnam", "Hanoi", "Asia", "Vietnamese", "dong", "the Red River"),
    ("Brazil", "Brasilia", "South America", "Portuguese", "real", "the Paranoa"),
    ("Argentina", "Buenos Aires", "South America", "Spanish", "peso", "the Rio de la Plata"),
    ("Peru", "Lima", "South America", "Spanish", "sol", "the Rimac"),
    ("Canada", "Ottawa", "North America", "English", "Canadian dollar", "the Ottawa River"),
    ("Mexico", "Mexico City", "North America", "Spanish", "peso", "the Magdalena"),
    ("Australia", "Canberra", "Oceania", "English", "Australian dollar", "the Molonglo"),
    ("New Zealand", "Wellington", "Oceania", "English", "New Zealand dollar", "the Hutt"),
]
ELEMENTS = [
    ("hydrogen", "H", 1, "a nonmetal", "the lightest element and fuels the stars"),
    ("helium", "He", 2, "a noble gas", "used to fill balloons and cool magnets"),
    ("carbon", "C", 6, "a nonmetal", "the basis of organic chemistry"),
    ("nitrogen", "N", 7, "a nonmetal", "about 78 percent of Earth's air"),
    ("oxygen", "O", 8, "a nonmetal", "needed by animals to breathe"),
    ("sodium", "Na", 11, "an alkali metal", "reacts violently with water"),
    ("aluminium", "Al", 13, "a post-transition metal", "light and used in aircraft"),
    ("silicon", "Si", 14, "a metalloid", "the base of computer chips"),
    ("iron", "Fe", 26, "a transition metal", "the main part of steel"),
    ("copper", "Cu", 29, "a transition metal", "an excellent conductor used in wires"),
    ("silver", "Ag", 47, "a transition metal", "the best conductor of electricity"),
    ("gold", "Au", 79, "a transition metal", "prized for jewellery and does not rust"),
    ("mercury", "Hg", 80, "a transition metal", "liquid at room temperature"),
    ("lead", "Pb", 82, "a post-transition metal", "dense and once used in pipes"),
    ("uranium", "U", 92, "an actinide", "used as fuel in nuclear reactors"),
]
ANIMALS = [
    ("lion", "savanna grasslands", "meat", "mammal", "lives in groups called prides"),
    ("tiger", "tropical forests", "meat", "mammal", "is the largest cat species"),
    ("elephant", "savannas and forests", "plants", "mammal", "has the largest brain of any land animal"),
    ("giraffe", "open woodlands", "leaves", "mammal", "is the tallest living animal"),
    ("penguin", "the Southern Ocean", "fish and krill", "bird", "cannot fly but swims well"),
    ("eagle", "mountains and coasts", "small animals", "bird", "has very sharp eyesight"),
    ("owl", "forests", "rodents", "bird", "hunts mostly at night"),
    ("salmon", "rivers and the sea", "insects and small fish", "fish", "returns to its birth river to spawn"),
    ("shark", "oceans", "fish and seals", "fish", "has several rows of teeth"),
    ("frog", "ponds and wetlands", "insects", "amphibian", "starts life as a tadpole"),
    ("turtle", "oceans and lakes", "plants and jellyfish", "reptile", "can live for over a century"),
    ("crocodile", "rivers and swamps", "fish and mammals", "reptile", "has one of the strongest bites"),
    ("honeybee", "meadows and gardens", "nectar and pollen", "insect", "communicates with a waggle dance"),
    ("ant", "soil and forests", "seeds and insects", "insect", "lives in colonies with a queen"),
    ("dolphin", "warm seas", "fish and squid", "mammal", "uses echolocation to find food"),
]
FUNCTIONS = [
    (
        "reverse_list",
        "Return a new list with the items in reverse order.",
        "def reverse_list(items):\n    return items[::-1]",
    ),
    ("is_even", "Check whether an integer is even.", "def is_even(n):\n    return n % 2 == 0"),
    ("word_count", "Count how many words a string contains.", "def word_count(text):\n    return len(text.split())"),
    (
        "factorial",
        "Compute the factorial of a non-negative integer.",
        "def factorial(n):\n    return 1 if n < 2 else n * factorial(n - 1)",
    ),
    (
        "fibonacci",
        "Return the n-th Fibonacci number.",
        "def fibonacci(n):\n    a, b = 0, 1\n    for _ in range(n):\n        a, b = b, a + b\n    return a",
    ),
    (
        "read_lines",
        "Read a text file and return its lines without newlines.",
        "def read_lines(path):\n    with open(path) as fh:\n        return [line.rstrip('\\n') for line in fh]",
    ),
    ("mean", "Compute the arithmetic mean of a list of numbers.", "def mean(xs):\n    return sum(xs) / len(xs)"),
    (
        "flatten",
        "Flatten a list of lists into one list.",
        "def flatten(rows):\n    return [x for row in rows for x in row]",
    ),
    (
        "is_palindrome",
        "Check whether a string reads the same backwards.",
        "def is_palindrome(s):\n    s = s.lower()\n    return s == s[::-1]",
    ),
    (
        "unique",
        "Remove duplicates from a list, keeping the first occurrence.",
        "def unique(items):\n    seen = set()\n    return [x for x in items if not (x in seen or seen.add(x))]",
    ),
    (
        "clamp",
        "Limit a value to the range between low and high.",
        "def clamp(x, low, high):\n    return max(low, min(high, x))",
    ),
    (
        "chunks",
        "Split a list into chunks of a given size.",
        "def chunks(items, size):\n    return [items[i:i + size] for i in range(0, len(items), size)]",
    ),
    (
        "to_snake_case",
        "Convert a CamelCase name to snake_case.",
        "def to_snake_case(name):\n    import re\n    return re.sub(r'(?<!^)(?=[A-Z])', '_', name).lower()",
    ),
    (
        "gcd",
        "Compute the greatest common divisor of two integers.",
        "def gcd(a, b):\n    while b:\n        a, b = b, a % b\n    return a",
    ),
    (
        "celsius_to_fahrenheit",
        "Convert a temperature from Celsius to Fahrenheit.",
        "def celsius_to_fahrenheit(c):\n    return c * 9 / 5 + 32",
    ),
]
# drug | class | mechanism | use
DRUGS = [
    tuple(line.split(" | "))
    for line in """\
Atropine | an anticholinergic | blocks muscarinic receptors | bradycardia and organophosphate poisoning
Propranolol | a non-selective beta blocker | blocks beta-1 and beta-2 receptors | hypertension and migraine prophylaxis
Metformin | a biguanide | reduces hepatic gluconeogenesis | type 2 diabetes mellitus
Aspirin | an NSAID | irreversibly inhibits cyclooxygenase | pain, fever and prevention of thrombosis
Warfarin | an oral anticoagulant | inhibits vitamin K epoxide reductase | prevention of venous thromboembolism
Omeprazole | a proton pump inhibitor | blocks the H+/K+ ATPase of parietal cells | peptic ulcer disease and reflux
Furosemide | a loop diuretic | inhibits the Na-K-2Cl cotransporter | oedema and heart failure
Salbutamol | a beta-2 agonist | relaxes bronchial smooth muscle | acute asthma
Digoxin | a cardiac glycoside | inhibits the Na+/K+ ATPase | atrial fibrillation and heart failure
Penicillin | a beta-lactam antibiotic | inhibits bacterial cell wall synthesis | streptococcal infections
Levothyroxine | a thyroid hormone | replaces thyroxine | hypothyroidism
Morphine | an opioid analgesic | activates mu opioid receptors | severe pain
Insulin | a peptide hormone | increases glucose uptake into cells | type 1 diabetes mellitus
Heparin | a parenteral anticoagulant | activates antithrombin III | acute venous thrombosis
Allopurinol | a xanthine oxidase inhibitor | reduces uric acid production | chronic gout
Lisinopril | an ACE inhibitor | blocks conversion of angiotensin I to II | hypertension and heart failure
""".splitlines()
]


def country_pairs():
    for c, cap, cont, lang, cur, river in COUNTRIES:
        yield (f"What is the capital of {c}?", f"The capital of {c} is {cap}, a city on {river}.")
        yield (f"What currency is used in {c}?", f"{c} uses the {cur} as its official currency.")
        yield (f"Which language is spoken in {c}?", f"The main language of {c} is {lang}.")


def element_pairs():
    for name, sym, num, cat, fact in ELEMENTS:
        yield (f"What is the chemical symbol of {name}?", f"The symbol of {name} is {sym}; it has atomic number {num}.")
        yield (f"What kind of element is {name}?", f"{name.capitalize()} is {cat}, {fact}.")


def animal_pairs():
    for name, habitat, diet, cls, fact in ANIMALS:
        yield (f"Where does the {name} live?", f"The {name} lives in {habitat} and {fact}.")
        yield (f"What does a {name} eat?", f"A {name} is a {cls} that mostly eats {diet}.")


def write_jsonl_gz(name: str, rows) -> None:
    path = OUT / f"{name}.jsonl.gz"
    # mtime=0 keeps the .gz bytes identical across regenerations
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as gz:
        for row in rows:
            gz.write((json.dumps(row, ensure_ascii=False) + "\n").encode())


def main() -> None:
    rng = random.Random(7)
    OUT.mkdir(parents=True, exist_ok=True)
    qa = list(country_pairs()) + list(element_pairs()) + list(animal_pairs())

    write_jsonl_gz("gooaq_pairs", [[q, a] for q, a in qa[:90]] + [[qa[0][0], qa[0][1]]])
    write_jsonl_gz(
        "eli5_question_answer",
        [
            [f"ELI5: {q[:-1].lower()} and why?", f"{a} Put simply, that is how it has been for a long time."]
            for q, a in qa[20:110]
        ],
    )
    write_jsonl_gz("yahoo_answers_title_answer", [[q, f"Best answer: {a}"] for q, a in qa[5:100]])
    write_jsonl_gz(
        "agnews",
        [
            [
                f"{c}: {cap} hosts regional summit",
                f"Leaders from across {cont} met in {cap}, the capital of {c}, to discuss trade in the {cur}.",
            ]
            for c, cap, cont, _l, cur, _r in COUNTRIES
        ]
        + [
            [f"Scientists report new {name} findings", f"Researchers studying {name} ({sym}) say it is {fact}."]
            for name, sym, _n, _c, fact in ELEMENTS
        ]
        + [
            [f"Wildlife: {name} numbers rise", f"Conservationists say the {name}, which lives in {hab}, {fact}."]
            for name, hab, _d, _c, fact in ANIMALS
        ],
    )
    write_jsonl_gz(
        "amazon_review_2018",
        [
            [f"Great {item} for {use}", f"I bought this {item} for {use}. {verdict}"]
            for item in ("kettle", "backpack", "desk lamp", "keyboard", "water bottle", "tent", "blender", "headphones")
            for use, verdict in (
                ("travel", "It is light and sturdy, five stars."),
                ("the office", "Works well but the cable is short."),
                ("my son", "He loves it and uses it every day."),
                ("camping", "Survived a week of rain without problems."),
                ("daily use", "Stopped working after two months, disappointed."),
                ("the kitchen", "Looks nice and is easy to clean."),
                ("a gift", "Arrived quickly and well packaged."),
            )
        ],
    )
    write_jsonl_gz(
        "cnn_dailymail",
        [
            [
                f"{c} announces new rail link to {cap}.",
                f"{c} has announced a new high-speed rail link to its capital, {cap}. "
                f"Officials said the line along {river} will cut journey times in half. The project will be paid for in {cur}s "
                f"and is expected to open within five years, according to the transport ministry.",
            ]
            for c, cap, _ct, _l, cur, river in COUNTRIES
        ]
        + [
            [
                f"Zoo welcomes baby {name}.",
                f"A zoo has welcomed a baby {name}. The {cls}, which in the wild lives in {hab}, "
                f"is said to be healthy. Keepers said the {name} {fact} and will be fed {diet}.",
            ]
            for name, hab, diet, cls, fact in ANIMALS
        ],
    )
    write_jsonl_gz(
        "xsum",
        [
            [
                f"The {name} population in {hab} has fallen sharply, a study says.",
                f"Researchers counted the {name} across {hab} for ten years. The {cls}, which {fact}, now faces "
                f"habitat loss and a shortage of {diet}. Campaigners called for new protected areas.",
            ]
            for name, hab, diet, cls, fact in ANIMALS
        ]
        + [
            [
                f"{c} will hold an election in {cap} next spring.",
                f"The government of {c} confirmed that voting will take place in {cap} and across {ct}-facing regions. "
                f"Campaigns in {lang} begin next month.",
            ]
            for c, cap, ct, lang, _cu, _r in COUNTRIES
        ],
    )
    write_jsonl_gz(
        "codesearchnet",
        [[doc, code] for _n, doc, code in FUNCTIONS]
        + [[f"Helper that calls {n}.", f"def use_{n}(*args):\n    return {n}(*args)"] for n, _d, _c in FUNCTIONS]
        + [[f"{doc} Raises on bad input.", code.replace("def ", "def checked_", 1)] for _n, doc, code in FUNCTIONS],
    )
    write_jsonl_gz(
        "sentence-compression",
        [
            [
                f"Officials said on Monday that the {name} population living in {hab} has grown this year, which experts welcomed.",
                f"{name.capitalize()} population grows",
            ]
            for name, hab, *_ in ANIMALS
        ]
        + [
            [
                f"The government of {c} said in a statement that its capital {cap} would host a major conference on trade.",
                f"{cap} to host trade conference",
            ]
            for c, cap, *_ in COUNTRIES
        ]
        + [
            [
                f"Scientists said that {name}, which is {cat}, is {fact}, in a study published this week.",
                f"{name.capitalize()} is {fact}",
            ]
            for name, _s, _n, cat, fact in ELEMENTS
        ],
    )
    write_jsonl_gz(
        "stackexchange_duplicate_questions_title-body_title-body",
        [
            [
                f"How do I {doc[0].lower() + doc[1:-1]} in Python? I need to {doc[0].lower() + doc[1:-1]} for a project.",
                f"Python: {doc[0].lower() + doc[1:-1]}? What is the idiomatic way to {doc[0].lower() + doc[1:-1]}?",
            ]
            for _n, doc, _c in FUNCTIONS
        ]
        + [
            [
                f"What is the capital of {c}? I always confuse it.",
                f"Capital city of {c}? Is it {cap} or somewhere else?",
            ]
            for c, cap, *_ in COUNTRIES
        ],
    )
    # squad: many questions share one passage
    squad = []
    for c, cap, cont, lang, cur, river in COUNTRIES:
        passage = (
            f"{c} is a country in {cont}. Its capital is {cap}, which lies on {river}. "
            f"The official language is {lang} and the currency is the {cur}."
        )
        for q in (f"What is the capital of {c}?", f"Which river flows through {cap}?", f"What currency does {c} use?"):
            squad.append([q, passage])
    write_jsonl_gz("squad_pairs", squad)
    # set shape
    write_jsonl_gz(
        "altlex",
        [
            {
                "set": [
                    f"The {name} {fact}, so it is easy to recognise.",
                    f"Because the {name} {fact}, it is easy to recognise.",
                ]
            }
            for name, _h, _d, _c, fact in ANIMALS
        ]
        + [
            {
                "set": [
                    f"{c} uses the {cur}, so prices there are in {cur}s.",
                    f"Since {c} uses the {cur}, prices are in {cur}s.",
                ]
            }
            for c, _cap, _ct, _l, cur, _r in COUNTRIES
        ]
        + [{"set": ["A lone sentence with no paraphrase."]}],
    )
    write_jsonl_gz(
        "SimpleWiki",
        [
            {
                "set": [
                    f"{name.capitalize()} is a chemical element with the symbol {sym} and atomic number {num}; it is {cat}.",
                    f"{name.capitalize()} is an element. Its symbol is {sym}.",
                ]
            }
            for name, sym, num, cat, _f in ELEMENTS
        ]
        + [
            {
                "set": [
                    f"The {name} is a {cls} native to {hab}, noted because it {fact}.",
                    f"The {name} is an animal that lives in {hab}.",
                ]
            }
            for name, hab, _d, cls, fact in ANIMALS
        ]
        + [
            {
                "set": [
                    f"{c} is a sovereign state in {ct} whose capital and largest city is {cap}.",
                    f"{c} is a country in {ct}. Its capital is {cap}.",
                ]
            }
            for c, cap, ct, *_ in COUNTRIES
        ],
    )
    # query/pos shape with several positives (and a blank one, which is removed)
    sq = []
    for c, cap, cont, lang, cur, river in COUNTRIES:
        sq.append(
            {
                "query": f"capital city of {c.lower()}",
                "pos": [
                    f"{cap} is the capital of {c}.",
                    f"Visit {cap}, on {river}, the seat of government of {c}.",
                    "",
                    f"{c} ({cont}) - capital: {cap}; language: {lang}.",
                ],
            }
        )
    for name, hab, diet, cls, fact in ANIMALS:
        sq.append(
            {"query": f"{name} diet", "pos": [f"The {name} eats {diet}.", f"As a {cls}, the {name} feeds on {diet}."]}
        )
    write_jsonl_gz("searchQA_top5_snippets", sq)

    # medmcqa parquet: the real column set; some explanations missing
    rows = []
    for i, (drug, cls, mech, use) in enumerate(DRUGS):
        others = [d for d in DRUGS if d[0] != drug]
        rng.shuffle(others)
        for j, (q, exp) in enumerate(
            (
                (
                    f"Mechanism of action of {drug} is:",
                    f"{drug} is {cls}; it {mech}. Ref: standard pharmacology texts.",
                ),
                (f"{drug} is used in the treatment of:", f"{drug} is indicated for {use}, because it {mech}."),
                (f"{drug} belongs to which class of drugs?", f"{drug} is classified as {cls}."),
                (
                    f"Drug of choice for {use} among the following is:",
                    "" if i % 3 == 0 else f"{drug} is preferred for {use}.",
                ),
            )
        ):
            opts = [drug] + [o[0] for o in others[:3]]
            rng.shuffle(opts)
            rows.append(
                {
                    "id": f"demo-{i:02d}-{j}",
                    "question": q,
                    "opa": opts[0],
                    "opb": opts[1],
                    "opc": opts[2],
                    "opd": opts[3],
                    "cop": opts.index(drug),
                    "choice_type": "single",
                    "exp": exp or None,
                    "subject_name": "Pharmacology",
                    "topic_name": cls,
                }
            )
    pq.write_table(pa.Table.from_pylist(rows), OUT / "medmcqa_train.parquet")

    # BeIR folder: corpus, queries (train + dev + test), qrels
    beir = OUT / "hotpotqa"
    (beir / "qrels").mkdir(parents=True, exist_ok=True)
    corpus, queries, qrels = [], [], {"train": [], "dev": [], "test": []}
    for c, cap, cont, lang, cur, river in COUNTRIES:
        corpus.append(
            {"_id": f"c-{c}", "title": c, "text": f"{c} is a country in {cont} with {lang} as its main language."}
        )
        corpus.append({"_id": f"k-{cap}", "title": cap, "text": f"{cap} is the capital of {c} and lies on {river}."})
    for name, sym, num, cat, fact in ELEMENTS:
        corpus.append(
            {
                "_id": f"e-{name}",
                "title": name.capitalize(),
                "text": f"{name.capitalize()} ({sym}) is {cat} with atomic number {num}; it is {fact}.",
            }
        )
    for name, hab, diet, cls, fact in ANIMALS:
        corpus.append(
            {
                "_id": f"a-{name}",
                "title": name.capitalize(),
                "text": f"The {name} is a {cls} of {hab} that eats {diet}.",
            }
        )
    for k, (c, cap, cont, lang, cur, river) in enumerate(COUNTRIES):
        qid = f"q{k:03d}"
        queries.append(
            {"_id": qid, "text": f"Which river runs through the capital of the {lang}-speaking country {c}?"}
        )
        split = "train" if k % 6 else ("dev" if k % 12 else "test")
        qrels[split] += [(qid, f"c-{c}"), (qid, f"k-{cap}")]
    for k, (name, sym, num, cat, fact) in enumerate(ELEMENTS):
        qid = f"q1{k:02d}"
        queries.append({"_id": qid, "text": f"What is the atomic number of the element with symbol {sym}?"})
        qrels["train" if k % 5 else "dev"].append((qid, f"e-{name}"))
    for k, (name, hab, *_r) in enumerate(ANIMALS):
        qid = f"q2{k:02d}"
        queries.append({"_id": qid, "text": f"Which animal living in {hab} is a {_r[1]}?"})
        qrels["train"].append((qid, f"a-{name}"))
    with open(beir / "corpus.jsonl", "w") as fh:
        fh.writelines(json.dumps(r) + "\n" for r in corpus)
    with open(beir / "queries.jsonl", "w") as fh:
        fh.writelines(json.dumps(r) + "\n" for r in queries)
    for split, rows_ in qrels.items():
        with open(beir / "qrels" / f"{split}.tsv", "w") as fh:
            fh.write("query-id\tcorpus-id\tscore\n")
            fh.writelines(f"{q}\t{d}\t1\n" for q, d in rows_)


if __name__ == "__main__":
    main()
