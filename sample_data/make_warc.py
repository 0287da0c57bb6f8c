"""Write sample_data/web/crawl.warc.gz: a small, deterministic crawl of pages of the fictional Lumen Lamps site
that are not among the HTML files (so it adds documents rather than duplicates).

Records, in order: warcinfo, request, 8 HTML responses (one Latin-1 page declared in the HTTP header, one served
with Content-Encoding: gzip, one whose only charset declaration is the page's meta tag, one with no meta tag),
an image/png response, a 200 response with an empty body and a 301 redirect. Record ids are UUIDs derived from
the URL and dates are fixed, so the file is byte-identical on every run. Called by generate.py; can also run alone:

    .venv/bin/python sample_data/make_warc.py
"""

from __future__ import annotations

import gzip
import struct
import sys
import uuid
import zlib
from datetime import datetime, timedelta, timezone
from io import BytesIO
from pathlib import Path

sys.dont_write_bytecode = True
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from gen.site import SITE, Page, render  # noqa: E402
from warcio.statusandheaders import StatusAndHeaders  # noqa: E402
from warcio.warcwriter import WARCWriter  # noqa: E402

CRAWL_START = datetime(2024, 3, 15, 9, 30, 0, tzinfo=timezone.utc)
NAMESPACE = uuid.UUID("6f1c0b52-5a57-4c61-9d0e-1a4b8c3f7e21")
SERVER_IP = "203.0.113.17"

PAGES = [
    Page(
        path="about/index.html",
        title="About Lumen Lamps",
        section="about",
        charset="meta",
        date="2024-01-04",
        body="""
Lumen Lamps started in 2015 in a shared workshop in Leipzig, when two lighting engineers got tired of smart bulbs
that flickered, hummed and stopped working whenever a server somewhere went offline. We wanted lights that behave
like good lamps first and like gadgets second.

## What we believe

- Light should work without an account, an internet connection or a subscription.
- Good light is about colour and comfort, not only about brightness.
- Products should be repairable, and spare parts should be available for years.
- Customers deserve straight answers, including when the answer is that something is our fault.

## Who we are

Today we are forty-three people in Leipzig and Portland: engineers, designers, a small support team and the people
who keep the warehouse running. Our lamps are assembled by a partner factory in northern Portugal that we visit
every few months.

## Numbers we are proud of

| Since 2015 | |
| Lights shipped | more than 900,000 |
| Average support response | under 4 hours |
| Products returned as faulty | 0.6 percent |
| Spare parts in stock | 140 different parts |
""",
    ),
    Page(
        path="careers/index.html",
        title="Careers at Lumen Lamps",
        section="careers",
        template="shop",
        charset="meta",
        date="2024-02-26",
        body="""
We are a small team, which means that everyone's work ends up in customers' homes quickly. If you care about
details and like explaining things clearly, we would like to hear from you.

## Open positions

| Role | Location | Type |
| Firmware engineer (Zigbee) | Leipzig or remote in the EU | Full time |
| Customer support specialist, French and English | Leipzig | Full time |
| Warehouse coordinator | Reno, Nevada | Full time |
| Working student, product photography | Leipzig | 20 hours per week |

## How we hire

1. Send us a short note about why the role interests you and a CV. No cover letter templates, please.
2. A thirty-minute call with the hiring manager.
3. A small paid task that resembles the real work, followed by a conversation about it.
4. A visit to the team, in person or by video, and an answer within a week.

## What we offer

Flexible hours, thirty days of holiday, a yearly budget for learning and a lamp of your choice on your first day.
We publish salary ranges for every role in the job description.
""",
    ),
    Page(
        path="press/2024-03-lumen-hub-2.html",
        title="Press release: Lumen Hub gains Matter support",
        section="press",
        charset="none",
        date="2024-03-14",
        body="""
Leipzig, 14 March 2024. Lumen Lamps today announced a free software update that lets the Lumen Hub act as a bridge
for the Matter smart home standard. Existing customers receive the update automatically in April.

With the update, lights connected to the Lumen Hub can be controlled from any platform that supports Matter,
alongside the Lumen app, the local API and MQTT. Schedules and scenes continue to run on the hub itself.

"We built the hub so that it would keep getting better after people bought it," said co-founder Katrin Vogel.
"Matter support is the biggest example of that so far, and it costs our customers nothing."

## About Lumen Lamps

Lumen Lamps designs smart bulbs, lamps, light strips and switches that work without a cloud account. The company
was founded in 2015 and is based in Leipzig, Germany, with an office in Portland, Oregon.

Press contact: press office, Lumen Lamps GmbH.
""",
    ),
    Page(
        path="es/preguntas-frecuentes.html",
        title="Lumen Lamps en España: preguntas frecuentes",
        section="support",
        charset="iso-8859-1",
        lang="es",
        date="2023-06-05",
        body="""
Desde junio enviamos nuestros productos a toda España, incluidas las islas Baleares. Aquí respondemos a las
preguntas que más nos hacen nuestros clientes españoles.

## ¿Cuánto tarda el envío?

Los pedidos llegan en tres a cinco días laborables. El envío es gratuito a partir de 49 euros; por debajo de esa
cantidad cuesta 6,90 euros. A Canarias, Ceuta y Melilla todavía no podemos enviar, lo sentimos mucho.

## ¿Qué casquillo necesito?

En España se usa el casquillo E27 para las lámparas de techo y de pie, y el E14 para muchas lámparas pequeñas.
Nuestra bombilla Aurora está disponible con casquillo E27. Para focos empotrados, elija el Beam GU10.

## ¿La aplicación está en español?

Sí. La aplicación Lumen, las guías de instalación y la atención al cliente están disponibles en español. Nuestro
equipo responde de lunes a sábado; el señor Núñez, de Sevilla, dirige el servicio en español.

## Garantía y devoluciones

Tiene 30 días para devolver cualquier producto sin dar explicaciones, y tres años de garantía. Los gastos de
devolución corren de nuestra cuenta.
""",
    ),
    Page(
        path="stores/index.html",
        title="Where to see our lamps",
        section="stores",
        charset="meta",
        date="2024-01-20",
        body="""
Lighting is hard to judge on a screen. These shops have our lamps on display, switched on, so that you can compare
colours and brightness before you buy.

## Germany

- Leipzig: our own showroom in the Spinnerei, open Saturdays from 10:00 to 16:00.
- Berlin: Lichthaus Kreuzberg, Oranienstraße, with the full range including strips.
- Hamburg: Nordlicht Design, a small shop near the harbour with a lovely window display.

## Netherlands and Belgium

- Utrecht: Huis van Licht, next to the canal, open every day except Monday.
- Ghent: Atelier Lamp, which also repairs vintage lamps and fits our bulbs into them.

## United States

- Portland, Oregon: our West Coast office has a small display room, open by appointment.

If you run a lighting shop and would like to stock our products, our trade team is happy to send you a display kit.
""",
    ),
    Page(
        path="blog/lighting-a-small-apartment.html",
        title="Lighting a small apartment without making it feel smaller",
        section="blog",
        template="legacy",
        charset="http-equiv",
        date="2024-02-19",
        author="Sofia Lindqvist",
        body="""
Small apartments suffer most from a single bright ceiling light: it flattens the room, shows every corner and makes
the walls feel closer. A few changes make a surprising difference.

## Light the walls, not the floor

A wall washed with soft light looks further away than a dark one. A strip behind a bookshelf or a lamp aimed at a
wall does more for the sense of space than a brighter ceiling light ever will.

## Use three heights

Combine one light near the floor, one at table height and one higher up. The eye reads the layers as depth. In a
studio flat, that might be a strip under the bed frame, a desk lamp and a single pendant.

## Keep the colour consistent

Mixing cool and warm whites in one small room makes it look patchy. Pick one colour temperature for the evening,
2700 kelvin is a good start, and set every light to it with one scene.

## Zones instead of rooms

In an open-plan flat, scenes can do the job that walls do elsewhere. A cooking scene lights the kitchen corner
brightly and dims the sofa area; a reading scene does the opposite.
""",
    ),
    Page(
        path="docs/changelog.html",
        title="Changelog",
        section="docs",
        template="docs",
        charset="meta-upper",
        date="2024-03-05",
        body="""
All notable changes to the local API and the hub firmware. Dates are release dates.

## 3.4.2 (2024-03-04)

- Fixed: flicker at 1 to 3 percent brightness on some Aurora bulbs.
- Fixed: the event stream could stop after exactly 24 hours without a reconnect.
- Changed: webhook deliveries now time out after 5 seconds instead of 10.

## 3.4.0 (2024-01-15)

- Added: `POST /api/v2/batch` to apply several light changes in one request.
- Added: `Retry-After` header on 429 responses.
- Changed: scene recall uses Zigbee group messages, so lights change together.

## 3.3.1 (2023-11-08)

- Fixed: hubs with more than 40 devices could restart during firmware updates.

## 3.3.0 (2023-09-20)

- Added: MQTT 5.0 support and Home Assistant discovery messages.
- Deprecated: `GET /api/v1/groups`, replaced by `/api/v1/rooms`. It will be removed in version 4.0.
""",
    ),
    Page(
        path="support/orbit-several-rooms.html",
        title="Using one Orbit switch for several rooms",
        section="support",
        charset="meta",
        date="2023-12-11",
        body="""
An Orbit Dimmer Switch belongs to one room by default, but many customers use a single switch by the front door to
control the whole flat. Here is how to set that up.

1. Open the switch in the app and tap Buttons.
2. For the Off button, choose All lights in the house for a long press.
3. For the On button, choose a scene that includes lights from several rooms, for example Coming home.
4. Leave the Brighter and Dimmer buttons on the room the switch is in, or change them to Last used room.

The Last used room option follows whichever room was changed most recently from the app or another switch. It
sounds confusing, but most people find it natural after a day or two.
""",
    ),
]


def record_id(name: str) -> str:
    return f"<urn:uuid:{uuid.uuid5(NAMESPACE, name)}>"


def warc_date(step: int) -> str:
    return (CRAWL_START + timedelta(seconds=7 * step)).strftime("%Y-%m-%dT%H:%M:%SZ")


def tiny_png() -> bytes:
    """A 16x16 amber square: a real PNG, built with zlib so no image library is needed."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + b"\xf4\xa6\x2a" * 16 for _ in range(16))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 16, 16, 8, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(rows, 9))
        + chunk(b"IEND", b"")
    )


def url_of(path: str) -> str:
    return f"{SITE}/{path.removesuffix('.html').removesuffix('index')}"


def write_warc(target: Path) -> int:
    buffer = BytesIO()
    writer = WARCWriter(buffer, gzip=True)
    step = 0

    def write(uri: str, rec_type: str, payload: bytes, http: StatusAndHeaders | None, **extra: str) -> None:
        nonlocal step
        headers = {
            "WARC-Record-ID": record_id(f"{rec_type}:{uri}:{step}"),
            "WARC-Date": warc_date(step),
            **extra,
        }
        if rec_type in ("response", "request"):
            headers["WARC-IP-Address"] = SERVER_IP
        record = writer.create_warc_record(
            uri,
            rec_type,
            payload=BytesIO(payload),
            length=len(payload),
            http_headers=http,
            warc_headers_dict=headers,
            warc_content_type="application/warc-fields" if rec_type == "warcinfo" else "",
        )
        writer.write_record(record)
        step += 1

    def response(uri: str, body: bytes, content_type: str | None, status: str = "200 OK", extra=()) -> None:
        headers = [("Date", "Fri, 15 Mar 2024 09:30:00 GMT"), ("Server", "nginx")]
        if content_type:
            headers.append(("Content-Type", content_type))
        headers += [*extra, ("Content-Length", str(len(body)))]
        write(uri, "response", body, StatusAndHeaders(status, headers, protocol="HTTP/1.1"))

    info = (
        b"software: sample_data/make_warc.py (warcio)\r\n"
        b"format: WARC File Format 1.0\r\n"
        b"description: A small crawl of the fictional Lumen Lamps site, written as test data for corpus.\r\n"
        b"robots: obey\r\n"
    )
    write("", "warcinfo", info, None, **{"WARC-Filename": "crawl.warc.gz"})

    first = url_of(PAGES[0].path)
    request = StatusAndHeaders(
        "GET /about/ HTTP/1.1",
        [
            ("Host", "lumenlamps.example"),
            ("User-Agent", "corpus-sample-crawler/1.0"),
            ("Accept", "text/html"),
        ],
        is_http_request=True,
    )
    write(first, "request", b"", request)

    for page in PAGES:
        uri = url_of(page.path)
        html = render(page)
        if page.charset == "iso-8859-1":
            response(uri, html.encode("latin-1"), "text/html; charset=ISO-8859-1")
        elif page.path.startswith("stores/"):
            response(
                uri,
                gzip.compress(html.encode("utf-8"), mtime=0),
                "text/html; charset=utf-8",
                extra=[("Content-Encoding", "gzip"), ("Vary", "Accept-Encoding")],
            )
        elif page.path.startswith("careers/"):
            response(uri, html.encode("utf-8"), "text/html")  # charset only in the page's meta tag
        else:
            response(uri, html.encode("utf-8"), "text/html; charset=utf-8")

    response(f"{SITE}/assets/img/lumen-logo.png", tiny_png(), "image/png")
    response(f"{SITE}/blog/feed-preview", b"", "text/html; charset=utf-8")
    response(
        f"{SITE}/shop",
        b"",
        "text/html",
        status="301 Moved Permanently",
        extra=[("Location", f"{SITE}/shop/")],
    )

    data = buffer.getvalue()
    target.write_bytes(data)
    return len(data)


if __name__ == "__main__":
    size = write_warc(HERE / "web" / "crawl.warc.gz")
    print(f"wrote web/crawl.warc.gz ({size} bytes)")
