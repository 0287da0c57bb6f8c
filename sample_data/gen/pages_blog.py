"""Blog posts of the fictional Lumen Lamps site (original text written for this project).

WARM_LIGHT and WARM_LIGHT_REPUBLISHED are a planted near-duplicate pair: the second copy changes a few
sentences and has a different footer. HOLIDAY is rendered twice, with the blog theme and as an AMP page.
"""

from __future__ import annotations

from gen.site import Page

WARM_LIGHT_BODY = """
When the sun goes down, most of us switch on the same lights we used at noon. Our eyes and our sleep would
prefer something else. This post explains what colour temperature is, why warmer light in the evening is worth
trying and how to set it up without thinking about it every day.

## What colour temperature means

Colour temperature describes how warm or cool white light looks, and it is measured in kelvin. A candle flame
sits around 1900 kelvin, a traditional incandescent bulb around 2700 kelvin, and an overcast sky at midday
somewhere above 6000 kelvin. Lower numbers look orange and cosy; higher numbers look blue and alert.

## Why the evening is different

Light-sensitive cells in the eye react most strongly to the blue part of the spectrum. Bright, cool light late in
the evening tells the body that it is still daytime, which can push back the feeling of tiredness. Researchers
still argue about how large the effect is for ordinary room lighting, but there is broad agreement that dimmer
and warmer light in the hours before bed does no harm and makes rooms feel calmer.

## Three simple habits

1. After sunset, keep most lights below 3000 kelvin.
2. Use several low lamps instead of one bright ceiling light.
3. Save the cool, bright settings for tasks that need them, like cooking or repairing something small.

## Letting the lights do it for you

The Lumen app has a routine called Follow the sun. It shifts every light in a room from cool white in the morning
to warm white in the evening, using the sunrise and sunset times for your location. You can set limits, for
example never warmer than 2400 kelvin in the kitchen, and override the routine at any time with a switch or a
scene.

## A note on screens

Lamps are only part of the picture. Phones, tablets and laptops give off a good deal of blue light as well, and
most of them now have a night mode. Turning it on at the same time as your evening lighting routine makes the
whole house feel consistent.

We would love to hear how you light your evenings. Send us a photo of your living room at night and we may feature
it in a future newsletter.
"""

WARM_LIGHT_REPUBLISHED_BODY = (
    WARM_LIGHT_BODY.replace(
        "Our eyes and our sleep would\nprefer something else.",
        "Our eyes, and quite possibly\nour sleep, would prefer something gentler.",
    )
    .replace(
        "like cooking or repairing something small.", "like chopping vegetables or repairing something small."
    )
    .replace("Send us a photo of your living room", "Reply with a photo of your living room")
)

HOLIDAY_BODY = """
The darkest weeks of the year are also the ones when we spend the most time at home with other people. Good
lighting does a lot of quiet work at a dinner table, in a hallway full of coats or in a living room where three
generations are trying to agree on a film. Here are ideas from our team and from customers who sent us photos
last winter.

## Start with the table

Hang or place the brightest light directly above the table, dimmed to about sixty percent and set to a warm 2400
kelvin. Food looks better, faces look better and nobody squints. If the ceiling fitting is off-centre, a pair of
table lamps at each end works surprisingly well.

## Make the hallway welcoming

Guests usually arrive in the dark. A motion sensor in the hallway that brings the lights up to a soft level, rather
than full brightness, feels friendly instead of clinical. One customer in Tromsø uses a slow amber fade that lasts
ten seconds; her guests apparently comment on it every year.

## Window light without the cables

Strip Flex along the inside of a window frame gives a glow that is visible from the street without a tangle of
extension cords. Set it to a single steady colour rather than an effect. Flashing lights in windows are hard on
neighbours and, in some apartment buildings, against the house rules.

## Candles, real and otherwise

Nothing replaces a real flame, but real flames and children or cats do not always mix. Our Ember setting makes any
Aurora bulb flicker gently in a warm orange, with a random pattern so it never looks like a loop. Combine it with a
few real candles on the table and most guests cannot tell which is which.

## Save energy while you celebrate

- Put decorative lights on a schedule so they are never left on overnight.
- Use scenes with lower brightness; the difference between eighty and one hundred percent is hard to see but easy to pay for.
- Switch old incandescent fairy lights for LED ones. They use about a tenth of the power.

## Ideas from you

> We set the kitchen to a bright, neutral white while cooking and switch to the Fireside scene the moment we sit
> down. The kids call it dinner mode and now ask for it.

That note came from a family in Utrecht, and it sums up what we like best about lighting for the holidays: small
changes, chosen once, that make the evenings feel special without anyone having to think about them.
"""

WARM_LIGHT = Page(
    path="blog/why-warm-light-at-night.html",
    title="Why warmer light in the evening is worth a try",
    section="blog",
    template="legacy",
    charset="http-equiv",
    date="2022-11-14",
    author="Jonas Weber",
    body=WARM_LIGHT_BODY,
)

WARM_LIGHT_REPUBLISHED = Page(
    path="blog/why-warm-light-at-night-republished.html",
    title="Why warmer light in the evening is worth a try",
    section="blog",
    template="legacy",
    charset="http-equiv",
    date="2024-01-09",
    author="Jonas Weber",
    footer="syndicated",
    body=WARM_LIGHT_REPUBLISHED_BODY,
)

HOLIDAY = Page(
    path="blog/holiday-lighting-ideas.html",
    title="Lighting ideas for the long winter evenings",
    section="blog",
    template="legacy",
    charset="http-equiv",
    date="2023-12-04",
    author="Sofia Lindqvist",
    body=HOLIDAY_BODY,
)

HOLIDAY_AMP = Page(
    path="blog/amp/holiday-lighting-ideas.html",
    title="Lighting ideas for the long winter evenings",
    section="blog",
    template="amp",
    charset="meta",
    date="2023-12-04",
    author="Sofia Lindqvist",
    body=HOLIDAY_BODY,
)

BLOG = [
    Page(
        path="blog/spring-collection-2024.html",
        title="New for spring: Beam GU10 and a white-only Aurora",
        section="blog",
        template="legacy",
        charset="http-equiv",
        date="2024-03-04",
        author="Lena Hartmann",
        body="""
Two new lights join the range this spring, and both started as requests from customers.

## Beam GU10

Many kitchens and bathrooms use small GU10 spotlights in the ceiling, often six or eight of them. Until now you had
to choose between replacing them with our bulbs in new fittings or living without smart control in those rooms.
Beam GU10 fits the existing sockets, reaches 400 lumens and has the same colour range as the Aurora A19. We spent a
long time on the heat sink: a spotlight in a closed ceiling can get very warm, and a light that dims itself to
protect its electronics is not much use.

## Aurora A19 White

Not everyone wants colour. The new white-only Aurora keeps the full range from 2000 to 6500 kelvin, the smooth
dimming and the high colour rendering of the colour version, and costs seven euros less. It pairs with the same app
and the same hub, and you can mix both versions in one room without anyone noticing the difference in white.

## Availability

Both lights ship from 18 March in Europe and from early April in North America. Existing customers with an account
receive a ten percent discount code by email; it works once per household and can be combined with kit prices.

We also want to thank the members of our test group, who lived with prototype spotlights in their kitchens for four
months and sent us detailed notes about colour consistency, warmth and noise. Two of their suggestions, a softer
fade when switching off and a faster power-on time, are in the final firmware.
""",
    ),
    WARM_LIGHT,
    WARM_LIGHT_REPUBLISHED,
    Page(
        path="blog/factory-tour.html",
        title="Behind the scenes: a day at our assembly line",
        section="blog",
        template="legacy",
        charset="meta",
        date="2023-05-22",
        author="Lena Hartmann",
        body="""
Our lights are designed in Leipzig and assembled by a partner factory in northern Portugal that we have worked with
since our first product. Last month four of us from the design team spent a week there, and we want to share what a
day on the line looks like.

## 06:30, the first shift

The day begins with a short meeting at the whiteboard. Yesterday's yield, meaning the share of lamps that passed
every test on the first try, is written in large green numbers. On the day we arrived it was 98.6 percent. The team
lead, Rui, explained that anything below 97 means the line stops until the cause is found.

## Assembly

Each Halo Desk Lamp passes through nine stations. The most delicate is the one where the light ring is pressed into
the diffuser; too much force and the diffuser cracks, too little and it rattles. The operators can feel the
difference, but a sensor in the press also records the force for every single lamp so that problems can be traced
later.

## Testing

Every lamp is switched on in a dark cabinet where a spectrometer measures its brightness and colour at five points
between warm and cool white. The measurements are stored with the serial number. When a customer reports that one
lamp looks slightly different from another, our support team can look up both and see whether the difference is
real.

## What we changed after the visit

- The cable clip in the base was redesigned; operators had been bending it by hand to make it fit.
- Packaging now arrives flat in a different order, so boxes are folded closer to the end of the line.
- We added a second spectrometer station so testing no longer holds up the line at the end of a shift.

Visiting the people who build our products is one of the best parts of the job. It reminds us that every design
decision ends up in somebody's hands, thousands of times a day.
""",
    ),
    Page(
        path="blog/energy-savings.html",
        title="How much does a smart bulb really cost to run?",
        section="blog",
        template="legacy",
        charset="http-equiv",
        date="2023-02-06",
        author="Jonas Weber",
        body="""
Customers often ask whether smart bulbs save energy or waste it, since they are always listening for commands even
when they are off. Here is an honest calculation.

## Standby power

An Aurora A19 uses about 0.3 watts in standby. Over a whole year that adds up to roughly 2.6 kilowatt hours, which
at an electricity price of 35 cents per kilowatt hour costs about 90 cents. It is not nothing, and we are working to
reduce it further, but it is small compared to the savings below.

## Compared to older bulbs

The table assumes three hours of use per day and a price of 35 cents per kilowatt hour.

| Bulb | Power | Energy per year | Cost per year |
| Incandescent, 75 W | 75 W | 82 kWh | &euro;28.70 |
| Halogen, 53 W | 53 W | 58 kWh | &euro;20.30 |
| Compact fluorescent | 18 W | 20 kWh | &euro;7.00 |
| Aurora A19 at full brightness | 9.5 W + standby | 13 kWh | &euro;4.55 |
| Aurora A19, dimmed to 60% | about 5 W + standby | 8 kWh | &euro;2.80 |

## Where the real savings come from

The biggest difference is not the bulb itself but how it is used. Lights that turn off automatically when a room is
empty, schedules that stop the garden lights at midnight and a habit of dimming by default save far more than the
standby power costs. In our own homes, schedules and motion rules cut lighting energy by a third in the first year.

## What about the hub?

The Lumen Hub uses about 1.2 watts, around 10 kilowatt hours a year. Split across ten or twenty lights, it adds a few
cents per light. If you only have two or three lights and never use remote control, you may not need a hub at all.
""",
    ),
    Page(
        path="blog/customer-story-bakery.html",
        title="Customer story: the bakery that turned its lights down",
        section="blog",
        template="legacy",
        charset="http-equiv",
        date="2023-09-12",
        author="Sofia Lindqvist",
        body="""
Boulangerie Célestine sits on a corner in Lyon’s Croix-Rousse district, and for thirty years its shop front was lit
by the same harsh tubes. When Hélène Marchetti took over the bakery from her uncle, the lights were the first thing
she wanted to change — but the shop opens at six in the morning and closes at eight in the evening, and she wanted
lighting that suited both hours.

## From morning rush to evening calm

In the morning, the counter is lit in a bright, neutral white so customers can see the crust on every loaf. From
four in the afternoon the lights drift towards a warm, honey-coloured 2500 kelvin. “People stay longer for a café
crème in the evening,” Hélène says. “Before, the room felt like a waiting room. Now it feels like a kitchen.”

## The pâtisserie counter

The glass counter of pâtisseries was the hardest part. Cream and fruit glazes reflect light strongly, and cool
light made the crème brûlée look grey. Two Beam spotlights with a high colour rendering index, aimed at a low
angle, solved it. Her best seller, a tarte aux pralines, is now the first thing customers notice.

## Energy and costs

The old tubes used about 1,100 watts. The new installation, twelve bulbs, two spotlights and a strip along the
façade, uses 190 watts at full brightness and much less in the evening. Hélène estimates a saving of around
€600 a year, enough to pay for the lights in a little over two years.

## Noël and other occasions

At Christmas the façade strip glows a deep red, and on the day of the neighbourhood’s festival it changes to the
colours of the local football club. “The children ask what colour it will be next,” says Hélène. “I did not
expect my lights to become part of the bakery’s personality.”
""",
    ),
    HOLIDAY,
    HOLIDAY_AMP,
    Page(
        path="blog/maker-spotlight-sevilla.html",
        title="Maker spotlight: José Núñez and the paper lanterns of Sevilla",
        section="blog",
        template="legacy",
        charset="windows-1252",
        date="2023-04-17",
        author="Lena Hartmann",
        body="""
Every few months we feature someone who does something wonderful with light. This time we visited José Núñez, who
builds paper lanterns in a small workshop near the Alameda de Hércules in Sevilla, together with his partner, the
German industrial designer Jürgen Müller.

## A workshop full of paper

José learned the craft from his grandmother, who made lanterns for the city’s spring festival. “She used candles,
of course,” he says. “Every year a few lanterns caught fire. That was part of the show.” Today the workshop makes
about forty lanterns a month, each one folded by hand from mulberry paper that Jürgen imports from a mill in
Franconia.

## Why smart bulbs?

The lanterns are large, up to a metre across, and hang in restaurants, hotel lobbies and the occasional señora’s
patio. Customers wanted to change the mood without climbing a ladder. José tried several brands before settling on
Aurora bulbs: “The warm white at the bottom of the range is the only one that looks like a flame through the paper.
The others look like a cold office behind a curtain.”

## Design notes from Jürgen

- Paper changes colour: a lantern that looks neutral at 2700 K may look pink at 2200 K, so every design is tested
  at five temperatures.
- Heat matters even with LEDs. Each lantern has a small chimney at the top, a detail borrowed from the old candle
  designs.
- The bulb must be invisible. A diffuser cup inside the lantern hides the bright spot.

## Prices and orders

Small lanterns start at €85, and custom pieces for restaurants cost between €400 and €1,200 depending on size.
José’s advice for anyone starting a craft business: “Make fewer things, better. And never trust a candle.”

Muchas gracias, José y Jürgen — and danke schön for the café con leche.
""",
    ),
    Page(
        path="blog/fr/lancement-lumen-hub.html",
        title="Le Lumen Hub arrive en France",
        section="blog",
        template="modern",
        charset="meta",
        lang="fr",
        date="2023-10-02",
        author="Claire Dubois",
        body="""
Bonne nouvelle pour nos clients français : le Lumen Hub est désormais disponible dans notre boutique en ligne et chez
plusieurs revendeurs partenaires à Paris, Lyon et Bordeaux.

## Pourquoi un hub ?

Sans hub, chaque ampoule se pilote depuis votre téléphone en Bluetooth. Avec le hub, vos lumières restent
accessibles quand vous êtes loin de chez vous, vos programmations continuent de fonctionner même si votre téléphone
est éteint, et vous pouvez connecter jusqu’à soixante appareils.

## Installation en cinq minutes

Branchez le hub sur votre box internet avec le câble fourni, ouvrez l’application Lumen et suivez les étapes. Les
ampoules déjà appairées sont transférées automatiquement. L’application et la documentation sont entièrement
traduites en français.

## Prix et disponibilité

Le hub coûte 49 euros. Pendant le mois d’octobre, il est offert pour l’achat de trois ampoules Aurora. Notre équipe
d’assistance répond en français du lundi au samedi.
""",
    ),
]
