"""Product pages of the fictional Lumen Lamps shop (original text written for this project)."""

from __future__ import annotations

from gen.site import Page

PRODUCTS = [
    Page(
        path="products/index.html",
        title="The Lumen Lamps range",
        section="products",
        template="modern",
        charset="meta",
        date="2024-02-20",
        description="Compare Lumen Lamps smart bulbs, lamps, light strips, hubs and switches.",
        body="""
Every Lumen Lamps product speaks the same language. Bulbs, lamps and strips pair with the Lumen app over
Bluetooth for a quick start, and join the Lumen Hub over Zigbee when you want schedules, scenes and control
from outside the house. Nothing in the range needs a cloud account to switch on, and nothing stops working
if our servers are down for maintenance.

## Which light is right for you?

Start with the room rather than the product. A hallway that only needs to be bright for a minute at night
is well served by a single bulb and a motion rule. A study where you read for hours deserves a proper task
light with a diffuser that does not glare off the page. For the living room, most customers combine two or
three bulbs on a dimmer with a strip behind the television or along a shelf.

## The range at a glance

| Product | Type | Max brightness | Colour | Connects with | Price |
| Aurora A19 | E26/E27 bulb | 1100 lm | 16 million colours, 2000&ndash;6500 K | Bluetooth, Zigbee | &euro;24.90 |
| Aurora A19 White | E26/E27 bulb | 1100 lm | Warm to cool white | Bluetooth, Zigbee | &euro;17.90 |
| Beam GU10 | Spotlight | 400 lm | 16 million colours | Bluetooth, Zigbee | &euro;22.50 |
| Halo Desk Lamp | Task lamp | 650 lm | 2700&ndash;5000 K | Bluetooth, Zigbee | &euro;89.00 |
| Strip Flex 2 m | LED strip | 1600 lm per 2 m | 16 million colours | Zigbee | &euro;59.00 |
| Lumen Hub | Bridge | &ndash; | &ndash; | Zigbee 3.0, Ethernet, Wi-Fi | &euro;49.00 |
| Orbit Dimmer Switch | Wireless switch | &ndash; | &ndash; | Zigbee | &euro;29.00 |

## Starter kits

- **Living room kit**: three Aurora A19 bulbs, one Orbit Dimmer Switch and the Lumen Hub.
- **Reading corner kit**: a Halo Desk Lamp and one Aurora A19 White for the ceiling fitting.
- **Cinema kit**: Strip Flex 2 m with a 1 m extension and two Beam GU10 spots.

Kits cost about fifteen percent less than buying the parts on their own, and every part of a kit can be
returned separately within thirty days if it does not suit the room.

## Built to be repaired

Our lamps use standard sockets, replaceable diffusers and screws instead of glue. Spare parts for the Halo
Desk Lamp, including the arm springs and the USB-C charging board, are listed in the shop for at least seven
years after a model is discontinued.
""",
    ),
    Page(
        path="products/aurora-a19-bulb.html",
        title="Aurora A19 Smart Bulb",
        section="products",
        template="modern",
        charset="meta",
        date="2024-01-08",
        description="A bright, dimmable colour bulb for standard E26 and E27 sockets.",
        body="""
The Aurora A19 is the bulb most of our customers start with. It screws into any standard E26 or E27 socket,
reaches 1100 lumens, which is roughly what an old 75 watt incandescent gave, and dims smoothly down to one
percent without the hum or flicker that cheap smart bulbs are known for.

## Warm when you want it, crisp when you need it

White light runs from a candle-like 2000 kelvin to a daylight 6500 kelvin. The colour mode mixes red, green,
blue and two white channels, so pastel shades stay soft instead of looking washed out. A colour rendering
index above 90 means food, skin and wooden furniture look the way they should.

[img: The Aurora A19 in a pendant fitting above a kitchen table | /assets/img/products/aurora-a19-kitchen.jpg]

## Works with what you already have

- Pair it with your phone over Bluetooth in under a minute, no account needed.
- Add it to the Lumen Hub for schedules, routines and control when you are away.
- Use your existing wall switch: turn it off and on twice within two seconds to reset the bulb to warm white.
- Control it by voice through the assistants that support Zigbee lights.

## Technical data

| Property | Value |
| Socket | E26 (US) or E27 (EU), chosen at checkout |
| Power | 9.5 W at full brightness, 0.3 W on standby |
| Luminous flux | 1100 lm |
| Colour temperature | 2000&ndash;6500 K |
| Colour rendering | CRI &gt; 90 |
| Radios | Bluetooth Low Energy 5.0, Zigbee 3.0 |
| Rated life | 25,000 hours |
| Dimensions | 62 mm &times; 112 mm |
| Operating temperature | &minus;10 &deg;C to 40 &deg;C |

## In the box

One Aurora A19 bulb, a quick start card and a recycling envelope for your old bulb. We do not include a
paper manual; the full guide is in the app and on our support pages.

!note: The bulb is not suitable for fully enclosed outdoor fittings. Heat builds up in sealed glass globes and
shortens the life of the LEDs.

## Frequently asked

?: Can I use it with a traditional dimmer switch? || No. A phase-cut dimmer starves the bulb's electronics. Leave the wall switch on and dim from the app or an Orbit Dimmer Switch.
?: Does it remember its state after a power cut? || Yes. By default the bulb comes back at the brightness and colour it had before. You can change this to always-on-warm in the app.
""",
    ),
    Page(
        path="products/halo-desk-lamp.html",
        title="Halo Desk Lamp",
        section="products",
        template="shop",
        charset="http-equiv",
        date="2023-11-02",
        description="An adjustable task lamp with a glare-free diffuser and a circadian mode.",
        body="""
We designed the Halo Desk Lamp for people who work, draw or read at the same desk for hours. Its ring-shaped
head spreads light over a wide area without a bright spot in the middle, and the matte diffuser keeps
reflections off screens and glossy paper.

## A lamp that follows your day

In circadian mode the Halo starts the morning at a cool 5000 kelvin, eases towards neutral white in the
afternoon and settles at a warm 2700 kelvin after sunset. If you prefer to stay in charge, a touch strip on
the base sets brightness and colour temperature directly, and a long press stores your favourite setting.

## Details that matter at a desk

- Two-joint aluminium arm with friction hinges that hold their position without knobs.
- A USB-C port in the base that charges a phone at up to 15 W.
- A 1.8 m braided cable with an inline switch, because not everyone wants to reach for the app.
- Weighted base of 1.4 kg so the lamp does not tip when the arm is fully extended.

## Specifications

| Property | Value |
| Brightness | 650 lm at the head, 1000 lux at 40 cm |
| Colour temperature | 2700&ndash;5000 K |
| Arm reach | 52 cm |
| Power supply | 24 V, 18 W adapter included |
| Materials | Aluminium, recycled ABS, cotton-braided cable |
| Connectivity | Bluetooth Low Energy, Zigbee 3.0 |

## Care and repair

Wipe the diffuser with a dry microfibre cloth. The arm springs, the touch board and the power adapter are
sold as spare parts, and each can be replaced with a single screwdriver. Our repair videos walk through every
step, and we will send a replacement spring free of charge during the warranty period.
""",
    ),
    Page(
        path="products/strip-flex-2m.html",
        title="Strip Flex 2 m",
        section="products",
        template="shop",
        charset="meta",
        date="2023-09-15",
        description="A flexible colour LED strip that can be cut and extended up to ten metres.",
        body="""
Strip Flex is a two metre LED strip with an adhesive back, made for the places where a lamp does not fit:
behind a television, under kitchen cabinets, along a bookshelf or around the edge of a bed frame.

## Cut it, extend it, bend it

The strip can be cut every 10 cm at the marked copper pads. Anything you cut off after the last pad
cannot be reused, so measure twice. Add up to four 2 m extensions for a total of ten metres from one power
supply. Corner connectors are included so the strip can follow a shelf around a right angle without
folding.

## Setting it up

1. Clean the surface with the alcohol wipe in the box and let it dry.
2. Peel off a short length of backing and press the strip into place, working along the surface.
3. Plug the strip into the controller and the controller into the power supply.
4. Open the Lumen app, tap Add light and hold the controller button for five seconds.

## Effects that stay calm

The strip has 60 individually addressable zones per two metres. The app includes gentle gradients,
a sunrise simulation and a screen-matching mode through the Lumen Hub. We deliberately left out strobe
and fast colour cycling effects; they look impressive in a shop and become tiring within an evening.

| Property | Value |
| Length | 2 m, extendable to 10 m |
| Zones | 60 per 2 m |
| Brightness | 1600 lm per 2 m |
| Power | 24 V, 36 W supply included |
| Protection | IP20 (indoor use only) |
""",
    ),
    Page(
        path="products/lumen-hub.html",
        title="Lumen Hub",
        section="products",
        template="modern",
        charset="meta-upper",
        date="2024-03-01",
        description="The Zigbee bridge that connects up to 60 Lumen lights and switches.",
        body="""
The Lumen Hub is a small white box that connects your lights to each other and to your home network. You
do not need it to switch a bulb on from your phone, but you will want it once you have more than a few
lights or want them to react when you are not at home.

## What the hub adds

- Control of up to 60 lights, switches and sensors over Zigbee 3.0.
- Schedules and routines that run on the hub itself, even if your internet connection is down.
- Remote control through the app when you are away, with end-to-end encrypted sessions.
- A documented local API for developers, plus MQTT and webhooks.
- Firmware updates for all connected lights, applied overnight one light at a time.

## Setting it up

Plug the hub into your router with the included Ethernet cable, or use the Wi-Fi setup in the app if the
router is in another room. The light on the front turns solid green when the hub is ready. Pairing lights
that are already in the app takes a single tap: the app moves them from Bluetooth to Zigbee for you.

## Privacy by design

The hub keeps your schedules, scenes and device names locally. Remote access is optional and can be
switched off in the app; when it is off, nothing leaves your network except the daily check for new firmware,
and even that can be disabled if you prefer to update manually from a file.

## Specifications

| Property | Value |
| Radios | Zigbee 3.0, Wi-Fi 2.4 GHz, Bluetooth LE for setup |
| Wired network | 10/100 Ethernet |
| Devices | up to 60 |
| Power | USB-C, 5 V 1 A (adapter included) |
| Size | 90 &times; 90 &times; 26 mm |
""",
    ),
    Page(
        path="products/orbit-dimmer-switch.html",
        title="Orbit Dimmer Switch",
        section="products",
        template="shop",
        charset="none",
        date="2023-06-30",
        description="A battery-powered wireless dimmer that sticks to any wall.",
        body="""
The Orbit is a wireless dimmer switch that you can stick to a wall, screw over an existing switch plate or
simply leave on the coffee table. It runs for about three years on a single CR2032 coin cell and talks to
your lights through the Lumen Hub.

## Four buttons, many ideas

| Button | Short press | Long press |
| On | Last scene | Brightest white |
| Brighter | Step up 10% | Ramp up smoothly |
| Dimmer | Step down 10% | Ramp down smoothly |
| Off | All lights in the room off | All lights in the house off |

Each button can be reassigned in the app, so the top button could start your reading scene in the study and
a movie scene in the living room.

## Mounting

The back plate comes with a removable adhesive pad and two screws. The switch itself attaches magnetically,
so you can take it off the wall and use it as a remote.

!tip: If you mount the Orbit over an existing wall switch, tape that switch in the on position first. Smart
bulbs need constant power to listen for commands.
""",
    ),
]
