"""Book 1: "The Lamplighter of Harrowgate", a short novel about the last lamplighter of a harbour town, and
the raw material of "Letters from Carrow Point" (the truncated .txt.gz). Original text for this project."""

from __future__ import annotations

from gen.prose import lexicon

LEX = lexicon(
    {
        "char": """Tobias | old Tobias Wren | the lamplighter | Ada | Ada Wren | the lamplighter's niece | Mr. Pell |
            the harbourmaster | Mrs. Oakes | the widow Oakes | Jory Penhale | young Jory | Miss Fenwick |
            the schoolmistress | Mr. Calloway | the engineer from the city | Father Amos | the curate |
            Nell Tregear | the baker's daughter | Captain Rusk | the pilot's wife | Sam Hollis the cooper |
            the carter's boy""",
        "time": """At dusk | Before the first lamp was lit | Late in the afternoon | When the tide turned |
            Long after midnight | In the grey hour before dawn | On the evening of the fair |
            By the time the church clock struck {hour} | As the fog came in | In the last week of {month} |
            On a {weekday} in {month} | Just after the boats came home | While the bells rang for evensong |
            Some time after supper | Before the market carts arrived | On the first dry night in {month} |
            Towards the end of the {shift} round | When the wind dropped""",
        "hour": "five | six | seven | eight | nine | ten | eleven",
        "month": "October | November | December | January | February | March",
        "weekday": "Monday | Tuesday | Wednesday | Thursday | Friday | Saturday",
        "shift": "evening | morning | long | second",
        "place": """the quay | the chandlery on Gull Street | the Anchor | the chapel steps | the market square |
            the gasworks yard | Carrow Point | the rope walk | the harbour wall | the lane behind the customs house |
            the schoolroom | the cooper's yard | the fish market | the top of Bell Hill | the slipway |
            the old coaching inn | the bridge over the Leat | Tanner's Row | the foot of the breakwater |
            the churchyard gate | the net lofts | the pilot station | Mill Cross | the lower green""",
        "go": "walked | hurried | climbed | wandered | went | trudged | strolled | ran | drifted | picked a way",
        "carrying": "carrying | with | clutching | balancing | dragging | holding | shouldering",
        "object": """the long brass pole | the oil can | the wick trimmer | the ledger of lamps | the short ladder |
            a tin of matches | a hooded lantern | the ring of keys | a basket of clean glasses | a coil of tarred rope |
            a loaf wrapped in paper | the new timetable | a bundle of letters | a jar of lamp black |
            the chimney brush | a borrowed umbrella | a parcel from the city | a pail of sand""",
        "weather": """a thin rain | a hard wind off the water | a bank of yellow fog | frost | a low orange moon |
            heavy cloud | a fine, needling sleet | the first clear sky in a week | a soft mist from the marshes |
            a sharp easterly | warm, wet air from the south | a smell of snow | drizzle""",
        "weather_verb": """hung over | settled on | drifted across | swept along | lay over | pressed down on |
            crept up to | blew across | clung to | rolled over""",
        "sound": """the clank of a chain | water slapping the steps | a dog barking | gulls | a fiddle |
            a mooring rope creaking | a cart rattling | voices | the bell on the harbour buoy | the hiss of the gas |
            somebody singing off key | hammering | the scrape of a boat being hauled up | a door banging""",
        "adj_light": """a steady yellow | a pale, uncertain | a warm amber | a thin blue | a generous golden |
            a flickering orange | a hard white | a soft, honey-coloured | a tired brown | a bright and even""",
        "light_subj": """the lamp at the corner | the new electric globe | the harbour light | every window on Gull Street |
            the lantern on the pilot boat | the lamp above the chandlery door | the great lens at Carrow Point |
            the gas jets in the square | the lamp by the chapel | the lamps along the breakwater""",
        "feeling": """tired | uneasy | oddly cheerful | restless | thoughtful | proud | cold to the bone | hopeful |
            quietly angry | wide awake | foolish | lonely | content""",
        "reason": """nothing had gone wrong | the work was nearly done | supper was waiting | the rain had stopped |
            nobody had said a cross word | the lamps were all burning | the glasses were clean for once |
            there was no reason to be | the wind had turned kinder""",
        "speech": """You'll want the east lamps done first | Mind the glass, it cracked last winter |
            Nobody ever thanked a man for a lamp that behaves | I'd sooner have an honest flame than a humming wire |
            They'll have the whole quay lit from one switch by spring | Leave that ladder where it stands |
            There's tea in the pot if you're quick | The fog won't lift before morning |
            My father lit these streets and his father before him | Don't let the harbourmaster see you running |
            The city men talk as if darkness were a disease | A lamp is only as good as its wick |
            Count them twice, it costs nothing | You're late, and the Anchor's lamp is smoking |
            Wires break too, you know | Someone has to see the boats home""",
        "said": "said | muttered | called | answered | laughed | insisted | whispered | grumbled | remarked",
        "gesture": """without looking up | wiping {possessive} hands | with a shrug | nodding towards the water |
            half to {reflexive} | as the rain began | pulling a collar up | leaning on the rail |
            with the ghost of a smile | already turning away""",
        "possessive": "both | cold | wet | oily | chapped",
        "reflexive": "anyone listening | the wind | nobody in particular | the lamp",
        "belief": """a clean glass was worth two new wicks | the sea could smell a careless man |
            the town was kinder after dark | every lamp had a temper of its own |
            a lamp left dark was a promise broken | nothing good was ever decided in a hurry |
            the harbourmaster was honest but slow | the city would forget Harrowgate before long""",
        "noticed": """the smoke rising from the Anchor's lamp | a boat without lights | the crack in the third glass |
            the smell of gas near the square | the new posts along the quay | a stranger on Bell Hill |
            that the tide was higher than the almanac said | the cart from the railway""",
        "number": "eleven | fourteen | seventeen | nineteen | twenty-two | twenty-six | thirty | thirty-one",
        "lamp_state": """burning clean | smoking a little | guttering in the wind | as bright as a new coin |
            steady behind its glass | in need of trimming | brighter than the night before""",
        "smell": """tar | wet rope | frying fish | coal smoke | salt | new bread | paraffin | seaweed | wood smoke""",
        "smell_comment": """as there always was at that hour | which meant the wind had shifted |
            thick enough to taste | mixed with something sweeter | the smell of the whole town at once""",
        "shared": """talked about the weather | shared a pipe | said very little | argued about the new wires |
            watched the boats | exchanged the news | stood in silence | compared their troubles""",
        "gossip": """the engineer's plans | the price of oil | the wreck off the Point | the curate's sermon |
            Jory's new boat | the council meeting | the railway timetable | the cost of the new posts""",
        "period": "week | evening | winter | month | Sunday | morning",
        "light_verb": """flared and settled | came on with a click | wavered | burned steadily | went out |
            caught at the second match | hummed | glowed""",
        "light_clause": """throwing long shadows across the cobbles | and the puddles turned to gold |
            making the wet stones shine | while the sky behind it darkened | as if it had never been away |
            so that the whole lane seemed to lean towards it | but the far end of the quay stayed dark""",
        "workers": """the fishermen | two boys | the net menders | the coopers | a line of women | the carters |
            the customs men | the pilots | the masons from Exley""",
        "work_activity": """were mending nets by lantern light | unloaded the last of the herring |
            rolled barrels up the slipway | argued over a torn sail | stacked crates against the wall |
            dug holes for the new posts | scraped the hull of an upturned boat | counted baskets""",
        "surface": "the glass | the brass collar | the reflector | the lens | the chimney | the hood",
        "cloth": "a rag | the hem of a coat | a square of chamois | a handful of newspaper | a sleeve",
        "small_action": """held it up to the sky | breathed on it and wiped again | set it back with care |
            frowned at a smear | moved on to the next | whistled a tune from the fair""",
        "future": """the wires came | the last lamp was taken down | the city men had gone home |
            the new lights failed | the sea came over the wall | the council ran out of money""",
        "thing": "the old lamps | the lamplighter's pole | the ledger | the evening round | the little brass keys",
        "sky": """the first stars came out one at a time | a gull hung motionless in the wind |
            the clouds parted over the headland | the light from Carrow Point swept round |
            the smoke of a hundred chimneys leaned east | the moon sat on the edge of the hill""",
        "thought": """the winters of long ago | the letter from the council | the price of a new ladder |
            the boats still out | the way the lamps used to look | the engineer's careful drawings |
            the schoolroom and its bright windows | what the town would look like in ten years""",
        "reaction": """smiled without meaning to | felt the cold more than before | quickened the pace |
            put the thought away for later | said nothing at all | laughed at the foolishness of it""",
        "nobody": """Nobody in Harrowgate could say when | Not even the oldest pilot remembered when |
            The church records did not say when | It was a mystery to the whole town when |
            Even the widow Oakes could not say when""",
        "memory": """the lamps had first been lit | the breakwater was built | the harbour light had failed |
            the gasworks had last been painted | the quay had been so quiet""",
        "window": """a lamp burned in the schoolroom | a child watched from a window | curtains moved |
            a face appeared at an upper window | someone was playing cards by candlelight""",
        "opening": """For a while | Afterwards | That night | In the morning | Not long after | Later |
            Meanwhile | For once | All the same | Even so""",
    }
)

TEMPLATES = [
    "{time}, {char} {go} to {place}, {carrying} {object}.",
    "{time}, {weather} {weather_verb} {place}.",
    "{weather} {weather_verb} {place}, and {light_subj} gave {adj_light} light.",
    "From {place} came {sound}, and {char} stopped to listen.",
    '"{speech}," {said} {char}, {gesture}.',
    '"{speech}," {char} {said}.',
    "{char} had always believed that {belief}.",
    "{nobody} {memory}.",
    "It was {char} who noticed {noticed} first.",
    "Between {place} and {place} there were {number} lamps, each one {lamp_state}.",
    "There was a smell of {smell} in the air, {smell_comment}.",
    "{char} felt {feeling}, though {reason}.",
    "Near {place}, {char} met {char}, and the two of them {shared}.",
    "The talk at {place} that {period} was all of {gossip}.",
    "{light_subj} {light_verb}, {light_clause}.",
    "Down at {place}, {workers} {work_activity}.",
    "{char} wiped {surface} with {cloth} and {small_action}.",
    "What would become of {thing} once {future}?",
    "Above the town, {sky}.",
    "{char} thought of {thought}, and {reaction}.",
    "{opening}, {char} {go} back towards {place}.",
    "{opening}, {sound} could be heard from {place}.",
    "In {place}, {window}.",
    "{opening}, {char} stood by {place} and watched {light_subj}.",
    "{char} {go} past {place} {carrying} {object}, feeling {feeling}.",
    "{time}, {light_subj} {light_verb}.",
    "{workers} at {place} {work_activity}, and {char} {shared} with them.",
    "{char} said afterwards that {belief}.",
    "{opening}, {weather} {weather_verb} the roofs of {place}.",
    "When {char} reached {place}, {light_subj} was already {lamp_state}.",
    "{char} set down {object} beside {place} and {small_action}.",
    "Somewhere near {place}, {sound} started up and stopped again.",
]

# Hand-written sentences that carry the story, woven into each chapter's generated paragraphs.
CHAPTERS = [
    (
        "The Lamp on the Quay",
        [
            "Tobias Wren had lit the lamps of Harrowgate for forty-one years, and in all that time he had missed only one evening, the night his daughter was born.",
            "The town kept one hundred and twelve lamps, and he knew each of them the way a shepherd knows his sheep: by its faults.",
            "The lamp at the end of the quay was the oldest, and the one the fishermen looked for when they rounded the breakwater in bad weather.",
            "His niece Ada had come to live with him that autumn, after her mother's illness, and she followed him on his rounds because there was nothing else to do in the evenings.",
        ],
    ),
    (
        "The Engineer Arrives",
        [
            "Mr. Calloway came on the Tuesday coach with two trunks, a roll of drawings and a wooden case that he would let nobody else carry.",
            "He had been sent by the electric company to survey the town, and he said so to anyone who asked and to several people who did not.",
            "At the council meeting he spread his drawings across the table and showed how a single station by the gasworks could light every street from the chapel to the Point.",
            "Tobias listened from the back of the room with his cap in his hands and did not say a word.",
        ],
    ),
    (
        "Ada Learns the Round",
        [
            "Ada learned that the round began at the chapel and ended at the quay, because the fishermen's wives liked to see the harbour lamp lit last, as a kind of promise.",
            "She learned to trim a wick square so that the flame stood up without smoking, and to tell by the colour of a flame whether the oil had been watered.",
            "Tobias let her carry the pole on the flat streets but never on Bell Hill, where the cobbles were slick and the drop to the lane was steep.",
            "By the end of the month she could do the upper town alone, and she was prouder of it than of anything she had learned at school.",
        ],
    ),
    (
        "The Council Votes",
        [
            "The council voted five to three to accept the company's offer, on the condition that the old lamps stay lit until the new ones had proved themselves through a winter.",
            "Mrs. Oakes, who had buried a husband and two sons at sea, stood up at the back and asked who would answer for the boats if the wires failed in a storm.",
            "Mr. Calloway answered politely that the wires would not fail, and several people noticed that he did not quite look at her when he said it.",
        ],
    ),
    (
        "Posts Along the Harbour",
        [
            "The masons from Exley arrived in January and began setting iron posts along the harbour wall, one every thirty paces.",
            "Jory Penhale, who had just bought his first boat, complained that the posts were exactly where he liked to dry his nets.",
            "Ada counted the posts every evening and wrote the number in the back of her uncle's ledger, under the list of lamps, without quite knowing why.",
        ],
    ),
    (
        "A Night of Fog",
        [
            "The fog came in on the ninth of February, so thick that a man could not see his own boots.",
            "Three boats were still out, Jory's among them, and the whole town seemed to gather on the quay without anyone having called it together.",
            "Tobias lit the harbour lamp an hour early and then did something nobody had seen him do before: he lit a second lantern and climbed with it onto the breakwater.",
            "The boats came in one by one, steering for the two small lights, and the last of them was Jory's.",
        ],
    ),
    (
        "The Station by the Gasworks",
        [
            "The generating station was finished in March, a brick building with tall windows and a chimney taller than the church tower.",
            "Mr. Calloway invited the schoolchildren to see the machines, and Miss Fenwick brought them in pairs, holding hands, into the warm and humming hall.",
            "Ada stood in front of the great wheel for a long time and afterwards could not decide whether she had liked it or been frightened of it.",
        ],
    ),
    (
        "First Light",
        [
            "The new lights were switched on at seven in the evening on the first of April, and the town turned out in its Sunday clothes to watch.",
            "At the signal the whole quay jumped into a white brightness so sudden that a horse shied and a child began to cry.",
            "People cheered, and then, strangely, they went quiet, as if they had expected the brightness to be warmer than it was.",
            "Tobias lit the old harbour lamp as usual, twenty minutes later, and nobody remarked on it except Ada, who squeezed his hand.",
        ],
    ),
    (
        "The Storm in October",
        [
            "The storm that autumn was the worst in thirty years, and on the second night a pole came down across the line near Mill Cross.",
            "In a moment every electric lamp in Harrowgate went out, and the only lights left in the town were candles in windows and the oil lamps that Tobias had kept burning.",
            "Mr. Calloway worked through the night with two linesmen, soaked to the skin, and nobody could say afterwards that he had not done all a man could do.",
            "In the morning he came to the lamplighter's cottage, sat down at the kitchen table without being asked, and accepted a cup of tea.",
        ],
    ),
    (
        "An Agreement",
        [
            "What the engineer and the lamplighter said to each other that morning was never written down, but by the following week the council had a new proposal before it.",
            "The harbour lamp and the lamps on the breakwater would stay on oil, for the boats, and would be tended as they always had been.",
            "Tobias would be paid a small sum each year to keep them, and, when he could no longer climb, the duty would pass to whoever he chose.",
        ],
    ),
    (
        "Miss Fenwick's Lesson",
        [
            "Miss Fenwick asked Ada to speak to the school about the old lamps, and Ada, who had never spoken in front of more than three people, agreed before she could think better of it.",
            "She brought the pole, the trimmer and a clean glass, and showed the younger children how a flame needs air from below and a chimney above.",
            "At the end a small boy asked whether the lamps were sad now that the wires had come, and Ada said she thought they were only resting.",
        ],
    ),
    (
        "The Last Round",
        [
            "Tobias made his last full round on the evening before his seventieth birthday, with Ada walking beside him and carrying the pole.",
            "At the end of the quay he handed her the ring of little brass keys and told her that the harbour lamp was hers now, and the ledger with it.",
            "She lit the lamp while he watched, and out beyond the breakwater a fishing boat answered with a lantern raised and lowered twice.",
            "Then the two of them walked home slowly through the white electric streets, and neither of them said anything, because there was nothing that needed saying.",
        ],
    ),
]

LETTER_CHAPTERS = [
    (
        "First Letter",
        [
            "I promised to write every week, and so here is the first of my letters from the cottage at Carrow Point.",
            "My uncle says the lamp at the Point has not missed a night in eighty years, and I am determined it will not miss one because of me.",
        ],
    ),
    (
        "Second Letter",
        [
            "The engineer's station hums all night now, and I have stopped hearing it, which Uncle says is how one knows a sound has come to stay.",
            "You asked what the boats look for; they look for a yellow light, low down, that moves a little in the wind.",
        ],
    ),
    (
        "Third Letter",
        [
            "We had a visitor from the lighthouse board who measured the lamp with a brass instrument and wrote the number in a little book.",
            "He asked whether I was the keeper, and I said yes before I had time to be shy about it.",
        ],
    ),
    (
        "Fourth Letter",
        [
            "The winter has been hard and the oil is dear, but the council paid our sum in full and on time, which Uncle says is a small miracle.",
            "I have started teaching Nell Tregear to trim the wicks, in case I should ever fall ill.",
        ],
    ),
    (
        "Fifth Letter",
        [
            "It is spring at last and the gulls are nesting on the roof of the net loft, making a terrible noise from dawn onwards.",
            "I think of you often and wonder whether the city is as bright as everyone says.",
        ],
    ),
    (
        "Sixth Letter",
        [
            "Uncle Tobias is slower on the hill now, but he still comes down to the quay every evening to watch me light the lamp.",
            "He says he is checking my work, but I think he only likes to see it lit.",
        ],
    ),
]

ADJECTIVES = """battered narrow familiar crooked wet distant grey solitary rusty dim weathered salt-stained
    empty crowded sleepy draughty steep slippery quiet""".split()
NOUNS = set(
    """lamp lamps quay lantern glass wick boat boats street wall ladder pole chimney window harbour lane rope cart
    sky fog wind steps square yard inn bridge hill slipway breakwater gate lofts station green schoolroom
    chandlery market lens globe light""".split()
)
