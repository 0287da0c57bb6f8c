"""Book 4: "A River Almanac", a walker's year along the (fictional) river Wenn, month by month. Its text uses
typographic quotes, dashes and accented place names, so a file-wide wrong decoding would be visible; the
generator plants invalid UTF-8 bytes in the middle of it. Original text for this project."""

from __future__ import annotations

from gen.prose import lexicon

LEX = lexicon(
    {
        "village": """Aldermouth | Kessing | Old Ferry | Brackwater | Königsau | Saint-Maël | Lower Wenning |
            Hobb’s Weir | Thornby | Marl End | Great Osier | Fenwick Staithe""",
        "bank": "the north bank | the south bank | the towpath | the water meadows | the flood bank | the shingle spit",
        "bird": """a little egret | a sand martin | a dipper | a pair of mallards | a heron | a pair of swans | a kingfisher | the first swallows | a flock of lapwings | a grey wagtail |
            a cormorant | two great crested grebes | a barn owl | a marsh harrier | a crowd of fieldfares |
            a single curlew""",
        "bird_act": """stood motionless in the shallows | flew low over the water | fished below the weir |
            argued on the mud | sat hunched on a post | quartered the reed beds | rose from the stubble |
            dived and came up empty-beaked | called from somewhere out of sight""",
        "plant": """the alders | the crack willows | the reeds | the meadowsweet | the flag irises | the water mint |
            the hawthorn hedges | the purple loosestrife | the lesser celandine | the marsh marigolds |
            the old poplars | the hemp agrimony""",
        "plant_state": """were bare and dark against the sky | had begun to show green | were in full flower |
            smelled sweet in the warm air | had gone to seed | were rattling in the wind | stood knee-deep in flood water |
            had turned the colour of rust | were furred with frost""",
        "water": """The river | The Wenn | The water | The current | The stream below the weir | The backwater""",
        "water_state": """ran high and brown | was low and clear over the gravel | moved slowly, almost without sound |
            had spilled over the meadows | was glassy in the early light | was flecked with foam from the weir |
            carried whole branches past the bridge | lay smooth as pewter | was loud after the night’s rain""",
        "boat": """a narrow boat | the ferry | a rowing eight | a fisherman’s punt | a barge loaded with gravel |
            a canoe | the ferryman’s dinghy | a little sailing dinghy""",
        "boat_act": """came slowly upstream | was tied up by the lock | drifted past with nobody at the oars |
            waited on the far bank | turned in the wide pool | scraped over the shallows""",
        "person": """the lock keeper | an old man with a dog | two children with a net | the ferryman | a painter with an easel |
            the woman who keeps bees at Marl End | a party of walkers | the vicar of Thornby | an angler |
            a farmer checking fences | a birdwatcher with a telescope | the postman on his bicycle |
            a girl riding a grey pony | the miller’s widow | a surveyor from the water board""",
        "person_act": """nodded without speaking | talked about the weather for longer than expected |
            pointed out a heron I had missed | complained about the new footbridge | offered me an apple |
            was asleep on a bench | knew the name of every bend | asked whether I had seen {bird_lc} |
            told me where the path was flooded | warned me about the bull in {village} meadow |
            remembered the great flood of {year}""",
        "year": "1947 | 1968 | 1982 | 1953 | 2000 | 1929",
        "sky": """a pale, washed sky | low cloud | a sky full of racing cumulus | a hard blue sky | mist |
            a long pink sunset | thin sunshine | steady drizzle | a sky the colour of slate""",
        "walk_verb": "walked | followed the river | crossed | went on | turned off | climbed | waded | wandered",
        "direction": """upstream | downstream | along the towpath | over the footbridge | through the water meadows |
            past the old mill | across the plank bridge | up onto the flood bank""",
        "distance": "a mile | two miles | half a mile | three miles | a short way | most of the morning",
        "time": """Early in the morning | At first light | Around noon | In the late afternoon | Towards evening |
            On the first day of the month | Halfway through the month | On a Sunday | After a week of rain |
            On the shortest day | On a still evening""",
        "sound": """the weir | a cuckoo | the wind in the poplars | cattle | the church bell at Kessing | a tractor |
            the sluice gates | rain on the water | geese passing over""",
        "note": """The almanac for the month promised | The old people at Kessing say | My notebook from last year says |
            The parish records mention | The lock keeper’s diary records | A sign at the ferry warns""",
        "note_claim": """that the river is always highest in the week after the full moon |
            that an early kingfisher means a dry summer | that the ferry has never once closed for ice |
            that the eels run on the darkest nights | that nobody has drowned at Hobb’s Weir in a century |
            that the meadows flood one year in three | that swans pair for life and quarrel for most of it""",
        "feeling": """content | cold and happy | a little lost | tired but pleased | restless | peaceful | soaked""",
    }
)

TEMPLATES = [
    "{time}, I {walk_verb} {direction} from {village} for {distance}.",
    "{water} {water_state}.",
    "Near {village}, {bird} {bird_act}.",
    "On {bank}, {plant} {plant_state}.",
    "{boat} {boat_act}.",
    "At {village} I met {person}, who {person_act}.",
    "Over the river hung {sky}.",
    "The only sound was {sound}, and then not even that.",
    "{note} {note_claim}.",
    "By the time I reached {village}, I was {feeling}.",
    "Below {village}, {water_state_lc}",
    "{time}, {bird} {bird_act}.",
    "{plant} along {bank} {plant_state}.",
    "From {bank} I could hear {sound} and, further off, {sound}.",
    "{person} at {village} {person_act}.",
    "Between {village} and {village} the river {water_state_short}.",
    "{time}, {boat} {boat_act} near {village}.",
    "I sat on {bank} for a while — {sky} overhead — and felt {feeling}.",
    "“{quote},” said {person}.",
    "Someone had written “{scrawl}” on the lock gate at {village}.",
    "{animal} {animal_act}.",
    "Just past {village}, {animal} {animal_act}.",
    "{light} {light_act}.",
    "{weather_event}, and I {walk_verb} on regardless.",
    "I ate {food} on {rest_place} and watched {bird_lc}.",
    "Beyond {village}, {building} {building_state}.",
    "{time}, {building} {building_state}.",
    "{plant} by {building} {plant_state}.",
    "I stopped at {rest_place} — {water_lc} {water_state} — and listened to {sound}.",
    "{weather_event}.",
    "On {bank} below {village}, {animal} {animal_act}.",
]

LEX.update(
    lexicon(
        {
            "bird_lc": """a heron | the swans | a kingfisher | the swallows | the lapwings | a wagtail | a cormorant |
                the grebes | a marsh harrier | the fieldfares | a curlew""",
            "water_lc": "the river | the Wenn | the water | the current",
            "water_state_lc": """the water ran high and brown. | the river was low and clear over the gravel. |
                the current moved slowly, almost without sound. | the water lay smooth as pewter. |
                the stream was loud after the night’s rain.""",
            "water_state_short": """ran fast | idled | widened into shallows | narrowed between steep banks |
                ran brown with silt | shone like tin""",
            "quote": """You should have seen it last winter | The fish are all downstream this week |
                Mind the cattle by the stile | It’ll rain by four | Nobody uses the old ferry steps now |
                The swans were here before any of us | There used to be a mill on every bend""",
            "animal": """an otter | a water vole | a fox | a hare | a roe deer | a family of stoats | a mink |
                a grass snake | a shoal of minnows | a pike | two young rabbits | a badger""",
            "animal_act": """slipped into the water | crossed the path ahead of me | watched me from the reeds |
                vanished into a hole in the bank | lay basking on a stone | hung motionless in the current |
                bolted across the meadow | sniffed at the air""",
            "light": """The light | The low sun | The morning light | The evening light | Moonlight | The winter sun""",
            "light_act": """caught the tops of {plant} | turned the water to {metal} | lay flat across {bank} |
                picked out every ripple | made long shadows of {plant} | slanted through {plant}""",
            "metal": "copper | brass | silver | pewter | gold | tin",
            "weather_event": """A shower came over from the west | The wind swung round to the north |
                A thunderstorm grumbled beyond {village} | Hail rattled on the water for a minute |
                The mist lifted all at once | A rainbow stood over {village} | The first frost whitened {bank}""",
            "food": """bread and cheese | an apple and a flask of tea | a pork pie | soup from a flask |
                sandwiches gone soggy | a bag of plums | a slab of fruit cake""",
            "rest_place": """a fallen willow | the lock gates | a stile | the ferry steps | the parapet of the bridge |
                an upturned boat | a dry bank of thistles""",
            "building": """the mill | the old pumping station | the lock cottage | the ferry hut | the boathouse |
                the chapel at {village} | a barn with no roof | the eel traps""",
            "building_state": """was shuttered and silent | had a new coat of paint | was half hidden by nettles |
                had smoke rising from its chimney | had lost more of its roof | looked exactly as it had last year""",
            "scrawl": """Wenn rises, Wenn falls | Ferry closed till Easter | Eels ate my sandwich |
                M. loves the river | High water 1947 | Keep gates shut""",
        }
    )
)

MONTHS = [
    (
        "January",
        [
            "The year on the Wenn begins in mud, and I began it at Aldermouth, where the river meets the estuary and smells of both."
        ],
    ),
    (
        "February",
        [
            "In February the water meadows below Kessing become a lake, and the only way along the valley is the old flood bank."
        ],
    ),
    (
        "March",
        [
            "March brought the first warm day and, with it, every walker in the county, all of us blinking at the sun like moles."
        ],
    ),
    (
        "April",
        [
            "The lock keeper at Hobb’s Weir told me that April is the month the river forgives you for the winter."
        ],
    ),
    (
        "May",
        [
            "In May the towpath disappears under cow parsley, and walking it is like wading through a pale green sea."
        ],
    ),
    (
        "June",
        [
            "June evenings on the Wenn are long enough to walk from Thornby to Königsau after supper and still see the way home."
        ],
    ),
    (
        "July",
        [
            "The river was lower in July than anyone at Old Ferry could remember, and the gravel bars stood out like the backs of fish."
        ],
    ),
    (
        "August",
        [
            "August belongs to the children of Saint-Maël, who build dams of stones across the shallows and are furious when the river ignores them."
        ],
    ),
    (
        "September",
        [
            "In September the light changes before the weather does; the shadows of the poplars lengthen across the meadows a little more each day."
        ],
    ),
    (
        "October",
        [
            "October is the month of mists, and some mornings I walked for an hour without seeing the water that I could hear beside me."
        ],
    ),
    (
        "November",
        [
            "The first flood of the winter came in November, and the Wenn took back its meadows as if it had only lent them to us."
        ],
    ),
    (
        "December",
        [
            "On the shortest day I walked from Great Osier to Fenwick Staithe, and it was dark again before I had finished my sandwiches."
        ],
    ),
]

ADJECTIVES = """muddy narrow quiet winding grey green overgrown flooded sunlit misty empty shallow reedy still
    brown distant crumbling""".split()
NOUNS = set(
    """river water towpath meadows bank banks weir bridge footbridge lock ferry mill stile path shallows pool
    reeds willows alders hedges fields sky current backwater gravel mud spit gates village church""".split()
)
