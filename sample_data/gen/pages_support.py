"""Support and FAQ articles of the fictional Lumen Lamps site (original text written for this project)."""

from __future__ import annotations

from gen.site import Page

SUPPORT = [
    Page(
        path="support/pairing-the-app.html",
        title="Pairing your light with the Lumen app",
        date="2024-02-11",
        description="Step-by-step pairing over Bluetooth and through the Lumen Hub.",
        body="""
Most lights pair in less than a minute. This guide covers the two ways to add a light, what the status
colours mean and what to try when the app cannot find your lamp.

## Before you start

- Install the latest version of the Lumen app from your phone's app store.
- Switch on Bluetooth and allow the app to use it. On Android the app also asks for location access, which
  the system requires for Bluetooth scanning; we do not record your location.
- Make sure the light has power. For bulbs, the wall switch must be on.

## Pairing over Bluetooth

1. Open the app and tap the plus sign, then Add light.
2. Hold your phone within two metres of the light.
3. When the light appears in the list, tap it. It blinks twice to confirm.
4. Give the light a name and choose a room.

## Pairing through the Lumen Hub

If you already have a hub, the app offers to move new lights onto it straight away. Lights on the hub can be
controlled from anywhere, respond faster in large homes and keep their schedules if your phone is switched
off. You can also add a light to the hub later from the light's settings page.

## What the blinking means

| Pattern | Meaning |
| Two slow blinks | Paired successfully |
| Continuous slow breathing | Waiting to be paired |
| Three fast red blinks | Pairing failed, light has reset itself |
| Solid amber for ten seconds | Firmware update in progress, do not switch off |

## The app cannot find my light

First, switch the light off at the wall for five seconds and on again; a light that has just received power
advertises itself for three minutes. If that does not help, reset the light by switching it off and on five
times, leaving about one second between each switch. The light flashes white when the reset worked. Lights
that were previously paired with someone else's hub must be reset before they appear in your app.

If you have several phones in the household, only one should be adding lights at a time. Two apps scanning
at once can each grab the light and leave it half paired.
""",
        related=[],
    ),
    Page(
        path="support/firmware-updates.html",
        title="Firmware updates",
        date="2024-03-05",
        charset="http-equiv",
        description="How firmware updates are delivered, and what to do if one is stuck.",
        body="""
We release firmware for our lights, switches and the Lumen Hub about once every two months. Updates fix bugs,
improve how quickly lights respond and sometimes add features such as new effects or better dimming at very
low brightness.

## How updates are delivered

Lights connected to the Lumen Hub are updated automatically overnight, between 02:00 and 05:00 local time.
The hub updates one light at a time, so a room never goes dark all at once. Lights that are only paired over
Bluetooth are updated from the app while it is open and the phone is close to the light.

## Checking the version

Open a light in the app and tap **Settings &gt; About**. The current firmware version is listed along with
the date it was installed. The hub shows its own version under **Hub &gt; System**.

## Recent releases

| Version | Date | Highlights |
| 3.4.2 | March 2024 | Fixes flicker at 1&ndash;3% brightness on Aurora bulbs |
| 3.4.0 | January 2024 | Faster scene recall; new sunrise curve |
| 3.3.1 | November 2023 | Stability fix for hubs with more than 40 devices |

## An update seems stuck

An update of a single light usually takes four to six minutes, during which the light glows amber. If the
progress bar in the app has not moved for more than fifteen minutes:

1. Keep the light powered. Switching it off during an update is the most common cause of problems.
2. Close and reopen the app; the progress bar sometimes stops refreshing while the update continues.
3. If the light is still amber after thirty minutes, switch it off for ten seconds and on again. The light
   keeps its previous firmware in a second memory slot and will boot from it.
4. Start the update again from the light's About page.

!warning: Do not use the wall switch to "help" a light that is updating. The light cannot be damaged
permanently, but repeated interruptions can leave it waiting in recovery mode until it is reset.

## Updating without the cloud

If remote access is disabled, download the update file from our release page and upload it in the app under
**Hub &gt; System &gt; Manual update**. The hub checks the signature of every file and refuses files that
were not signed by us.
""",
    ),
    Page(
        path="support/returns-and-refunds.html",
        title="Returns and refunds",
        date="2023-12-01",
        description="Our 30-day return policy and how refunds are paid.",
        body="""
If a product does not suit your home, you can send it back within 30 days of delivery. You do not need to
give a reason, and we pay for return shipping within the European Union, the United Kingdom and the United
States.

## How to return a product

1. Sign in to your account and open **Orders**. Guests can use the order number and email address from the
   confirmation email instead.
2. Choose the items you want to return and tell us whether you would like a refund or an exchange.
3. Print the prepaid label, or show the QR code at a drop-off point if you do not have a printer.
4. Pack the product in its original box if you still have it. Any sturdy box is fine if you do not.

## When will I get my money back?

We refund the purchase price within five working days of receiving the parcel. Refunds go back to the original
payment method. Card refunds usually appear on your statement within three to seven days after we issue them,
depending on your bank. If you paid with a gift card, the amount is returned to the gift card.

| Payment method | Typical time after we issue the refund |
| Credit or debit card | 3&ndash;7 working days |
| PayPal | 1&ndash;2 working days |
| Bank transfer | 2&ndash;4 working days |
| Gift card | Immediately |

## Exceptions

- Products that were cut to size, such as Strip Flex segments, can only be returned if the remaining strip is
  at least 1.5 m long.
- Gift cards cannot be returned once they have been used.
- Items bought from other retailers must be returned to that retailer. Your warranty with us still applies.

Damaged or faulty items are not returns but warranty cases. Contact us and we will send a replacement before
you send anything back.
""",
    ),
    Page(
        path="support/troubleshooting-flicker.html",
        title="My light flickers: causes and fixes",
        date="2024-01-22",
        description="Flickering smart bulbs: dimmers, wiring, firmware and power supplies.",
        body="""
A smart bulb that flickers is annoying, and sometimes it is a sign that something in the installation is not
right. Almost every case we see falls into one of four groups.

## 1. A dimmer on the wall

Traditional dimmer switches cut part of every mains cycle to reduce the power a lamp receives. A smart bulb
needs a clean, constant supply to keep its radio running, so behind a dimmer it will flicker, buzz or restart
at random. Replace the dimmer with a normal switch, or set the dimmer to full and leave it there.

## 2. An illuminated switch

Some wall switches contain a small neon or LED indicator that leaks a tiny current through the bulb even when
it is off. With an old incandescent bulb this was invisible, but a smart bulb may glow faintly or flash every
few seconds. Our support team can suggest a bypass capacitor that an electrician can fit at the fitting.

## 3. Firmware older than 3.4.2

Firmware 3.4.2 fixed a flicker that some Aurora bulbs showed at brightness levels between one and three
percent. Check the version in the app and update if needed. Lights on the hub update themselves overnight.

## 4. Long strips and weak power supplies

Strip Flex installations longer than six metres need the supplied 36 W power supply. Third-party supplies
with a lower rating cause the far end of the strip to flicker or shift colour when the whole strip is bright.

## Still flickering?

Write down the light's model, firmware version and what the flicker looks like (fast shimmer, slow pulse, or
an occasional flash), then contact support. A short video taken with your phone helps us a great deal, because
many cameras show flicker more clearly than the eye does.
""",
    ),
    Page(
        path="support/faq.html",
        title="Frequently asked questions",
        date="2024-02-28",
        charset="meta-upper",
        description="Answers to the questions our support team hears most often.",
        body="""
Here are the questions we are asked most often. If yours is not here, our support team answers messages seven
days a week.

## Orders and delivery

?: When will my order ship? || Orders placed before 14:00 on a working day leave our warehouse the same day. You receive a tracking link by email as soon as the parcel has been handed to the carrier.
?: Can I change my delivery address after ordering? || Yes, as long as the order has not shipped yet. Open the order in your account and choose Change address, or reply to the confirmation email.
?: Do you ship outside Europe? || We ship to the European Union, the United Kingdom, Switzerland, Norway, the United States and Canada. For other countries, some of our retail partners may be able to help.

## Setup and compatibility

?: Do I need the Lumen Hub? || No. Every light works on its own with the app over Bluetooth. The hub adds remote access, schedules that run when your phone is off, and support for more than ten lights.
?: Will the bulbs work in my country? || Aurora bulbs accept 100 to 240 volts, so they work on any mains supply. Choose the E26 base for North America and E27 for most other countries.
?: Do you support 5 GHz Wi-Fi? || The hub connects over Ethernet or 2.4 GHz Wi-Fi. Most routers broadcast both bands under the same name, which is fine; the hub simply uses the 2.4 GHz band.
?: Can I mix Lumen lights with lights from other brands? || Yes, the hub supports Zigbee 3.0 lights from other makers. Some features, such as our gradient effects, only work with Lumen products.

## Account and privacy

?: Do I need an account? || You only need an account for remote access and for sharing control with other people in your household. Local control works without one.
?: What data do you collect? || The app collects anonymous crash reports if you allow it. We do not sell data and we do not use your lighting habits for advertising. Our privacy policy lists every data category in detail.
?: How do I delete my account? || Go to Settings, then Account, then Delete account. Your lights keep working locally after the account is deleted.

## Billing

?: Which payment methods do you accept? || Credit and debit cards, PayPal, bank transfer and, in some countries, invoice payment through our payment partner.
?: Can I get an invoice with my company's VAT number? || Yes. Enter the VAT number at checkout, or send it to us before the order ships and we will issue the invoice with it.

## Care and safety

?: Can I use the bulbs outdoors? || Under a covered porch in an open fitting, yes. They are not designed for sealed outdoor globes or for places where they get wet.
?: Are the lights safe to leave on overnight? || Yes. They are tested to the same standards as ordinary LED bulbs and lamps and stay cool to the touch at low brightness.
""",
    ),
    Page(
        path="support/contact.html",
        title="Contact Lumen Lamps support",
        date="2024-03-10",
        description="Email, phone and chat support, plus network details for IT administrators.",
        body="""
Our support team is based in Leipzig and Portland and answers in English, German and French. For the fastest
answer, include your order number or the serial number printed on the light.

## Write to us

- General questions and technical support: support@lumenlamps.example
- Returns and refunds: returns@lumenlamps.example
- Business customers and installers: trade.sales@lumenlamps.example
- Press enquiries: Miriam Okafor, press.office@lumenlamps.example
- Data protection questions go to our data protection officer at dpo@lumenlamps.example

We reply to emails within one working day. Please do not send the same message twice, because every copy
creates a new ticket and slows things down for everyone.

## Call us

| Region | Phone | Hours |
| United States and Canada | +1 (555) 010-4477 | Mon&ndash;Fri 8:00&ndash;18:00 PT |
| United Kingdom | +44 20 7946 0321 | Mon&ndash;Fri 9:00&ndash;17:00 GMT |
| Germany, Austria, Switzerland | +49 341 555 0190 | Mon&ndash;Sat 9:00&ndash;18:00 CET |

If the lines are busy, leave your name and number and we will call back the same day. Our installer hotline,
555-0143, is reserved for registered trade customers.

## For IT administrators

Some company and school networks block the hub from reaching our update servers. The hub needs outbound HTTPS
(TCP port 443) to updates.lumenlamps.example, which currently resolves to 203.0.113.17 and 203.0.113.18, and
to our remote access relay at 198.51.100.42. For networks that use IPv6, the relay also listens on
2001:db8:4c1::17. Inbound connections are never required.

On the local network, the hub takes an address from your router by DHCP. If you prefer a fixed address, reserve
one in the router, for example 192.168.1.50, rather than configuring it on the hub itself.

## Visit us

Our showroom in Leipzig is open on Saturdays from 10:00 to 16:00. Bring a bulb from home if you want to compare
colours under our lights; the staff are happy to help you choose.
""",
    ),
    Page(
        path="support/warranty.html",
        title="Warranty",
        date="2023-10-18",
        description="What the three-year Lumen Lamps warranty covers and how to make a claim.",
        body="""
Every Lumen Lamps light, switch and hub comes with a three-year warranty from the date of delivery. Lights bought
as part of a starter kit are covered individually, so a faulty bulb does not mean returning the whole kit.

## What is covered

- Lights that stop working, flicker without an installation cause or lose brightness noticeably.
- Radios that no longer connect after a reset.
- Buttons, touch strips and arm springs that fail in normal use.
- Power supplies and controllers shipped with the product.

## What is not covered

- Damage from water, impact or fittings that trap heat.
- Products that were opened or modified, except for parts we sell as user-replaceable.
- Normal wear of adhesive pads and cable sleeves.
- Lost or stolen products.

## Making a claim

Send us your order number, the serial number on the product and a short description of the fault. In most
cases we ship a replacement straight away and include a prepaid label so you can return the faulty product
within thirty days. We test every returned product; parts that still work are refurbished and sold in our
outlet, and the rest goes to a certified electronics recycler.

If you bought from another retailer, we still handle the claim ourselves. Attach a photo of the receipt instead
of the order number.
""",
    ),
    Page(
        path="support/shipping.html",
        title="Shipping and delivery",
        date="2024-01-15",
        charset="none",
        description="Delivery times and shipping costs by country.",
        body="""
We ship from our warehouse near Leipzig for orders in Europe and from a partner warehouse in Reno, Nevada, for
orders in North America. Every parcel is tracked.

## Costs and delivery times

| Destination | Standard | Delivery time | Express |
| Germany | Free over &euro;49, otherwise &euro;4.90 | 1&ndash;2 working days | &euro;9.90 |
| Rest of the EU | Free over &euro;49, otherwise &euro;6.90 | 2&ndash;5 working days | &euro;14.90 |
| United Kingdom | &pound;5.90 | 3&ndash;5 working days | &pound;12.90 |
| Switzerland and Norway | &euro;9.90 | 3&ndash;6 working days | not available |
| United States | Free over $60, otherwise $6.90 | 2&ndash;5 working days | $15.00 |
| Canada | $9.90 | 4&ndash;8 working days | not available |

## Customs and duties

Orders to the United Kingdom, Switzerland and Norway are shipped with duties paid, so you will not receive a
separate bill from the carrier. For Canada, the carrier may collect duties on delivery; the amount is shown at
checkout before you pay.

## Packaging

Our boxes are made of recycled cardboard and use paper tape. We removed plastic bags from all bulb packaging in
2023 and are working on the last foam inserts used for the hub.

## A parcel is late or missing

If tracking has not changed for five working days, or the parcel is marked as delivered but you cannot find it,
contact us. We open an investigation with the carrier and, in most cases, send a replacement without waiting
for the result.
""",
    ),
    Page(
        path="support/reset-hub.html",
        title="Resetting the Lumen Hub",
        date="2023-08-07",
        description="Restart, network reset and factory reset of the Lumen Hub.",
        body="""
There are three kinds of reset for the Lumen Hub. Try them in this order, because each one removes more of your
settings than the one before.

## Restart

Unplug the hub's power cable, wait ten seconds and plug it back in. The hub takes about a minute to start. Your
lights, rooms, scenes and schedules are kept. A restart fixes most situations where the app shows the hub as
offline while your internet connection is working.

## Network reset

Press the button on the back of the hub once with a paper clip and hold it for five seconds, until the front light
blinks blue. The hub forgets its Wi-Fi settings and starts the setup network again. Lights and scenes are kept.
Use this after changing your router or your Wi-Fi password.

## Factory reset

Hold the button for twenty seconds, until the front light turns red and then white. Everything is erased: lights,
rooms, scenes, schedules, remote access and the hub's connection to your account. Lights that were paired with
the hub have to be reset and paired again.

| Reset | How | What is kept |
| Restart | Unplug for 10 s | Everything |
| Network reset | Hold button 5 s | Lights, rooms, scenes |
| Factory reset | Hold button 20 s | Nothing |

Before a factory reset, make a backup in the app under Hub, then Backup. The backup is stored in your account and
can be restored onto the same hub or a replacement hub.
""",
    ),
]
