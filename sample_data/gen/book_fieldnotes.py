"""Book 3: "Field Notes on Light", a book of short essays on the history of artificial light (shipped as
.txt.gz, no Gutenberg header). Original text for this project."""

from __future__ import annotations

from gen.prose import lexicon

LEX = lexicon(
    {
        "source": """the tallow candle | the beeswax candle | the rushlight | the Argand lamp | the whale-oil lamp |
            the paraffin lamp | the gas mantle | the open gas jet | the carbon filament | the tungsten filament |
            the sodium street lamp | the fluorescent tube | the white LED | the miner's safety lamp |
            the ship's lantern | the carbide lamp | the halogen bulb | the spermaceti candle | the colza lamp |
            the oil lantern | the arc lamp""",
        "quality": """a steady | a smoky | a generous | a meagre | a warm | a greenish | a harsh | an even |
            a flickering | a surprisingly bright | a dim but honest | a yellow | a cold | a restless | a kindly""",
        "drawback": """it needed {constant} trimming | it smelled of {kitchen} | it was {expensive} |
            it blackened {surface} | it could not be left alone {for_long} | it flickered in {draught} |
            it made {faces} look ill | it ate the air of {room} | its glass cracked {in_cold} |
            the fuel had to be carried {from_where} | it was forbidden in {forbidden_place}""",
        "constant": "constant | hourly | careful | endless | tiresome",
        "kitchen": "the kitchen | mutton | burnt fat | the slaughterhouse | hot tin",
        "expensive": "ruinously expensive | dear | beyond most purses | taxed heavily | hard to come by",
        "surface": "the ceiling | the curtains | the walls | every picture | the plaster",
        "for_long": "for long | for a minute | overnight | even briefly",
        "draught": "the slightest draught | an open door | every breath | a passing cart",
        "faces": "every face | the sitters | the children | even healthy people",
        "room": "a small room | a bedroom | the parlour | a crowded attic",
        "in_cold": "in the cold | in frost | when it was cleaned | without warning",
        "from_where": "up from the cellar | from the village | across the yard | up three flights",
        "forbidden_place": "the mills | the mines | the haylofts | most theatres | the powder store",
        "person": """a miller | a weaver | a ship's cook | a village schoolteacher | a night nurse | an astronomer |
            a printer's apprentice | a lace maker | a railway signalman | a watchmaker | a student |
            a mother with a sick child | a bookkeeper | a tailor | a parish clerk | a glove maker | a midwife |
            a cabinetmaker | a lighthouse keeper | a baker""",
        "task": """read a letter | thread a needle | check the accounts | copy out a sermon | mend a net |
            set type | wind a clock | nurse a fever | write up {her_his} notes | sort the post |
            finish a waistcoat | learn a lesson | count the takings | knead the dough | stitch a glove""",
        "her_his": "the day's | the evening's | a week's | the parish",
        "wanted": "wanted | needed | hoped | was obliged | had promised",
        "after_dark": """after dark | at night | in the evening | once the sun had set | on a winter evening |
            by night | before dawn | late""",
        "would_use": """would most likely have used | would probably have reached for | would have relied on |
            could only afford | made do with | would have lit | borrowed""",
        "era": """In the seventeenth century | Around 1780 | By the 1820s | In the middle of the last century |
            Before the railways | In the years after the great exhibition | At the turn of the century |
            Between the wars | In our grandparents' day | Within living memory | In the age of sail |
            Around 1850 | For a few decades | Long before electricity""",
        "place": """a farmhouse kitchen | a cotton mill | a ship's galley | a country parsonage | a city tenement |
            a hospital ward | an observatory | a print shop | a signal box | a coaching inn | an attic |
            a counting house | a mine shaft | a lighthouse | a schoolroom | a bakehouse | a chapel""",
        "tool_phrase": """a tool like any other | simply part of the furniture | an everyday necessity |
            as ordinary as a broom | a small luxury | a constant worry | counted among the valuables |
            a source of pride | something to be rationed""",
        "measure": """the cost of {an_amount} of light | the number of candles {household} burned in {period} |
            the brightness of {one_flame} | the share of {income} spent on {lighting} |
            the distance at which {a_lamp} could be seen | the heat given off by {a_lamp}""",
        "household": "a family | a farmhouse | a parsonage | a weaver's household | a small school | the average cottage",
        "period": "a winter | a year | the dark months | a single week | December alone",
        "an_amount": "an hour | an evening | a whole night | a working day",
        "one_flame": "a single flame | one wick | the average candle | a good lamp",
        "income": "wages | a labourer's pay | a household budget | the parish funds",
        "lighting": "lighting | candles | lamp oil | light",
        "a_lamp": "a lamp | a lantern | a harbour light | a street lamp | the flame | a beacon",
        "change": """fell by half | rose sharply | hardly changed at all | doubled within a decade |
            fell a hundredfold | became a matter for {authority} | was argued over in {forum}""",
        "authority": "the tax collector | the magistrates | the insurers | the town council",
        "forum": "parliament | the newspapers | the vestry | the chamber of commerce",
        "observer": """One diarist | A visiting physician | An old inventory | A housekeeping book |
            A surviving letter | A factory inspector | A traveller from the south | A parish account |
            A schoolboy's essay | A shop ledger""",
        "observation": """complained that the lamps made {room} too hot | recorded that {household} shared one candle |
            noted that the streets were brighter than {indoors} | listed the candles beside {valuables} |
            described reading by {firelight} | remarked that the new lamps hissed like {hiss} |
            counted the lamps along {street}""",
        "indoors": "the houses | the parlours | the church | most shops",
        "valuables": "the silver | the linen | the best china | the Bible",
        "firelight": "the fire | the glow of the hearth | a single ember | moonlight",
        "hiss": "a kettle | a goose | an angry cat | the sea",
        "street": "the high street | the quay | the market square | the turnpike road",
        "colour": """orange | amber | pale gold | blue-white | greenish | rosy | bluish | yellow-white | straw-coloured""",
        "effect": """made {faces} look kinder | flattened every shadow | tired the eyes within {short_time} |
            turned blue cloth black | made {room} feel smaller | hid the dust in {corners} |
            turned red wine brown | made the night outside seem darker | drew moths from {far} |
            made gold thread glitter""",
        "short_time": "an hour | minutes | a chapter | an evening",
        "corners": "the corners | every corner | the rafters | the hearth",
        "far": "far away | the whole garden | across the fields | the orchard",
        "claim": """we forget how dark the past was | light has always been a measure of {wealth} |
            every new lamp was called unnatural at first | the quality of light matters as much as {quantity} |
            the history of lighting is also a history of {work} | cheap light changed {the_day} |
            no lamp is simply an improvement on the last""",
        "wealth": "wealth | status | power | respectability",
        "quantity": "its quantity | its price | its brightness",
        "work": "work | women's work | poverty | invention",
        "the_day": "the shape of the day | the working week | the evening | family life",
        "opener": """It is worth remembering that | Historians sometimes point out that | One might argue that |
            It is often said that | The records suggest that | It seems likely that | Nobody seriously doubts that |
            It would be too simple to say that | Old people still say that | I have come to believe that""",
        "connective": """Even so | On the other hand | For that reason | All the same | In practice | Curiously |
            At the same time | For most people | In the end | Not surprisingly | Still | Oddly enough""",
        "consequence": """people went to bed earlier in {season} | work moved indoors | the poor learned to work {dark_way} |
            towns competed for {prize} | reading became an evening pleasure | night shifts became possible |
            insurers grew nervous | fewer people were robbed {when_robbed} | shops stayed open {later}""",
        "season": "winter | the dark months | December | the country",
        "dark_way": "in the dark | by feel | by the fire | in half-light",
        "prize": "the brightest streets | the newest lamps | visitors | the evening trade",
        "when_robbed": "on the way home | after the theatre | in the lanes | near the docks",
        "later": "later | until nine | into the night | on Saturdays",
        "material": """beef fat | mutton fat | beeswax | whale oil | colza oil | coal gas | paraffin | acetylene |
            carbonised bamboo | tungsten wire | sodium vapour | mercury vapour | a semiconductor chip | rushes and grease""",
        "verb_made": "was made from | burned | depended on | was fed with | relied on | used",
        "sense": "the smell | the sound | the warmth | the colour | the flicker | the shadow",
        "sense_detail": """lingered in {surface} | was part of {evening_part} | came and went with {draught} |
            announced that {lamps_lit} | gave {room} its character | was the first thing {visitors} noticed""",
        "evening_part": "the evening | family prayers | supper | the long winter nights",
        "lamps_lit": "the lamps were lit | the day was over | supper was near | the shop had opened",
        "visitors": "visitors | guests | strangers | children",
        "comparison": """far cheaper than | twice as bright as | much cleaner than | no safer than | less trouble than |
            more reliable than | smokier than""",
        "verdict": """a small revolution | a mixed blessing | a luxury at first | a nuisance | a marvel | a necessity""",
        "who_thought": """Most households | The mill owners | Parish councils | Shopkeepers | Doctors | Sailors |
            Children | Housekeepers""",
        "thought_of": "thought of | regarded | treated | described | spoke of",
    }
)

TEMPLATES = [
    "{source} gave {quality} light, but {drawback}.",
    "{era}, {person} who {wanted} to {task} {after_dark} {would_use} {source}.",
    "{observer} {observation}.",
    "{opener} {claim}.",
    "{connective}, {consequence}.",
    "{source} {verb_made} {material}, and {sense} of it {sense_detail}.",
    "Under {source}, a room looked {colour}, and the light {effect}.",
    "{era}, {measure} {change}.",
    "In {place}, {source} was {tool_phrase}.",
    "{person} in {place} might use {source} to {task}.",
    "{connective}, {source} {effect}.",
    "{opener} {source} {effect}.",
    "{era}, {observer_lc} {observation}.",
    "For {person}, {sense} of {source} {sense_detail}.",
    "{connective}, {measure} {change} once {source} became common.",
    "{source} was {comparison} {source}, though {drawback}.",
    "{opener} {person} cared more about {measure} than about beauty.",
    "The change from {source} to {source} meant that {consequence}.",
    "In {place}, {sense} of {source} {sense_detail}.",
    "{who_thought} {thought_of} {source} as {verdict}.",
    "{source}, {verb_made_lc} {material}, was {verdict} {era_lc}.",
    "If {person} {wanted} to {task}, {source} {effect}.",
    "{quality_cap} light came from {source} in {place}.",
    "{who_thought} said that {source} {effect}.",
    "{connective}, {who_thought_lc} kept {source} for {occasion}.",
]

ADJECTIVES = """dim small cold narrow crowded humble draughty smoky grand plain modest ordinary shabby quiet busy
    cramped poor wealthy distant local""".split()
NOUNS = set(
    """room light lamp lamps candle candles flame house family street wick glass night evening kitchen attic parlour
    ceiling curtains walls shadow fire hearth household farmhouse parsonage cottage school village quay lantern
    beacon mills mines theatres ward galley tenement chapel bakehouse schoolroom shop houses parlours church
    shops""".split()
)

CANDLES = {
    "source": [
        "the tallow candle",
        "the beeswax candle",
        "the rushlight",
        "the spermaceti candle",
        "the church candle",
        "the cheap dip",
        "the moulded candle",
        "the kitchen candle",
    ],
    "material": [
        "beef fat",
        "mutton fat",
        "beeswax",
        "spermaceti",
        "rushes and grease",
        "stearin",
        "cheap tallow",
    ],
}
OIL = {
    "source": [
        "the Argand lamp",
        "the whale-oil lamp",
        "the colza lamp",
        "the paraffin lamp",
        "the oil lantern",
        "the clay lamp",
        "the ship's lantern",
        "the student lamp",
        "the hanging lamp",
    ],
    "material": ["whale oil", "colza oil", "paraffin", "olive oil", "fish oil", "lard oil", "rapeseed oil"],
}
GAS = {
    "source": [
        "the gas mantle",
        "the open gas jet",
        "the fishtail burner",
        "the gas bracket",
        "the gas chandelier",
        "the gas street lamp",
        "the carbide lamp",
    ],
    "material": ["coal gas", "town gas", "acetylene", "oil gas", "water gas"],
}
ELECTRIC = {
    "source": [
        "the carbon filament",
        "the tungsten filament",
        "the arc lamp",
        "the halogen bulb",
        "the fluorescent tube",
        "the frosted bulb",
        "the electric bulb",
        "the reading lamp",
    ],
    "material": ["carbonised bamboo", "tungsten wire", "carbon thread", "mercury vapour", "a glass envelope"],
    "era": [
        "At the turn of the century",
        "Between the wars",
        "In our grandparents' day",
        "Within living memory",
        "Around 1900",
        "After the first power stations opened",
        "In the 1930s",
    ],
}
STREETS = {
    "source": [
        "the oil lantern",
        "the gas street lamp",
        "the arc lamp",
        "the sodium street lamp",
        "the mercury lamp",
        "the white LED",
        "the parish lantern",
        "the link boy's torch",
    ],
}
SMALL = {
    "source": [
        "the white LED",
        "the standby light",
        "the phone screen",
        "the bicycle lamp",
        "the torch",
        "the night light",
        "the charger's glow",
        "the fairy lights",
    ],
    "material": [
        "a semiconductor chip",
        "a sliver of gallium nitride",
        "a tiny battery",
        "a printed circuit",
    ],
    "era": [
        "Within living memory",
        "In the last twenty years",
        "Since the 1990s",
        "In our own day",
        "Within a generation",
        "Today",
    ],
}

CHAPTERS = [
    (
        "On Darkness",
        [
            "Before we can talk about lamps, we have to imagine a night without them, which is harder than it sounds.",
            "A moonless winter night in the countryside is so dark that a person standing still can lose the sense of which way is up.",
            "For most of history, most people met that darkness every evening with nothing more than the embers of a fire.",
        ],
    ),
    (
        "On Candles",
        [
            "The candle is the lamp everyone thinks they understand, and it is stranger than it looks.",
            "A candle flame is a small factory: the heat melts the wax, the wick draws it up, and the flame turns it into gas before it burns.",
            "The difference between a cheap tallow candle and a beeswax one was not only the smell but also how often it had to be snuffed.",
        ],
        CANDLES,
    ),
    (
        "On Oil",
        [
            "Oil lamps are older than writing, and for thousands of years they barely changed.",
            "The great improvement came when someone thought to give the flame a hollow wick and a glass chimney, so that air could reach it from inside and out.",
            "The demand for lamp oil sent whaling ships to the far ends of the earth, a cost that the people reading by those lamps seldom considered.",
        ],
        OIL,
    ),
    (
        "On Gas",
        [
            "Gas light arrived in the cities first, in the streets and the theatres, and only slowly made its way into ordinary homes.",
            "People who had never seen a bright street at night walked out in crowds just to look at it.",
            "Gas brought its own troubles: leaks, headaches, blackened ceilings and, now and then, an explosion that made the newspapers.",
        ],
        GAS,
    ),
    (
        "On Filaments",
        [
            "The electric filament lamp was not invented in a single moment, whatever the school books say; dozens of people worked on it at once.",
            "Its great virtue was not brightness, since early bulbs were dim, but that it needed no flame, no fuel and no attention.",
            "A lamp that could be switched on from the door changed the way houses were built and the way rooms were arranged.",
        ],
        ELECTRIC,
    ),
    (
        "On Street Lamps",
        [
            "A street lamp is a public promise: it says that somebody is paying so that you can walk home safely.",
            "The first street lamps were lanterns that householders were ordered to hang outside their doors on moonless nights.",
            "Later, whole professions grew up around the lamps, from the lamplighters to the men who cleaned the glass.",
        ],
        STREETS,
    ),
    (
        "On the Colour of Light",
        [
            "Every light source has a colour, and our eyes are very good at pretending that it does not.",
            "We call a light warm when it is reddish and cool when it is bluish, which is the reverse of what the physicists would say about the temperature of the source.",
            "The arrival of cheap white light made many people feel that their homes had become offices, and they went looking for warmer lamps.",
        ],
    ),
    (
        "On Reading at Night",
        [
            "Of all the things people did by artificial light, reading is the one that left the most traces, in diaries and in the margins of books.",
            "Reading by a single candle was slow and tiring, and many readers read aloud so that the whole family could share the light.",
            "The cheap evening newspaper depended on cheap light as much as on cheap paper.",
        ],
    ),
    (
        "On Work after Dark",
        [
            "Cheap light did not only lengthen the evening; it lengthened the working day.",
            "Factory owners who could light a mill could keep it running through the winter evenings, and many did.",
            "The night shift, which now seems ordinary, was once a startling idea that needed a great deal of light.",
        ],
    ),
    (
        "On Keeping a Lamp",
        [
            "A lamp is never finished; it has to be kept, and keeping it was work that fell mostly to women and children.",
            "Trimming wicks, cleaning chimneys and carrying fuel took up a surprising share of the day in a well-lit house.",
            "When electric light removed that work, it also removed a small evening ritual that some people missed.",
        ],
        OIL,
    ),
    (
        "On Small Lights",
        [
            "Today the typical lamp is a chip smaller than a grain of rice, and we are surrounded by hundreds of them.",
            "The standby light on a television, the glow of a charger and the screen of a phone are all lamps in their own way.",
            "It may be that the most important lighting question of our time is not how to make light but when to turn it off.",
        ],
        SMALL,
    ),
]

LEX.update(
    lexicon(
        {
            "observer_lc": """one diarist | a visiting physician | an old inventory | a housekeeping book |
                a surviving letter | a factory inspector | a traveller from the south | a parish account""",
            "verb_made_lc": "made from | burning | fed with | relying on",
            "era_lc": """in the seventeenth century | around 1780 | by the 1820s | before the railways |
                at the turn of the century | between the wars | within living memory""",
            "quality_cap": "A steady | A smoky | A generous | A meagre | A warm | A greenish | A harsh | An even",
            "who_thought_lc": "most households | the mill owners | shopkeepers | housekeepers | sailors | the clergy",
            "occasion": """Sundays | guests | the sickroom | Christmas | the best parlour | emergencies |
                reading aloud | church""",
        }
    )
)
