"""Developer documentation of the fictional Lumen Lamps local API (original text written for this project).

API_V1 and API_V2 are a planted near-duplicate pair: v2 is the v1 page with a handful of edits.
"""

from __future__ import annotations

from gen.site import Page

API_V1_BODY = """
The Lumen Hub exposes a local HTTP API on your home network. It lets you read the state of every light, change
brightness and colour, recall scenes and subscribe to events, without going through our cloud. This page gives an
overview of the resources and the conventions shared by all endpoints.

## Base URL

The hub announces itself on the local network as `lumen-hub.local`. All endpoints live under `/api/v1`:

```text
http://lumen-hub.local/api/v1/
```

If multicast DNS does not work on your network, use the hub's IP address instead. You can find it in the app under
Hub, then Network.

## Resources

| Resource | Path | Description |
| Lights | /lights | Every light paired with the hub |
| Rooms | /rooms | Groups of lights shown as rooms in the app |
| Scenes | /scenes | Stored combinations of light states |
| Schedules | /schedules | Time-based rules that run on the hub |
| Events | /events | A server-sent event stream of state changes |

## Reading a light

```bash
curl -s -H "Authorization: Bearer $LUMEN_TOKEN" http://lumen-hub.local/api/v1/lights/7
```

```json
{
  "id": 7,
  "name": "Desk lamp",
  "room": "Study",
  "on": true,
  "brightness": 80,
  "color_temp_k": 3000,
  "reachable": true,
  "firmware": "3.4.2"
}
```

## Changing a light

Send a partial state with `PATCH`. Fields you leave out keep their current value. Brightness is a percentage from
0 to 100; colour temperature is given in kelvin and clamped to the range the light supports.

```bash
curl -s -X PATCH -H "Authorization: Bearer $LUMEN_TOKEN" \\
     -H "Content-Type: application/json" \\
     -d '{"brightness": 35, "color_temp_k": 2400, "transition_ms": 800}' \\
     http://lumen-hub.local/api/v1/lights/7
```

## Conventions

- Requests and responses use JSON encoded as UTF-8.
- Every request needs a bearer token, see Authentication.
- Errors return a JSON body with `code` and `message` fields and an HTTP status from the 4xx or 5xx range.
- The hub accepts at most 20 requests per second per client. Above that it answers with status 429.
- Identifiers are small integers and are never reused after a light is removed.

## Versioning

Version 1 of the API is frozen: it receives security fixes only. New projects should use version 2, which adds
gradient control for light strips and batch updates.
"""

# v2 was made by copying the v1 page: the base path, the rate limit, a table row and the versioning note were
# updated, the curl examples were not (a documentation bug that real near-duplicate pages often carry).
API_V2_BODY = (
    API_V1_BODY.replace("All endpoints live under `/api/v1`:", "All endpoints live under `/api/v2`:")
    .replace("http://lumen-hub.local/api/v1/\n", "http://lumen-hub.local/api/v2/\n")
    .replace(
        "| Events | /events | A server-sent event stream of state changes |",
        "| Events | /events | A server-sent event stream of state changes |\n| Batch | /batch | Several changes in one request |",
    )
    .replace("at most 20 requests per second", "at most 50 requests per second")
    .replace("Version 1 of the API is frozen:", "Version 2 is current. Version 1 of the API is frozen:")
)

API_V1 = Page(
    path="docs/api/v1/overview.html",
    title="Local API overview (v1)",
    section="docs",
    template="docs",
    charset="meta-upper",
    date="2022-06-01",
    body=API_V1_BODY,
)

API_V2 = Page(
    path="docs/api/v2/overview.html",
    title="Local API overview (v2)",
    section="docs",
    template="docs",
    charset="meta-upper",
    date="2024-01-30",
    body=API_V2_BODY,
)

DOCS = [
    Page(
        path="docs/index.html",
        title="Lumen Lamps developer documentation",
        section="docs",
        template="docs",
        charset="meta-upper",
        date="2024-02-02",
        body="""
Welcome to the developer documentation for Lumen Lamps. Everything here is about controlling your own lights from
your own code: a shell script that turns the porch light on at dusk, a dashboard on a wall-mounted tablet, or an
integration with a home automation system you already run.

## What you can build

- Read and change the state of every light, room and scene through the local HTTP API.
- React to changes in real time with the event stream, MQTT or webhooks.
- Run everything offline. The local API never needs our cloud, and it keeps working if your internet connection
  is down.

## Where to start

If you have never used the API before, follow the quick start. It takes about ten minutes and ends with a light
changing colour from a script. The API overview then explains the resources and conventions, and the integration
guides cover MQTT and Home Assistant.

## Stability promise

We do not break the API within a major version. Fields may be added to responses, so your code should ignore
fields it does not know. When we deprecate something, the changelog says so at least twelve months before it is
removed, and the hub logs a warning each time a deprecated endpoint is called.

## Getting help

Ask questions in the community forum, where our firmware engineers read along. Bugs in the API can be reported in
the public issue tracker; please include the hub's firmware version and a request that reproduces the problem.
""",
    ),
    Page(
        path="docs/getting-started.html",
        title="Quick start",
        section="docs",
        template="docs",
        charset="meta-upper",
        date="2024-02-02",
        body="""
This guide takes you from a freshly set up hub to a script that changes the colour of a light. You need a Lumen Hub
with at least one light, a computer on the same network and either `curl` or Python 3.9 or newer.

## 1. Find the hub

Most networks resolve the name `lumen-hub.local` automatically. Check it with a ping:

```bash
ping -c 1 lumen-hub.local
```

If the name does not resolve, open the app, go to Hub, then Network, and note the IP address, for example
192.168.1.50. Use that address wherever this guide says `lumen-hub.local`.

## 2. Create a token

API tokens are created on the hub itself, which proves that you have physical access to it. In the app, open Hub,
then Developer, then Create token. Press the button on the hub within thirty seconds. The app shows the token once;
copy it somewhere safe.

```bash
export LUMEN_TOKEN="llk_5f3c2b9e0a7d41c8b6e2f9a13d7c0e55"
```

The token above is an example and will not work on your hub.

## 3. List your lights

```bash
curl -s -H "Authorization: Bearer $LUMEN_TOKEN" http://lumen-hub.local/api/v2/lights | python3 -m json.tool
```

The response is a list of lights with their `id`, `name`, `room` and current state.

## 4. Change a colour from Python

```python
import os

import requests

HUB = "http://lumen-hub.local/api/v2"
HEADERS = {"Authorization": f"Bearer {os.environ['LUMEN_TOKEN']}"}


def set_color(light_id: int, hue: int, saturation: int, brightness: int = 60) -> dict:
    \"\"\"Set a colour light to the given hue (0-359) and saturation (0-100).\"\"\"
    state = {"on": True, "hue": hue, "saturation": saturation, "brightness": brightness, "transition_ms": 500}
    response = requests.patch(f"{HUB}/lights/{light_id}", json=state, headers=HEADERS, timeout=5)
    response.raise_for_status()
    return response.json()


if __name__ == "__main__":
    print(set_color(7, hue=28, saturation=85))
```

Run the script and the light with id 7 fades to a warm orange within half a second.

## 5. Next steps

- Read the API overview to learn about rooms, scenes and schedules.
- Subscribe to the event stream to react when someone uses a wall switch.
- Connect the hub to your MQTT broker if you already run one.

## Troubleshooting

| Symptom | Likely cause |
| `401 Unauthorized` | The token is missing, mistyped or was revoked in the app |
| `403 Forbidden` | The token is read-only and you sent a `PATCH` |
| `404 Not Found` | The light id does not exist; list the lights again |
| Connection refused | The local API is switched off under Hub, Developer |
| Name not resolved | Multicast DNS is blocked; use the IP address |
""",
    ),
    API_V1,
    API_V2,
    Page(
        path="docs/api/authentication.html",
        title="Authentication",
        section="docs",
        template="docs",
        charset="meta-upper",
        date="2023-11-20",
        body="""
Every request to the local API must carry a bearer token. Tokens are created on the hub, scoped to what they may
do, and can be revoked at any time from the app.

## Token scopes

| Scope | Allows |
| `read` | Reading lights, rooms, scenes, schedules and the event stream |
| `control` | Everything in `read`, plus changing light states and recalling scenes |
| `admin` | Everything in `control`, plus creating scenes, schedules and webhooks |

Give each integration the smallest scope it needs. A wall-mounted status display only needs `read`.

## Creating a token programmatically

Besides the app, tokens can be requested through the API itself. The request opens a thirty-second window in which
someone must press the button on the hub.

```bash
curl -s -X POST http://lumen-hub.local/api/v2/auth/tokens \\
     -H "Content-Type: application/json" \\
     -d '{"name": "kitchen-tablet", "scope": "control"}'
```

```json
{"status": "pending", "request_id": "tr_81c2", "expires_in": 30}
```

Poll the request until the button has been pressed:

```python
import time

import requests


def wait_for_token(request_id: str, hub: str = "http://lumen-hub.local/api/v2") -> str:
    for _ in range(30):
        reply = requests.get(f"{hub}/auth/tokens/requests/{request_id}", timeout=5).json()
        if reply["status"] == "granted":
            return reply["token"]
        if reply["status"] == "expired":
            raise RuntimeError("nobody pressed the hub button in time")
        time.sleep(1)
    raise TimeoutError(request_id)
```

## Using the token

Send the token in the `Authorization` header of every request. The hub does not accept tokens in query strings,
because URLs tend to end up in logs.

```http
GET /api/v2/rooms HTTP/1.1
Host: lumen-hub.local
Authorization: Bearer llk_5f3c2b9e0a7d41c8b6e2f9a13d7c0e55
```

## Revoking tokens

Open Hub, then Developer, then Tokens in the app and swipe a token to revoke it. Requests using a revoked token
fail with status 401 immediately; there is no cache to wait for.

!warning: Treat tokens like passwords. Anyone with an `admin` token on your network can change every light and
schedule in the house.
""",
    ),
    Page(
        path="docs/api/scenes.html",
        title="Scenes",
        section="docs",
        template="docs",
        charset="meta-upper",
        date="2023-11-20",
        body="""
A scene stores the state of a group of lights so that it can be recalled with one request, one button press or one
schedule. Scenes live on the hub; recalling one does not need the internet or the app.

## The scene object

```json
{
  "id": 12,
  "name": "Reading",
  "room": "Living room",
  "lights": {
    "3": {"on": true, "brightness": 70, "color_temp_k": 3000},
    "4": {"on": true, "brightness": 25, "color_temp_k": 2400},
    "9": {"on": false}
  },
  "transition_ms": 1200
}
```

Lights not listed in a scene are left unchanged when it is recalled. To switch a light off as part of a scene, list
it with `"on": false`.

## Creating a scene

Either describe every light explicitly, or capture the current state of a room:

```bash
curl -s -X POST -H "Authorization: Bearer $LUMEN_TOKEN" -H "Content-Type: application/json" \\
     -d '{"name": "Dinner", "capture_room": "Kitchen"}' \\
     http://lumen-hub.local/api/v2/scenes
```

## Recalling a scene

```bash
curl -s -X POST -H "Authorization: Bearer $LUMEN_TOKEN" http://lumen-hub.local/api/v2/scenes/12/recall
```

The hub sends the new states to all lights at once using a Zigbee group message, so the lights change together
instead of one after another.

## Limits

- A hub stores up to 200 scenes.
- A scene may include up to 60 lights.
- Scene names must be unique within a room, and may be up to 40 characters long.

## Dynamic scenes

Dynamic scenes cycle slowly through a list of states. They are useful for a sunset effect in a window or for a
fireplace mood. Set `"dynamic": true` and give `"steps"` instead of `"lights"`; each step has a duration in seconds
and a light map like the one above. Dynamic scenes stop when any light in them is changed by hand.
""",
    ),
    Page(
        path="docs/mqtt-integration.html",
        title="MQTT integration",
        section="docs",
        template="docs",
        charset="meta-upper",
        date="2023-09-04",
        body="""
If you already run an MQTT broker, the hub can publish every state change to it and accept commands from it. This is
often the simplest way to connect Lumen lights to automation software that speaks MQTT.

## Connecting the hub to a broker

In the app, open Hub, then Developer, then MQTT, and enter the broker address, port and credentials. The hub
supports MQTT 3.1.1 and 5.0, with or without TLS. When the connection works, the hub publishes a retained message
on its status topic.

## Topics

| Topic | Direction | Payload |
| `lumen/<hub-id>/status` | hub to broker | `online` or `offline` (retained, last will) |
| `lumen/<hub-id>/light/<id>/state` | hub to broker | JSON state of the light |
| `lumen/<hub-id>/light/<id>/set` | broker to hub | JSON partial state |
| `lumen/<hub-id>/scene/<id>/recall` | broker to hub | empty |
| `lumen/<hub-id>/switch/<id>/action` | hub to broker | `on`, `off`, `up`, `down`, `hold` |

## Watching the traffic

The Mosquitto command line tools are handy while setting things up:

```bash
mosquitto_sub -h broker.home.arpa -u lumen -P "$MQTT_PASSWORD" -t 'lumen/#' -v
```

```text
lumen/hub-3f9a/status online
lumen/hub-3f9a/light/7/state {"on":true,"brightness":80,"color_temp_k":3000}
lumen/hub-3f9a/switch/2/action up
```

## Sending a command

```bash
mosquitto_pub -h broker.home.arpa -u lumen -P "$MQTT_PASSWORD" \\
    -t 'lumen/hub-3f9a/light/7/set' -m '{"brightness": 20, "transition_ms": 2000}'
```

## Quality of service

State messages are published with QoS 0 because a newer state always replaces an older one. Switch actions use QoS 1
so that a button press is not lost if the broker is briefly unreachable. Commands are accepted at any QoS level.

!note: The hub keeps working normally if the broker goes down. It reconnects with an increasing delay, up to five
minutes between attempts.
""",
    ),
    Page(
        path="docs/home-assistant.html",
        title="Home Assistant",
        section="docs",
        template="docs",
        charset="meta-upper",
        date="2024-01-12",
        body="""
Home Assistant can control Lumen lights in two ways: through its built-in Zigbee support, pairing the lights
directly with a Zigbee stick, or through the Lumen Hub using MQTT. This page explains both and helps you choose.

## Option A: pair lights directly

If Home Assistant already runs a Zigbee coordinator, reset a light (switch it off and on five times) and add it like
any other Zigbee light. You lose the features that run on the Lumen Hub, such as dynamic scenes and firmware
updates, but everything runs on one system.

## Option B: keep the hub, connect over MQTT

This is what we recommend if you use the Lumen app as well. Connect the hub to the same broker as Home Assistant,
then enable discovery in the app under Hub, then Developer, then MQTT. The hub publishes discovery messages so that
each light appears in Home Assistant automatically.

If you prefer to configure lights by hand, a light entity looks like this:

```yaml
mqtt:
  light:
    - name: "Study desk lamp"
      unique_id: lumen_hub_3f9a_light_7
      schema: json
      state_topic: "lumen/hub-3f9a/light/7/state"
      command_topic: "lumen/hub-3f9a/light/7/set"
      brightness: true
      brightness_scale: 100
      supported_color_modes: ["color_temp"]
      min_kelvin: 2700
      max_kelvin: 5000
```

## Using the Orbit switch in automations

Switch actions arrive as MQTT messages and can trigger automations:

```yaml
automation:
  - alias: "Orbit top button starts movie night"
    trigger:
      - platform: mqtt
        topic: "lumen/hub-3f9a/switch/2/action"
        payload: "hold"
    action:
      - service: scene.turn_on
        target:
          entity_id: scene.movie_night
```

## Known limitations

- Gradient effects on Strip Flex are not exposed through discovery yet; use the local API for them.
- Transition times longer than 60 seconds are shortened to 60 seconds by the hub.
""",
    ),
    Page(
        path="docs/webhooks.html",
        title="Webhooks",
        section="docs",
        template="docs",
        charset="meta-upper",
        date="2023-12-14",
        body="""
Webhooks let the hub notify a web service when something happens, for example when a switch is pressed or a light
becomes unreachable. The hub sends an HTTP POST request with a JSON body to the URL you register.

## Registering a webhook

```bash
curl -s -X POST -H "Authorization: Bearer $LUMEN_TOKEN" -H "Content-Type: application/json" \\
     -d '{"url": "https://automation.home.arpa/lumen", "events": ["switch.action", "light.unreachable"]}' \\
     http://lumen-hub.local/api/v2/webhooks
```

The response contains a `secret` that the hub uses to sign every delivery. It is shown only once.

## Payload

```json
{
  "event": "switch.action",
  "hub_id": "hub-3f9a",
  "occurred_at": "2024-03-02T19:41:07Z",
  "data": {"switch_id": 2, "button": "top", "action": "hold"}
}
```

## Verifying signatures

Each request carries an `X-Lumen-Signature` header with an HMAC-SHA256 of the raw body, computed with the webhook
secret. Always verify it before trusting the payload.

```python
import hashlib
import hmac


def verify(body: bytes, signature_header: str, secret: str) -> bool:
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(f"sha256={expected}", signature_header)
```

## Delivery and retries

The hub waits up to five seconds for a response. Any status from 200 to 299 counts as delivered. Other responses and
timeouts are retried after 10 seconds, 1 minute and 10 minutes; after that the delivery is dropped and the failure is
shown in the app. A webhook that fails fifty times in a row is paused until you re-enable it.

## Events

| Event | Sent when |
| `switch.action` | A button on an Orbit switch is pressed or held |
| `light.unreachable` | A light has not answered for two minutes |
| `light.reachable` | A light that was unreachable answers again |
| `scene.recalled` | A scene is recalled from any source |
| `hub.update_installed` | The hub finished installing new firmware |
""",
    ),
]
