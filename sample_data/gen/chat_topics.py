"""Customer-support conversation builders for the fictional Lumen Lamps (original text for this project).

Each scenario function takes a Ctx (random customer, order, product, phone, ...) and returns the list of
(role, content) messages after the optional system prompt. Messages are assembled from several independently
chosen parts, so two conversations about the same problem still differ in most of their wording.
"""

from __future__ import annotations

import random

FIRST = """Anna Ben Chloe Daniel Elif Farid Greta Hugo Ines Jonas Kofi Lara Mateo Nadia Oskar Priya Quentin Rosa
    Sven Tara Umar Vera Wim Xenia Yusuf Zoe Aiko Bruno Carmen Dmitri Esther Felix Giulia Hamid Ingrid Jakub
    Keiko Liam Maja Noah Olivia Pavel Ruth Samir Tomas Ulla Viktor""".split()
LAST = """Abbott Berger Castillo Dahl Eriksen Fischer Garcia Hoffmann Ito Jansen Kowalski Lindgren Moreau Novak
    Okafor Petrov Quinn Romano Schulz Tanaka Urban Varga Weber Yilmaz Zimmermann Brandt Costa Doyle Evans Ferreira
    Gruber Haas Iversen Juarez Keller Lambert Meyer Nilsen Ortiz Pohl""".split()
DOMAINS = ["example.com", "example.org", "example.net", "mail.example", "post.example"]
PRODUCTS = [
    ("Aurora A19 bulb", "bulb"),
    ("Aurora A19 White bulb", "bulb"),
    ("Beam GU10 spot", "bulb"),
    ("Halo Desk Lamp", "lamp"),
    ("Strip Flex 2 m", "strip"),
    ("Strip Flex extension", "strip"),
    ("Lumen Hub", "hub"),
    ("Orbit Dimmer Switch", "switch"),
]
PHONES = [
    "Pixel 7",
    "Pixel 8a",
    "iPhone 12",
    "iPhone 13 mini",
    "iPhone 15",
    "Galaxy S21",
    "Galaxy A54",
    "OnePlus 11",
    "Moto G54",
    "Xperia 10 V",
    "Fairphone 5",
    "Nothing Phone 2",
    "iPad Air",
]
CARRIERS = ["DHL", "DPD", "UPS", "GLS", "Royal Mail", "USPS", "Canada Post", "PostNL", "Hermes"]
CITIES = [
    "Leipzig",
    "Rotterdam",
    "Lyon",
    "Manchester",
    "Graz",
    "Bologna",
    "Aarhus",
    "Porto",
    "Boise",
    "Toronto",
    "Portland",
    "Ghent",
    "Krakow",
    "Dublin",
    "Uppsala",
    "Basel",
    "Denver",
    "Halifax",
]
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]
MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
ROOMS = [
    "living room",
    "kitchen",
    "hallway",
    "bedroom",
    "study",
    "kids' room",
    "bathroom",
    "garage",
    "office",
    "dining room",
    "landing",
    "porch",
]
AGENTS = ["Priya", "Tom", "Lena", "Marco", "Aisha", "Jon", "Sofie", "Daniel"]


_STARTERS = {
    "My",
    "How",
    "Can",
    "Is",
    "Do",
    "Which",
    "What",
    "Where",
    "Why",
    "Will",
    "Please",
    "The",
    "Our",
    "Checkout",
    "Payment",
    "Reset",
    "Error",
    "Flickering",
    "Update",
    "Pairing",
    "Hub",
}


class Ctx:
    """One customer and one order: the facts a conversation refers to."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.first, self.last = rng.choice(FIRST), rng.choice(LAST)
        sep = rng.choice([".", "_", "", "."])
        self.email = f"{self.first.lower()}{sep}{self.last.lower()}{rng.choice(['', '', str(rng.randint(1, 99))])}@{rng.choice(DOMAINS)}"
        self.order = f"LL-{rng.randint(1_000_000, 9_999_999)}"
        self.product, self.kind = rng.choice(PRODUCTS)
        self.product2 = rng.choice([p for p, _ in PRODUCTS if p != self.product])
        self.phone = rng.choice(PHONES)
        self.app = f"4.{rng.randint(9, 14)}.{rng.randint(0, 4)}"
        self.fw_old = rng.choice(["3.2.4", "3.3.0", "3.3.1", "3.4.0"])
        self.fw_new = "3.4.2"
        self.carrier, self.city = rng.choice(CARRIERS), rng.choice(CITIES)
        self.day = rng.choice(WEEKDAYS)
        self.date = f"{rng.randint(1, 28)} {rng.choice(MONTHS)}"
        self.count = rng.randint(2, 9)
        self.room = rng.choice(ROOMS)
        self.agent = rng.choice(AGENTS)
        self.price = rng.choice(
            ["24.90", "17.90", "22.50", "89.00", "59.00", "49.00", "29.00", "74.70", "119.00"]
        )
        self.cur = rng.choice(["€", "€", "€", "$", "£"])
        self.ticket = f"T-{rng.randint(100000, 999999)}"
        self.tracking = f"{rng.choice(['JD', '1Z', 'CP', 'RM'])}{rng.randint(10**9, 10**10 - 1)}"
        self.hub_id = f"hub-{rng.randint(0x1000, 0xFFFF):04x}"
        self.light_id = rng.randint(1, 24)

    def pick(self, options):
        return self.rng.choice(options)

    def maybe(self, text: str, p: float = 0.5) -> str:
        return text if self.rng.random() < p else ""

    def join(self, *parts: str) -> str:
        """Join message parts; a part that starts a sentence (first part, or after . ! ?) gets a capital."""
        out = ""
        for part in (p.strip(" ") for p in parts if p and p.strip()):
            first = part.split(" ", 1)[0]
            if (not out or out[-1] in ".!?") and part[0].islower():
                part = part[0].upper() + part[1:]
            elif out.endswith(",") and first in _STARTERS:
                part = part[0].lower() + part[1:]  # "Hi, how do I ..." rather than "Hi, How do I ..."
            out = part if not out else out + part if part.startswith("\n") else f"{out} {part}"
        return out

    @property
    def amount(self) -> str:
        return f"{self.cur}{self.price}"

    def hello_user(self) -> str:
        return self.pick(
            [
                "Hi,",
                "Hello,",
                "Hi there,",
                "Hey,",
                "Good morning,",
                "Hello!",
                "",
                "",
                "Hi team,",
                f"Hi, {self.first} here.",
                "Evening,",
            ]
        )

    def hello_agent(self) -> str:
        return self.pick(
            [
                f"Hi {self.first}, thanks for reaching out!",
                "Thanks for getting in touch.",
                "Hello, and thanks for your message.",
                f"Hi {self.first}!",
                "Happy to help with that.",
                "Thanks for contacting Lumen Lamps support.",
                f"Hi, this is {self.agent} from Lumen Lamps support.",
                "I'm sorry to hear that.",
                "",
                "Thanks for the details.",
            ]
        )

    def thanks(self) -> str:
        return self.pick(
            [
                "Great, thank you!",
                "Perfect, that worked. Thanks a lot.",
                "Thanks, that's all I needed.",
                "Brilliant, thanks for the quick help.",
                "OK, I'll try that tonight. Thanks!",
                "Got it, thank you.",
                "That solved it, cheers.",
                "Thanks, really appreciate it.",
                "Super, danke!",
                "ok thanks",
            ]
        )

    def bye(self) -> str:
        return self.pick(
            [
                "You're welcome! Enjoy your lights.",
                "Glad I could help. Have a lovely evening!",
                "Anytime. If anything else comes up, just reply to this chat.",
                "Happy to help, take care!",
                f"You're welcome, {self.first}. Have a great day!",
                "Great to hear. Enjoy the new setup!",
                "No problem at all. Feel free to write again if it comes back.",
            ]
        )


# --------------------------------------------------------------------------------------------- orders


def order_late(c: Ctx) -> list[tuple[str, str]]:
    user = c.join(
        c.hello_user(),
        c.pick(
            [
                f"I ordered a {c.product} on {c.date} and it still hasn't arrived.",
                f"my order {c.order} was supposed to arrive on {c.day} but nothing so far.",
                f"where is my order? It's been {c.count + 3} days since I paid.",
                f"the tracking for my parcel hasn't changed since {c.day}.",
            ]
        ),
        c.maybe(f"Order number is {c.order}.", 0.6),
        c.maybe(
            c.pick(
                [
                    "I need it for a birthday this weekend.",
                    "Not urgent, just want to know it isn't lost.",
                    f"I'm in {c.city} if that matters.",
                    "Could you check what's going on?",
                ]
            )
        ),
    )
    agent = c.join(
        c.hello_agent(),
        c.pick(
            [
                f"I've looked up order {c.order}. It left our warehouse on {c.day} and was handed to {c.carrier} with tracking number {c.tracking}.",
                f"Your parcel is with {c.carrier} (tracking {c.tracking}). Their system shows it at the regional depot near {c.city}.",
                f"Order {c.order} shipped on {c.date}. {c.carrier} reports a delay at their sorting centre, which is affecting many parcels this week.",
            ]
        ),
        c.pick(
            [
                "Deliveries from there usually take one or two more working days.",
                "It should be out for delivery within 48 hours.",
                "If it hasn't moved by Friday, I'll open an investigation with the carrier and send a replacement.",
                "You can follow it at https://track.example/" + c.tracking + ".",
            ]
        ),
    )
    msgs = [("user", user), ("assistant", agent)]
    if c.rng.random() < 0.6:
        msgs += [
            (
                "user",
                c.pick(
                    [
                        "Can you send it to my office instead? It's closer to the depot.",
                        "What happens if it's lost?",
                        "Is there any way to speed it up?",
                        "Can I pick it up from the depot myself?",
                    ]
                ),
            ),
            (
                "assistant",
                c.pick(
                    [
                        f"Once a parcel is with {c.carrier} we can't change the address ourselves, but you can redirect it through their website using the tracking number. If that fails, let me know and I'll ask them directly.",
                        "If the carrier confirms it's lost, we ship a replacement straight away at no cost. You don't need to wait for their investigation to finish.",
                        "I'm afraid we can't speed it up once it's in transit. I've added a note to the order, and if it's late again I'll refund the shipping cost.",
                        f"Yes, most {c.carrier} depots allow pickup with an ID and the tracking number. They'll hold it for seven days.",
                    ]
                ),
            ),
        ]
    return msgs


def order_address(c: Ctx) -> list[tuple[str, str]]:
    user = c.join(
        c.hello_user(),
        c.pick(
            [
                f"I just placed order {c.order} and realised I used my old address.",
                "Can I change the delivery address on an order I placed an hour ago?",
                f"I moved last week and the shop still had my old address saved. Order {c.order}.",
            ]
        ),
        c.pick(
            [
                f"The new one is {c.rng.randint(2, 140)} {c.pick(['Birch', 'Harbour', 'Mill', 'Station', 'Linden', 'Rose'])} {c.pick(['Street', 'Road', 'Lane', 'Avenue'])}, {c.city}.",
                "I can give you the new address here.",
                f"Please send it to {c.city} instead of the old flat.",
            ]
        ),
    )
    agent = c.join(
        c.hello_agent(),
        c.pick(
            [
                "Good timing: the order hasn't been packed yet, so I've updated the address.",
                "I've changed the address on the order. You'll get a new confirmation email in a few minutes.",
                "The order is still in the queue, so that's no problem. The address is updated.",
            ]
        ),
        c.maybe(f"The confirmation goes to {c.email}.", 0.5),
        c.maybe(
            "For next time, you can also change it yourself under Account > Orders until the parcel ships.",
            0.6,
        ),
    )
    msgs = [("user", user), ("assistant", agent)]
    if c.rng.random() < 0.4:
        msgs += [
            ("user", "Could you also update the address saved in my account?"),
            (
                "assistant",
                c.pick(
                    [
                        "For security reasons I can't edit saved addresses, but you can do it under Account > Addresses. It only takes a moment.",
                        "I can't change account details from here, sorry. Account > Addresses lets you edit or delete the old one.",
                    ]
                ),
            ),
        ]
    return msgs


def order_missing_item(c: Ctx) -> list[tuple[str, str]]:
    user = c.join(
        c.hello_user(),
        c.pick(
            [
                f"my parcel arrived today but the {c.product2} is missing. Only the {c.product} was in the box.",
                f"I ordered {c.count} bulbs and only {c.count - 1} were in the parcel.",
                f"order {c.order} came without the power supply for the {c.product}.",
            ]
        ),
        c.maybe("The box wasn't damaged.", 0.5),
        c.maybe("Can you send the rest?", 0.6),
    )
    agent = c.join(
        c.hello_agent(),
        c.pick(
            [
                "Sorry about that. Occasionally an order is split across two parcels; let me check.",
                "I apologise for the trouble. I've checked the packing record for your order.",
            ]
        ),
        c.pick(
            [
                f"It looks like the missing item was left out at packing. I've sent it today by {c.carrier}; you'll get a tracking email shortly.",
                f"The second parcel left a day later and is with {c.carrier} now, tracking number {c.tracking}.",
                "The packing scale recorded a lower weight than expected, so the item was indeed missing. A replacement is on its way.",
            ]
        ),
    )
    return [("user", user), ("assistant", agent)]


# -------------------------------------------------------------------------------------------- returns


def return_request(c: Ctx) -> list[tuple[str, str]]:
    reason = c.pick(
        [
            "the light is much cooler than I expected",
            "it doesn't fit my lampshade",
            "I ordered the wrong base, E26 instead of E27",
            "I changed my mind",
            "my partner hates the colour",
            "it's too bright for the bedroom",
            "the arm is shorter than I thought",
        ]
    )
    user = c.join(
        c.hello_user(),
        c.pick(
            [
                f"I'd like to return the {c.product} from order {c.order} because {reason}.",
                f"how do I send back a {c.product}? {reason.capitalize()}.",
                f"Can I still return something I bought on {c.date}? {reason.capitalize()}.",
            ]
        ),
    )
    agent = c.join(
        c.hello_agent(),
        c.pick(
            [
                "Of course. You have 30 days from delivery to return anything, no reason needed.",
                "No problem, returns are free within 30 days of delivery.",
                f"Yes, order {c.order} is still within the 30-day return window.",
            ]
        ),
        c.pick(
            [
                f"I've emailed a prepaid {c.carrier} label to {c.email}.",
                "You can start the return under Account > Orders, or I can create the label for you here.",
                "Would you like a refund or an exchange for a different model?",
            ]
        ),
        c.maybe("Any sturdy box is fine if you no longer have the original packaging.", 0.5),
    )
    msgs = [("user", user), ("assistant", agent)]
    if c.rng.random() < 0.6:
        msgs += [
            (
                "user",
                c.pick(
                    [
                        "A refund please. How long does it take?",
                        "Exchange, please, for the warm white version.",
                        "Do I have to print the label? I don't have a printer.",
                    ]
                ),
            ),
            (
                "assistant",
                c.pick(
                    [
                        f"We refund within five working days of receiving the parcel. Card refunds then take 3 to 7 days to show up, depending on your bank. The amount is {c.amount}.",
                        "Done: I've set up an exchange. The new item ships as soon as the carrier scans your return, so you won't wait for it to reach us.",
                        f"No need to print anything. The email contains a QR code that any {c.carrier} drop-off point can scan.",
                    ]
                ),
            ),
        ]
    return msgs


def refund_status(c: Ctx) -> list[tuple[str, str]]:
    user = c.join(
        c.hello_user(),
        c.pick(
            [
                f"I sent back my {c.product} two weeks ago and still haven't got my refund.",
                f"Where is my refund for order {c.order}?",
                f"the tracking says you received my return on {c.day}, but no money yet.",
            ]
        ),
        c.maybe(f"It was {c.amount}.", 0.5),
    )
    agent = c.join(
        c.hello_agent(),
        c.pick(
            [
                f"I can see the return arrived on {c.date} and the refund of {c.amount} was issued two days later.",
                "Your return was checked in yesterday and the refund has just been processed.",
                f"The refund for {c.order} was sent on {c.day}.",
            ]
        ),
        c.pick(
            [
                "Card refunds usually appear within 3 to 7 working days, depending on your bank.",
                "PayPal refunds normally show up within a day or two.",
                "If you paid by bank transfer, allow up to four working days.",
            ]
        ),
        c.maybe(f"The reference on your statement will be {c.ticket}.", 0.5),
    )
    msgs = [("user", user), ("assistant", agent)]
    if c.rng.random() < 0.4:
        msgs += [
            ("user", "It's been more than a week now and still nothing on my card."),
            (
                "assistant",
                c.join(
                    "Sorry for the wait.",
                    c.pick(
                        [
                            "I've asked our payment team to send you the acquirer reference number, which your bank can use to trace the payment.",
                            "Please check with your bank using this reference: "
                            + c.ticket
                            + ". If they can't find it, I'll have it re-issued.",
                        ]
                    ),
                ),
            ),
        ]
    return msgs


def damaged_arrival(c: Ctx) -> list[tuple[str, str]]:
    user = c.join(
        c.hello_user(),
        c.pick(
            [
                f"the {c.product} arrived broken. The glass is cracked.",
                f"My {c.product} came with a dent in the housing and it rattles when I shake it.",
                f"one of the bulbs in order {c.order} doesn't switch on at all, straight out of the box.",
            ]
        ),
        c.maybe("I've attached a photo.", 0.6),
    )
    agent = c.join(
        c.hello_agent(),
        c.pick(
            [
                "I'm sorry it arrived like that. Thanks for the photo, that's all we need.",
                "That shouldn't happen. Damaged items are warranty cases, so you don't have to return them first.",
            ]
        ),
        c.pick(
            [
                f"A replacement is on its way to you today. Please keep the damaged one for 30 days in case {c.carrier} wants to inspect it.",
                "I've ordered a replacement at no cost. You'll receive a prepaid label for the broken one in a separate email.",
            ]
        ),
    )
    return [("user", user), ("assistant", agent)]


# -------------------------------------------------------------------------------------------- pairing


def pairing_not_found(c: Ctx) -> list[tuple[str, str]]:
    user = c.join(
        c.hello_user(),
        c.pick(
            [
                f"the app can't find my new {c.product}.",
                f"I'm trying to add a {c.product} but the Lumen app just keeps searching.",
                f"pairing doesn't work. App version {c.app}.",
                f"my {c.product} won't show up in the app no matter what I do",
            ]
        ),
        c.maybe(f"I'm using a {c.phone}.", 0.5),
        c.maybe("Bluetooth is on.", 0.5),
    )
    agent = c.join(
        c.hello_agent(),
        c.pick(
            [
                "Let's get it paired.",
                "A few things usually fix this.",
                "That's usually quick to sort out.",
            ]
        ),
        c.pick(
            [
                "First, switch the light off at the wall for five seconds and back on: it only advertises itself for three minutes after getting power.",
                "Could you reset the light by switching it off and on five times, about one second apart? It flashes white when the reset worked.",
                "Please make sure the app has permission to use Bluetooth, and on Android also location, which the system needs for scanning.",
            ]
        ),
        c.maybe("Then keep the phone within two metres of the light and tap Add light again.", 0.7),
    )
    msgs = [("user", user), ("assistant", agent)]
    if c.rng.random() < 0.7:
        msgs += [
            (
                "user",
                c.pick(
                    [
                        "Tried that, it flashed white but still nothing in the app.",
                        "Done, still not found.",
                        "The light flashes three times red now.",
                        "Ah, location was off. Now it shows up!",
                    ]
                ),
            )
        ]
        last = msgs[-1][1]
        if "Now it shows up" in last:
            msgs += [
                (
                    "assistant",
                    c.pick(
                        [
                            "Great! Android needs location for Bluetooth scanning; we don't record your location.",
                            "Perfect. You can turn location off again after pairing if you like; the app only needs it while scanning.",
                        ]
                    ),
                )
            ]
        else:
            msgs += [
                (
                    "assistant",
                    c.join(
                        c.pick(
                            [
                                "Three red blinks means the pairing timed out and the light reset itself.",
                                "Thanks for trying.",
                            ]
                        ),
                        c.pick(
                            [
                                "Is anyone else in the household scanning at the same time? Two phones can each grab the light and leave it half paired.",
                                f"Could you check that the app is up to date? Version {c.app} had a scanning bug on some phones that was fixed in the latest release.",
                                "Was the light previously used with another hub? If so it needs a reset before it appears.",
                            ]
                        ),
                    ),
                )
            ]
            if c.rng.random() < 0.6:
                msgs += [
                    (
                        "user",
                        c.pick(
                            [
                                "My son was adding his strip at the same time. I'll try again when he's done.",
                                "Updated the app and it found it straight away.",
                                "It came from my brother's house, so yes, probably his hub.",
                            ]
                        ),
                    ),
                    (
                        "assistant",
                        c.pick(
                            [
                                "That's very likely it. One phone at a time and it should pair in under a minute.",
                                "Great, glad it's working!",
                                "Then a reset (five times off and on) will clear the old hub. After that it will show up in your app.",
                            ]
                        ),
                    ),
                ]
    return msgs


def pairing_to_hub(c: Ctx) -> list[tuple[str, str]]:
    user = c.join(
        c.hello_user(),
        c.pick(
            [
                f"I just got a Lumen Hub. How do I move my {c.count} existing lights onto it?",
                "do I have to pair all my bulbs again now that I have the hub?",
                f"I set up the hub but my {c.room} lights still say Bluetooth in the app.",
            ]
        ),
    )
    agent = c.join(
        c.hello_agent(),
        c.pick(
            [
                "No need to start over.",
                "Good news, it's mostly automatic.",
            ]
        ),
        c.pick(
            [
                "Open the hub in the app and tap Move lights to hub. The app moves each light from Bluetooth to Zigbee for you.",
                "Go to Settings > Hub > Add existing lights. Keep your phone near each light while it's moved; it blinks twice when done.",
            ]
        ),
        c.maybe("Rooms, names and scenes are kept.", 0.7),
    )
    msgs = [("user", user), ("assistant", agent)]
    if c.rng.random() < 0.5:
        msgs += [
            ("user", f"One light in the {c.room} failed to move. It says 'not reachable'."),
            (
                "assistant",
                c.pick(
                    [
                        "That one is probably too far from the hub. Zigbee lights relay for each other, so it often works once a light in between is on the hub. Try again after the others are moved.",
                        "Please switch that light off and on at the wall and tap Retry. If it still fails, move the hub a little closer for the transfer; you can put it back afterwards.",
                    ]
                ),
            ),
        ]
    return msgs


def pairing_second_phone(c: Ctx) -> list[tuple[str, str]]:
    user = c.join(
        c.hello_user(),
        c.pick(
            [
                "How can my partner control the lights from their phone too?",
                "My daughter installed the app but she can't see any of our lights.",
                f"we have two phones, a {c.phone} and an iPhone. Only one of them sees the lamps.",
            ]
        ),
    )
    agent = c.join(
        c.hello_agent(),
        c.pick(
            [
                "Lights are linked to the account that added them, so the second phone needs to be invited.",
                "You can share your home with other people in the app.",
            ]
        ),
        c.pick(
            [
                "On the phone that set things up, go to Settings > Household > Invite and enter their email address.",
                "Open Settings > Household and tap Invite member. They'll get an email with a link that adds your home to their app.",
            ]
        ),
        c.maybe("Invited members can control lights and scenes but can't remove the hub.", 0.6),
    )
    return [("user", user), ("assistant", agent)]


# ------------------------------------------------------------------------------------------- firmware


def firmware_stuck(c: Ctx) -> list[tuple[str, str]]:
    user = c.join(
        c.hello_user(),
        c.pick(
            [
                f"the firmware update on my {c.product} has been stuck at {c.rng.randint(12, 93)}% for an hour.",
                f"my {c.product} has been glowing amber since last night. Is it broken?",
                f"update from {c.fw_old} to {c.fw_new} won't finish.",
            ]
        ),
        c.maybe("I haven't touched it.", 0.4),
    )
    agent = c.join(
        c.hello_agent(),
        c.pick(
            [
                "Amber means the light is updating, so please keep it powered for now.",
                "Don't worry, the light can't be damaged permanently by a stuck update.",
            ]
        ),
        c.pick(
            [
                "Sometimes the progress bar in the app stops refreshing while the update continues. Could you close and reopen the app?",
                "If it's still amber after thirty minutes, switch it off for ten seconds and back on. It keeps the old firmware in a second slot and will start from that.",
            ]
        ),
    )
    msgs = [("user", user), ("assistant", agent)]
    if c.rng.random() < 0.6:
        msgs += [
            (
                "user",
                c.pick(
                    [
                        f"Restarted it. Now it's white again and the app says {c.fw_old}.",
                        "Reopened the app and it says updated. Silly me.",
                        "It's still amber after switching it off and on.",
                    ]
                ),
            )
        ]
        if "still amber" in msgs[-1][1]:
            msgs += [
                (
                    "assistant",
                    c.join(
                        "Thanks for trying that.",
                        c.pick(
                            [
                                "Please reset it by switching it off and on five times; that puts it into recovery mode, and the app will offer to reinstall the firmware.",
                                f"I've opened ticket {c.ticket} so our firmware team can look at the logs from your hub. In the meantime a reset should bring it back.",
                            ]
                        ),
                    ),
                )
            ]
        else:
            msgs += [
                (
                    "assistant",
                    c.pick(
                        [
                            "Then it booted from the backup slot. Start the update again from the light's About page; it usually finishes in under six minutes.",
                            f"Perfect, you're on {c.fw_new} now. That version fixes the low-brightness flicker, among other things.",
                        ]
                    ),
                )
            ]
    return msgs


def firmware_whats_new(c: Ctx) -> list[tuple[str, str]]:
    user = c.join(
        c.hello_user(),
        c.pick(
            [
                f"what changed in firmware {c.fw_new}?",
                "Is the new firmware worth installing? I don't want to break anything.",
                f"my hub installed {c.fw_new} overnight. Anything I should know?",
            ]
        ),
    )
    agent = c.join(
        c.pick(
            [
                f"{c.fw_new} is mainly a bug-fix release.",
                "Good question.",
                f"Here's the summary for {c.fw_new}:",
            ]
        ),
        c.pick(
            [
                "It fixes a flicker some Aurora bulbs showed between 1 and 3% brightness, and scene recall is a little faster.",
                "The main change is smoother dimming at very low levels. It also improves stability on hubs with many devices.",
            ]
        ),
        c.maybe("The full notes are at https://lumenlamps.example/support/firmware-updates.", 0.6),
        c.maybe(
            "Updates are applied one light at a time at night, so a room never goes dark all at once.", 0.4
        ),
    )
    return [("user", user), ("assistant", agent)]


def firmware_manual(c: Ctx) -> list[tuple[str, str]]:
    user = c.join(
        c.hello_user(),
        c.pick(
            [
                "I have remote access switched off. How do I update the hub?",
                "Our hub is on an isolated network with no internet. Can it still get updates?",
                "The manual update fails with error E45.",
            ]
        ),
    )
    agent = c.join(
        c.hello_agent(),
        c.pick(
            [
                "You can update from a file.",
                "Yes, updates don't need the cloud.",
                "E45 means the hub rejected the file because the signature didn't check out.",
            ]
        ),
        c.pick(
            [
                "Download the update from our release page, then in the app go to Hub > System > Manual update and choose the file.",
                "Make sure you downloaded the file for the hub and not for a light; they have different names, lumen-hub-3.4.2.bin versus aurora-3.4.2.bin.",
            ]
        ),
        c.maybe("The hub checks the signature of every file and refuses anything we didn't sign.", 0.5),
    )
    return [("user", user), ("assistant", agent)]


# -------------------------------------------------------------------------------------------- billing


def billing_double_charge(c: Ctx) -> list[tuple[str, str]]:
    user = c.join(
        c.hello_user(),
        c.pick(
            [
                f"I've been charged twice for order {c.order}, {c.amount} each time.",
                f"My bank statement shows two payments of {c.amount} to Lumen Lamps but I only ordered once.",
                "why was my card charged twice?",
            ]
        ),
    )
    agent = c.join(
        c.hello_agent(),
        c.pick(
            [
                "I can see one completed payment and one authorisation that was never captured.",
                "Let me check the payments on your order.",
            ]
        ),
        c.pick(
            [
                "The second one is only a hold from the first attempt that failed; your bank releases it automatically within 5 to 7 days.",
                f"You're right, the payment went through twice. I've refunded the duplicate of {c.amount}; reference {c.ticket}.",
            ]
        ),
        c.maybe("I'm sorry for the worry.", 0.5),
    )
    msgs = [("user", user), ("assistant", agent)]
    if c.rng.random() < 0.4:
        msgs += [
            ("user", "Can you put that in writing for my bank?"),
            (
                "assistant",
                f"Of course. I've sent a confirmation to {c.email} with the order number, both transaction references and the refund date.",
            ),
        ]
    return msgs


def billing_invoice(c: Ctx) -> list[tuple[str, str]]:
    vat = f"{c.pick(['DE', 'NL', 'FR', 'AT', 'IT', 'BE'])}{c.rng.randint(100000000, 999999999)}"
    user = c.join(
        c.hello_user(),
        c.pick(
            [
                f"I need an invoice with my company's VAT number for order {c.order}.",
                "Can you re-issue my invoice with our company name on it?",
                f"please add VAT ID {vat} to the invoice for {c.order}",
            ]
        ),
        c.maybe(
            f"Company: {c.last} {c.pick(['GmbH', 'BV', 'Ltd', 'SARL', 'Design Studio', '& Partners'])}.", 0.7
        ),
    )
    agent = c.join(
        c.hello_agent(),
        c.pick(
            [
                "No problem.",
                "Sure, I can do that.",
            ]
        ),
        c.pick(
            [
                f"I've re-issued the invoice with VAT ID {vat} and sent it to {c.email}.",
                "The corrected invoice is in your account under Orders > Invoice, and a copy is on its way by email.",
            ]
        ),
        c.maybe("For future orders you can enter the VAT number at checkout.", 0.6),
    )
    return [("user", user), ("assistant", agent)]


def billing_promo(c: Ctx) -> list[tuple[str, str]]:
    code = c.pick(["SPRING10", "WELCOME10", "HUBFREE", "LIGHTS15", "NEWSLETTER5"])
    user = c.join(
        c.hello_user(),
        c.pick(
            [
                f"the code {code} didn't work at checkout.",
                f"I forgot to enter my discount code {code} on order {c.order}. Can you still apply it?",
                f"Why does {code} say it's expired? The email said it's valid until the end of the month.",
            ]
        ),
    )
    agent = c.join(
        c.hello_agent(),
        c.pick(
            [
                f"{code} only works once per household and can't be combined with kit prices.",
                f"I've checked {code}: it is valid, but it requires a minimum order of {c.cur}50.",
                "Codes can't be added after payment at checkout, but I can refund the difference manually.",
            ]
        ),
        c.pick(
            [
                f"I've refunded {c.cur}{c.rng.randint(3, 15)}.{c.rng.choice(['00', '49', '90'])} to your original payment method.",
                "If you'd like, I can cancel the order and you can place it again with the code, as it hasn't shipped yet.",
                "Sorry for the confusion; the email should have mentioned that.",
            ]
        ),
    )
    return [("user", user), ("assistant", agent)]


def billing_declined(c: Ctx) -> list[tuple[str, str]]:
    user = c.join(
        c.hello_user(),
        c.pick(
            [
                "my card keeps getting declined at checkout, but it works everywhere else.",
                "payment failed three times. Is your site broken?",
                "Checkout says 'payment could not be authorised'.",
            ]
        ),
    )
    agent = c.join(
        c.hello_agent(),
        c.pick(
            [
                "Our payment system is working normally, so the decline comes from the card issuer.",
                "Sorry about that.",
            ]
        ),
        c.pick(
            [
                "Most often it's the bank's 3-D Secure check timing out. Could you try again and keep the banking app open to approve the payment?",
                "Some banks block the first online payment to a new merchant. Your bank's app usually lets you approve it.",
                "You could also pay with PayPal or bank transfer; your basket is saved.",
            ]
        ),
        c.maybe("Please never send card numbers in this chat.", 0.5),
    )
    return [("user", user), ("assistant", agent)]


# -------------------------------------------------------------------------------------- troubleshooting


def trouble_flicker(c: Ctx) -> list[tuple[str, str]]:
    user = c.join(
        c.hello_user(),
        c.pick(
            [
                f"my {c.product} in the {c.room} flickers, especially when dimmed.",
                f"the bulbs in the {c.room} keep flickering every few seconds.",
                f"flickering {c.product}, firmware {c.fw_old}. Any ideas?",
                "my lights shimmer at low brightness. It's driving me mad",
            ]
        ),
        c.maybe("It started a few days ago.", 0.4),
    )
    agent = c.join(
        c.hello_agent(),
        c.pick(
            [
                "Flicker almost always has one of a few causes.",
                "Let's narrow it down.",
            ]
        ),
        c.pick(
            [
                "Is the light on a dimmer switch on the wall? Smart bulbs need a normal switch; a dimmer cuts the power they need to keep the radio running.",
                f"If the firmware is older than {c.fw_new}, please update first: {c.fw_new} fixed flicker at 1 to 3% brightness.",
                "Does your wall switch have a little glowing indicator? Those leak a tiny current and can make bulbs flash when they're off.",
            ]
        ),
    )
    msgs = [("user", user), ("assistant", agent)]
    if c.rng.random() < 0.65:
        msgs += [
            (
                "user",
                c.pick(
                    [
                        "Yes, there's an old dimmer. I'll ask the landlord to swap it.",
                        "Updated, and it's gone. Thanks!",
                        "No dimmer and the firmware is current. It flickers when the washing machine runs.",
                    ]
                ),
            )
        ]
        if "washing machine" in msgs[-1][1]:
            msgs += [
                (
                    "assistant",
                    c.join(
                        "Interesting.",
                        c.pick(
                            [
                                "That suggests voltage dips on that circuit. A short video would help our engineers; could you send one to support@lumenlamps.example with the ticket number "
                                + c.ticket
                                + "?",
                                "Large appliances on the same circuit can cause brief voltage drops. An electrician can check the connection at the fitting; loose terminals make it worse.",
                            ]
                        ),
                    ),
                )
            ]
        elif "dimmer" in msgs[-1][1]:
            msgs += [
                (
                    "assistant",
                    "That should fix it. Until then, set the dimmer to full and dim from the app or an Orbit switch instead.",
                )
            ]
        else:
            msgs += [
                (
                    "assistant",
                    c.pick(
                        [
                            f"Great news! {c.fw_new} fixed exactly that kind of flicker.",
                            "Excellent, thanks for letting me know it's sorted.",
                        ]
                    ),
                )
            ]
    return msgs


def trouble_hub_offline(c: Ctx) -> list[tuple[str, str]]:
    user = c.join(
        c.hello_user(),
        c.pick(
            [
                "the app says my hub is offline (E12), but the internet works fine.",
                f"hub shows offline since {c.day}. Lights still work with the switches.",
                "Error E12 after my router was replaced.",
            ]
        ),
    )
    agent = c.join(
        c.hello_agent(),
        c.pick(
            [
                "E12 means the app can't reach the hub.",
                "Your lights will keep running their schedules locally in the meantime.",
            ]
        ),
        c.pick(
            [
                "First, unplug the hub for ten seconds and plug it back in. A restart keeps all your settings.",
                "If you changed the router, the hub still has the old Wi-Fi details. Hold the button on the back for five seconds until it blinks blue, then run the Wi-Fi setup again.",
                "Could you check the hub's light? Solid green means it's online; slow blue means it's waiting for Wi-Fi setup.",
            ]
        ),
    )
    msgs = [("user", user), ("assistant", agent)]
    if c.rng.random() < 0.5:
        ip = f"192.168.{c.rng.choice([0, 1, 2, 178])}.{c.rng.randint(2, 250)}"
        msgs += [
            ("user", f"It's solid green, and the router lists it at {ip}. Still offline in the app."),
            (
                "assistant",
                c.pick(
                    [
                        f"Thanks. If your phone can open http://{ip}/api/v2/status in a browser, the hub is fine and the problem is the app's cached address. Logging out and in again clears it.",
                        "Then the hub is fine on your network. Is your phone perhaps on a guest network? Guest networks usually isolate devices from each other.",
                    ]
                ),
            ),
        ]
    return msgs


def trouble_colour_mismatch(c: Ctx) -> list[tuple[str, str]]:
    user = c.join(
        c.hello_user(),
        c.pick(
            [
                f"I have {c.count} bulbs in the {c.room} set to the same white, but one looks pinker than the others.",
                "Two of my Aurora bulbs look slightly different at 2700 K. Is that normal?",
                f"the new {c.product} doesn't match the colour of my older ones",
            ]
        ),
    )
    agent = c.join(
        c.hello_agent(),
        c.pick(
            [
                "Small differences can happen between production batches, but they shouldn't be visible side by side.",
                "Every light is measured at the factory, so I can compare them.",
            ]
        ),
        c.pick(
            [
                "Could you send me the serial numbers from the About page of both lights? I can look up their factory measurements.",
                "First please update both to the latest firmware; 3.4.0 improved colour consistency between batches.",
            ]
        ),
    )
    msgs = [("user", user), ("assistant", agent)]
    if c.rng.random() < 0.5:
        serial = f"AU{c.rng.randint(10, 23)}{c.rng.randint(1000000, 9999999)}"
        msgs += [
            ("user", f"The odd one is {serial}."),
            (
                "assistant",
                c.pick(
                    [
                        f"Thanks. {serial} measured at the edge of our tolerance at warm white. I'll send you a replacement; no need to return it.",
                        f"I see {serial} is from an earlier batch. A calibration update for it was included in firmware {c.fw_new}; once it's installed they should match.",
                    ]
                ),
            ),
        ]
    return msgs


# ------------------------------------------------------------------------------------------ developer


def dev_token(c: Ctx) -> list[tuple[str, str]]:
    user = c.join(
        c.hello_user(),
        c.pick(
            [
                'I\'m calling the local API and keep getting 401. My request:\n\ncurl -H "Authorization: $TOKEN" http://lumen-hub.local/api/v2/lights',
                "How do I get an API token for the hub?",
                "Is there a way to create a token from a script instead of the app?",
            ]
        ),
    )
    if "401" in user:
        agent = c.join(
            c.pick(["The header is missing the scheme.", "Almost there!"]),
            'The hub expects a bearer token:\n\ncurl -H "Authorization: Bearer $TOKEN" http://lumen-hub.local/api/v2/lights',
            c.maybe("Also check the token wasn't revoked in the app under Hub > Developer > Tokens.", 0.6),
        )
    elif "script" in user:
        agent = c.join(
            "Yes. POST to /api/v2/auth/tokens, then press the button on the hub within 30 seconds:\n\n"
            'curl -X POST -H \'Content-Type: application/json\' \\\n  -d \'{"name": "my-script", "scope": "control"}\' \\\n  http://lumen-hub.local/api/v2/auth/tokens\n\n'
            "Poll /api/v2/auth/tokens/requests/<request_id> until status is granted."
        )
    else:
        agent = c.join(
            c.hello_agent(),
            "In the app, open Hub > Developer > Create token and press the hub's button within thirty seconds.",
            "The token is shown once, so copy it somewhere safe.",
            c.maybe("Pick the smallest scope that works: read, control or admin.", 0.7),
        )
    msgs = [("user", user), ("assistant", agent)]
    if c.rng.random() < 0.5:
        msgs += [
            ("user", "Can I pass the token as ?token= in the URL? My dashboard tool can't set headers."),
            (
                "assistant",
                "No, the hub refuses tokens in query strings because URLs end up in logs. Most dashboard tools support custom headers somewhere in their HTTP settings; if yours really can't, a tiny reverse proxy can add the header.",
            ),
        ]
    return msgs


def dev_python(c: Ctx) -> list[tuple[str, str]]:
    user = c.join(
        c.hello_user(),
        c.pick(
            [
                f"Can you give me a Python example that sets light {c.light_id} to 30% warm white?",
                "what's the simplest python snippet to toggle a light?",
                f"I want to dim light {c.light_id} slowly over a minute from a cron job. Python please.",
            ]
        ),
    )
    pct = c.pick([30, 25, 40, 20])
    agent = c.join(
        "Here's a minimal example using requests:\n\n"
        "import os\nimport requests\n\n"
        'HUB = "http://lumen-hub.local/api/v2"\n'
        'HEADERS = {"Authorization": f"Bearer {os.environ[\'LUMEN_TOKEN\']}"}\n\n'
        f'state = {{"on": True, "brightness": {pct}, "color_temp_k": {c.pick([2400, 2700, 3000])}, "transition_ms": {c.pick([500, 2000, 60000])}}}\n'
        f'r = requests.patch(f"{{HUB}}/lights/{c.light_id}", json=state, headers=HEADERS, timeout=5)\n'
        "r.raise_for_status()\nprint(r.json())",
        c.maybe("Transitions are capped at 60 seconds by the hub.", 0.5),
    )
    msgs = [("user", user), ("assistant", agent)]
    if c.rng.random() < 0.5:
        msgs += [
            ("user", "I get requests.exceptions.ConnectionError: Failed to resolve 'lumen-hub.local'"),
            (
                "assistant",
                "Your machine doesn't resolve multicast DNS names. Use the hub's IP address from the app (Hub > Network) instead, or install an mDNS resolver such as Avahi on Linux.",
            ),
        ]
    return msgs


def dev_mqtt(c: Ctx) -> list[tuple[str, str]]:
    user = c.join(
        c.hello_user(),
        c.pick(
            [
                "Which MQTT topics does the hub publish?",
                "I connected the hub to Mosquitto but I don't see any messages.",
                "How do I send a command to a light over MQTT?",
            ]
        ),
    )
    agent = c.join(
        c.pick(
            [
                f"The hub publishes under lumen/<hub-id>/, for example lumen/{c.hub_id}/light/{c.light_id}/state.",
                "To watch everything, subscribe to the wildcard:",
                "Publish a JSON state to the light's set topic:",
            ]
        ),
        c.pick(
            [
                f"mosquitto_sub -h broker.home.arpa -t 'lumen/{c.hub_id}/#' -v",
                f"mosquitto_pub -h broker.home.arpa -t 'lumen/{c.hub_id}/light/{c.light_id}/set' -m '{{\"brightness\": 50}}'",
            ]
        ),
        c.maybe(
            f"If nothing shows up, check lumen/{c.hub_id}/status: it's retained and says online or offline.",
            0.6,
        ),
    )
    return [("user", user), ("assistant", agent)]


def dev_home_assistant(c: Ctx) -> list[tuple[str, str]]:
    user = c.join(
        c.hello_user(),
        c.pick(
            [
                "How do I add my Lumen lights to Home Assistant?",
                "Home Assistant discovered my lights but the colour temperature slider is missing.",
                "Can the Orbit switch trigger a Home Assistant automation?",
            ]
        ),
    )
    if "Orbit" in user:
        agent = (
            "Yes. Switch presses are published as MQTT messages. An automation trigger looks like this:\n\n"
            f'trigger:\n  - platform: mqtt\n    topic: "lumen/{c.hub_id}/switch/2/action"\n    payload: "hold"'
        )
    elif "slider" in user:
        agent = c.join(
            "Discovery announces color_temp only for lights that support it.",
            f"Is the light perhaps a Strip Flex? Those are colour-only. If it's a bulb, re-send discovery from the app (Hub > Developer > MQTT > Republish) after updating to {c.fw_new}.",
        )
    else:
        agent = c.join(
            "The easiest way is to connect the hub to the same MQTT broker as Home Assistant and turn on discovery in the app under Hub > Developer > MQTT.",
            "Each light then appears automatically.",
            c.maybe(
                "Alternatively you can pair the lights directly with a Zigbee stick, but you lose hub features like dynamic scenes.",
                0.6,
            ),
        )
    return [("user", user), ("assistant", agent)]


def dev_webhook(c: Ctx) -> list[tuple[str, str]]:
    user = c.join(
        c.hello_user(),
        c.pick(
            [
                "How do I verify the X-Lumen-Signature header on webhooks?",
                "my webhook endpoint gets called but signature verification always fails",
            ]
        ),
    )
    agent = c.join(
        "It's an HMAC-SHA256 of the raw request body with your webhook secret, prefixed with sha256=.",
        c.pick(["In Python:", "For example:"]),
        "\n\nimport hashlib, hmac\n\ndef verify(body: bytes, header: str, secret: str) -> bool:\n"
        "    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()\n"
        '    return hmac.compare_digest(f"sha256={expected}", header)',
        c.maybe(
            "\n\nA common mistake is to hash the parsed and re-serialised JSON instead of the raw body.", 0.8
        ),
    )
    return [("user", user), ("assistant", agent)]


# -------------------------------------------------------------------------------------------- product


def product_advice(c: Ctx) -> list[tuple[str, str]]:
    user = c.join(
        c.hello_user(),
        c.pick(
            [
                f"which bulb should I get for a ceiling pendant in the {c.room}?",
                "Can I use Aurora bulbs outside on my porch?",
                "Is the Halo Desk Lamp bright enough for drawing?",
                "Do your lights work with other Zigbee hubs?",
                "What's the difference between the Aurora A19 and the Aurora A19 White?",
                "will the Strip Flex fit behind a 65 inch TV?",
            ]
        ),
    )
    if "porch" in user:
        agent = "Under a covered porch in an open fitting, yes. They're not made for sealed glass globes or places where they get wet, because heat builds up and shortens their life."
    elif "Halo" in user:
        agent = c.join(
            "It gives about 1000 lux at 40 cm, which is plenty for drawing.",
            "The colour rendering is above 90, so colours on paper look right, and the diffuser avoids glare on glossy paper.",
        )
    elif "Zigbee" in user:
        agent = "Yes, they're Zigbee 3.0 lights and pair with most Zigbee hubs. Features like our gradient effects and firmware updates need the Lumen Hub, though."
    elif "White" in user:
        agent = c.join(
            "Both reach 1100 lumens and dim smoothly.",
            "The White version has the full range of whites from 2000 to 6500 K but no colours, and it costs seven euros less.",
        )
    elif "TV" in user:
        agent = "A 65 inch TV is roughly 145 cm wide and 83 cm tall, so about 4.5 m of strip goes around three sides. One Strip Flex 2 m plus two extensions covers it, and you can cut off the rest at the marks every 10 cm."
    else:
        agent = c.join(
            c.pick(["For a pendant, the Aurora A19 is the usual choice.", "I'd suggest an Aurora A19."]),
            "It reaches 1100 lumens, roughly a 75 W incandescent, and dims down to 1% without flicker.",
            c.maybe(
                "If you don't need colours, the White version is cheaper and looks identical in white.", 0.6
            ),
        )
    msgs = [("user", user), ("assistant", agent)]
    if c.rng.random() < 0.3:
        msgs += [("user", "Do you ship to " + c.pick(["Norway", "Canada", "Switzerland", "Australia"]) + "?")]
        if "Australia" in msgs[-1][1]:
            msgs += [
                (
                    "assistant",
                    "Not directly, I'm afraid. We ship to the EU, the UK, Switzerland, Norway, the US and Canada.",
                )
            ]
        else:
            msgs += [
                (
                    "assistant",
                    "Yes, we do. Duties are included at checkout for Norway and Switzerland; for Canada the carrier may collect them on delivery.",
                )
            ]
    return msgs


# -------------------------------------------------------------------------------------------- account


def account_password(c: Ctx) -> list[tuple[str, str]]:
    user = c.join(
        c.hello_user(),
        c.pick(
            [
                "I never receive the password reset email.",
                f"reset email doesn't arrive at {c.email}",
                "Can't log in, the reset link says it has expired.",
            ]
        ),
    )
    agent = c.join(
        c.hello_agent(),
        c.pick(
            [
                f"I can see the reset emails were sent to {c.email}. They sometimes land in spam or a promotions tab.",
                "Reset links are valid for 30 minutes and only the most recent one works.",
            ]
        ),
        c.pick(
            [
                "Could you request a new one and check the spam folder?",
                "Please request a fresh link and open it on the same device.",
            ]
        ),
        c.maybe("For security I can't reset the password for you from here.", 0.5),
    )
    return [("user", user), ("assistant", agent)]


def account_delete(c: Ctx) -> list[tuple[str, str]]:
    user = c.join(
        c.hello_user(),
        c.pick(
            [
                "Please delete my account and all my data.",
                "How do I delete my Lumen account? I'm moving and leaving the lights behind.",
                "I want a copy of all data you hold about me, then delete everything.",
            ]
        ),
    )
    agent = c.join(
        c.hello_agent(),
        c.pick(
            [
                "You can do it yourself under Settings > Account > Delete account; it takes effect immediately.",
                f"I've started the deletion for the account {c.email}. You'll get a confirmation email with a link to confirm within 7 days.",
            ]
        ),
        c.maybe(
            "If you want a copy first, Settings > Account > Export data sends you a ZIP file with everything we hold.",
            0.6,
        ),
        c.maybe(
            "The lights keep working locally after the account is gone, so the next residents can reset and use them.",
            0.6,
        ),
    )
    return [("user", user), ("assistant", agent)]


# ------------------------------------------------------------------------------------------- warranty


def warranty_claim(c: Ctx) -> list[tuple[str, str]]:
    months = c.rng.randint(4, 34)
    user = c.join(
        c.hello_user(),
        c.pick(
            [
                f"my {c.product} stopped working after {months} months.",
                f"The arm spring on my Halo Desk Lamp snapped. It's about {months} months old.",
                f"I bought a {c.product} from an electronics store and it died. Do I go to them or to you?",
            ]
        ),
    )
    agent = c.join(
        c.hello_agent(),
        c.pick(
            [
                "That's covered by the three-year warranty.",
                "You can claim directly with us, even if you bought it elsewhere.",
            ]
        ),
        c.pick(
            [
                "Could you send me the serial number from the product and your order number or a photo of the receipt?",
                "I just need the serial number and a short description of the fault.",
            ]
        ),
    )
    msgs = [("user", user), ("assistant", agent)]
    if c.rng.random() < 0.7:
        serial = f"{c.pick(['AU', 'HL', 'SF', 'HB', 'OR'])}{c.rng.randint(10, 23)}{c.rng.randint(1000000, 9999999)}"
        msgs += [
            ("user", c.join(f"Serial {serial}.", c.maybe(f"Order was {c.order}.", 0.6))),
            (
                "assistant",
                c.pick(
                    [
                        f"Thanks! A replacement is on its way to you. You'll also get a prepaid label to send the faulty one back within 30 days; ticket {c.ticket}.",
                        f"Thanks. For the spring I'll send you the spare part with a link to the repair video; it takes about five minutes with a screwdriver. Ticket {c.ticket}.",
                    ]
                ),
            ),
        ]
    return msgs


SCENARIOS = {
    "orders": [order_late, order_late, order_address, order_missing_item],
    "returns": [return_request, return_request, refund_status, damaged_arrival],
    "pairing": [pairing_not_found, pairing_not_found, pairing_to_hub, pairing_second_phone],
    "firmware": [firmware_stuck, firmware_whats_new, firmware_manual],
    "billing": [billing_double_charge, billing_invoice, billing_promo, billing_declined],
    "troubleshooting": [trouble_flicker, trouble_flicker, trouble_hub_offline, trouble_colour_mismatch],
    "developer": [dev_token, dev_python, dev_mqtt, dev_home_assistant, dev_webhook],
    "product": [product_advice],
    "account": [account_password, account_delete],
    "warranty": [warranty_claim],
}
TOPIC_WEIGHTS = {
    "orders": 14,
    "returns": 12,
    "pairing": 14,
    "firmware": 9,
    "billing": 11,
    "troubleshooting": 12,
    "developer": 10,
    "product": 8,
    "account": 5,
    "warranty": 5,
}

SYSTEM_PROMPTS = [
    "You are the customer support assistant for Lumen Lamps, a maker of smart bulbs, lamps and light strips. Be friendly and concise. Never ask for full card numbers or passwords.",
    "You are Lumi, the support assistant of Lumen Lamps. You help with orders, returns, pairing, firmware and billing. If you cannot solve a problem, offer to open a ticket for a human agent.",
    "Support chat for lumenlamps.example. The customer is signed in. Policies: 30-day free returns, 3-year warranty, free EU shipping over €49.",
    "You are a support agent at Lumen Lamps. Answer in the customer's language. Keep answers short and give exact menu paths in the app.",
]
DEV_SYSTEM_PROMPT = "You help developers use the Lumen Hub local API (v2), MQTT and webhooks. Give short, correct code examples and mention the required token scope."

# A few conversations in German and French, written out in full (the language-ID step should tag them).
FOREIGN = [
    (
        "orders",
        [
            (
                "user",
                "Hallo, meine Bestellung ist seit fünf Tagen unterwegs und die Sendungsverfolgung zeigt nichts Neues. Können Sie nachsehen?",
            ),
            (
                "assistant",
                "Guten Tag! Ihr Paket liegt laut DHL im Verteilzentrum Leipzig und wird voraussichtlich morgen zugestellt. Falls nicht, melden Sie sich bitte noch einmal, dann schicken wir Ersatz.",
            ),
            ("user", "Danke, dann warte ich bis morgen."),
            ("assistant", "Sehr gern. Einen schönen Abend noch!"),
        ],
    ),
    (
        "pairing",
        [
            ("user", "Bonjour, l'application ne trouve pas ma nouvelle ampoule Aurora. J'ai un Pixel 7."),
            (
                "assistant",
                "Bonjour ! Éteignez l'ampoule à l'interrupteur pendant cinq secondes puis rallumez-la : elle reste visible pendant trois minutes après la mise sous tension. Vérifiez aussi que la localisation est activée, Android en a besoin pour le Bluetooth.",
            ),
            ("user", "C'était la localisation. Merci beaucoup !"),
            ("assistant", "Avec plaisir, bonne soirée !"),
        ],
    ),
    (
        "returns",
        [
            (
                "user",
                "Ich möchte die Halo-Schreibtischleuchte zurückschicken, sie ist mir zu groß. Wie funktioniert das?",
            ),
            (
                "assistant",
                "Das ist innerhalb von 30 Tagen kostenlos möglich. Ich habe Ihnen ein Rücksendeetikett per E-Mail geschickt; die Erstattung erfolgt innerhalb von fünf Werktagen nach Eingang.",
            ),
        ],
    ),
    (
        "billing",
        [
            ("user", "Bonjour, j'ai besoin d'une facture avec le numéro de TVA de mon entreprise."),
            (
                "assistant",
                "Bien sûr. Indiquez-moi le numéro de TVA et la raison sociale, et je vous envoie la facture corrigée par e-mail.",
            ),
            ("user", "FR40123456789, Atelier Lumière SARL."),
            (
                "assistant",
                "C'est fait : la nouvelle facture est dans votre compte et une copie vous a été envoyée.",
            ),
        ],
    ),
    (
        "firmware",
        [
            (
                "user",
                "Das Firmware-Update hängt seit einer Stunde bei 60 Prozent. Die Lampe leuchtet orange.",
            ),
            (
                "assistant",
                "Keine Sorge, die Lampe kann dabei nicht dauerhaft beschädigt werden. Bitte lassen Sie sie eingeschaltet und öffnen Sie die App neu – manchmal bleibt nur die Fortschrittsanzeige stehen.",
            ),
            ("user", "Sie haben recht, jetzt steht dort 3.4.2. Danke!"),
            ("assistant", "Prima, dann ist alles erledigt."),
        ],
    ),
    (
        "troubleshooting",
        [
            ("user", "Mes ampoules clignotent quand je baisse la luminosité. Il y a un variateur au mur."),
            (
                "assistant",
                "C'est très probablement le variateur : les ampoules connectées ont besoin d'une alimentation constante. Réglez le variateur au maximum et utilisez l'application ou un interrupteur Orbit pour varier la lumière.",
            ),
        ],
    ),
]
