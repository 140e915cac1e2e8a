"""Sends events to a capi-relay with Meta's official Python Business SDK, unchanged but for
the Graph URL, and prints the SDK's EventResponse as JSON.

Usage: send_with_python_sdk.py RELAY_URL ACCESS_TOKEN DATASET EVENTS_JSON
EVENTS_JSON is a list of {"event_name", "event_time", "event_id", "action_source",
"event_source_url", "user": {SDK UserData keyword arguments}, "custom": {CustomData ...}}.
All data is invented.
"""
import json
import sys

from facebook_business.adobjects.serverside.action_source import ActionSource
from facebook_business.adobjects.serverside.custom_data import CustomData
from facebook_business.adobjects.serverside.event import Event
from facebook_business.adobjects.serverside.event_request import EventRequest
from facebook_business.adobjects.serverside.user_data import UserData
from facebook_business.api import FacebookAdsApi
from facebook_business.session import FacebookSession

relay_url, token, dataset, events_json = sys.argv[1:5]
FacebookSession.GRAPH = relay_url
FacebookAdsApi.init(access_token=token, crash_log=False)

events = []
for spec in json.loads(events_json):
    events.append(Event(
        event_name=spec["event_name"],
        event_time=spec["event_time"],
        event_id=spec.get("event_id"),
        action_source=ActionSource(spec["action_source"]),
        event_source_url=spec.get("event_source_url"),
        user_data=UserData(**spec["user"]),
        custom_data=CustomData(**spec["custom"]) if "custom" in spec else None,
    ))
response = EventRequest(events=events, pixel_id=dataset).execute()
print(json.dumps({
    "events_received": response.events_received,
    "fbtrace_id": response.fbtrace_id,
    "messages": response.messages,
}))
