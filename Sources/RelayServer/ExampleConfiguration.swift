/// The complete, commented config that `capi-relay config example` prints and the README shows.
///
/// The demo runs on it too (with its own journal, addresses and secrets), so the example is
/// exercised on every demo run and by a test that checks it passes `config check`.
public enum ExampleConfiguration {
    public static let text = #"""
        // capi-relay config: JSON with comments. Secrets are never written here: each one names
        // the environment variable (env) or file (file) it is read from.
        {
          // Where `capi-relay serve` listens. Put a TLS reverse proxy in front: Meta requires
          // HTTPS with a valid certificate for webhooks.
          "listen": "127.0.0.1:8080",

          // The journal: every accepted webhook, every conversion and every delivery attempt.
          // A relative path is taken from the directory of this file. Several relays share one
          // PostgreSQL journal instead ("postgres://db.internal/capi_relay", password in
          // PGPASSWORD or ~/.pgpass), each with its own "node" name: see the README.
          "journal": "capi-relay.sqlite",

          // "live" sends to Meta. "shadow" journals and reports everything but sends nothing
          // to Meta (the CRM still gets its posts): compare with the pixel, then go live.
          "mode": "live",

          "http": {
            "max_body_bytes": 1048576,      // larger bodies get 413
            "max_header_bytes": 16384,      // larger headers get 431
            "header_timeout_seconds": 10,
            "body_timeout_seconds": 30,
            "max_connections": 1024
          },

          "messenger": {
            // Signs every webhook (X-Hub-Signature-256) and, by default, every CAPI request.
            "app_secret": { "env": "CAPI_RELAY_APP_SECRET" },
            // The token typed into the App Dashboard's webhook settings.
            "verify_token": { "env": "CAPI_RELAY_VERIFY_TOKEN" }
          },

          // Which dataset (pixel id) each page's conversions go to. Pages may share one.
          "pages": [
            { "page_id": "104857600000001", "dataset": "880000000000001" },
            { "page_id": "104857600000002", "dataset": "880000000000001" }
          ],

          "capi": {
            "graph_url": "https://graph.facebook.com",
            "api_version": "v25.0",
            // A system-user token with the page_events permission.
            "access_token": { "env": "CAPI_RELAY_ACCESS_TOKEN" },
            "appsecret_proof": true,         // add appsecret_proof from the app secret
            // "test_event_code": "TEST12345", // while testing in Events Manager only
            "partner_agent": "capi-relay",
            "batch_size": 1000,              // Meta's limit per request
            "flush_interval_seconds": 0.1,   // Meta wants events as they happen
            "timeout_seconds": 1.5,          // Meta's recommended request timeout
            "concurrency": 2,                // requests in flight at once
            // "requests_per_second": 10,    // at most this many on average; no limit if absent
            // Transient failures wait backoff_base_seconds · 2^(n-1), capped, with jitter
            // (or Retry-After when longer); then the event becomes a dead letter.
            "backoff_base_seconds": 1,
            "backoff_max_seconds": 300,
            "max_attempts": 12
          },

          // Optional: every conversion is also posted, signed, to the CRM.
          "crm": {
            "url": "http://127.0.0.1:9090/crm",
            "secret": { "env": "CAPI_RELAY_CRM_SECRET" },
            "timeout_seconds": 5,
            "concurrency": 4,                // one post per conversion, four at once
            "backoff_base_seconds": 1,
            "backoff_max_seconds": 300,
            "max_attempts": 12
          },

          // Dedupe: each rule is tried in this order and the first that matches is recorded with
          // the hit. event_id: same dataset, event_name and event_id within window_hours.
          // source_key: same Messenger mid, or CRM record and stage. identity: for events that
          // came with neither, the same person (page-scoped user, hashed em or ph, external_id)
          // and event_name within identity_window_hours. Meta does not dedupe business-messaging
          // events itself.
          "dedupe": {
            "window_hours": 168,
            "rules": ["event_id", "source_key", "identity"],
            "identity_window_hours": 24
          },

          // The live feed for `capi-relay console` and `socat - UNIX-CONNECT:…`: a Unix socket,
          // mode 0600, beside the journal unless "socket" says otherwise. The relay's user and
          // root may connect; so may members of allowed_groups (read) and operator_groups
          // (read and re-send).
          "feed": {
            // "socket": "/run/capi-relay/feed.sock",
            "allowed_groups": [],
            "operator_groups": [],
            "history": 200,                 // recent records in a new client's snapshot
            "client_queue": 10000,          // a slower client loses records, and is told
            "raw_message_text": false       // keep message text in the journal; else its length
          },

          // Consent: which signals grant or revoke it, and which customer fields may only be
          // sent with it. An email or phone typed into a chat is hashed into the person's
          // profile (never kept in clear) and travels with their later conversions, as far
          // as consent allows; without it those fields are removed and their names reported.
          "consent": {
            "grant": [{ "optin": "CONSENT_MARKETING" }, { "quick_reply": "CONSENT_YES" }],
            "revoke": [{ "quick_reply": "CONSENT_NO" }],
            "required_for": ["em", "ph", "fn", "ln", "ge", "db", "ct", "st", "zp", "country",
                             "external_id"],
            "without_consent": "drop_fields",   // or "drop_event"
            "capture_from_chat": true,
            "default_country": "us",            // calling code for national phone numbers
            // Hash external_id, as Meta recommends, on every path alike (the Pixel must agree).
            "hash_external_id": true
          },

          // Limited Data Use: "never", "always" (country 1 = USA or 0 = geolocate; state
          // 1000 = California or 0), or "by_region" with "regions": [{"country": "us",
          // "state": "ca"}].
          "ldu": { "mode": "never" },

          // Canonical server events from a bot, web backend or GTM server container:
          // POST /v1/events with "Authorization: Bearer <token>", and POST /v1/event-ids to
          // mint the event_id of a conversion about to happen. "dataset" is for events that
          // name neither a dataset nor a mapped page.
          "server_events": {
            "token": { "env": "CAPI_RELAY_EVENTS_TOKEN" },
            "dataset": "880000000000001"
          },

          // Conversions API clients (official SDKs, GTM server tags) pointed at the relay:
          // POST /{api_version}/{dataset}/events with this access_token (not Meta's). Their
          // consent is "granted" (they collected it) or "unknown" (the policy above applies).
          "capi_ingest": {
            "token": { "env": "CAPI_RELAY_INGEST_TOKEN" },
            "consent": "granted"
          },

          // CRM echoes, POST /webhooks/crm, signed like the CRM posts (X-Capi-Relay-
          // Signature-256). An echo of a sent conversion is a dedupe hit that adds hashed
          // identifiers to the person's profile; a stage below makes a new conversion whose
          // event_id comes from the CRM record and the stage.
          "crm_echo": {
            "secret": { "env": "CAPI_RELAY_CRM_SECRET" },
            "record_id_as_external_id": true,
            "dataset": "880000000000001",
            "stages": [
              { "stage": "qualified", "event": "QualifiedLead" },
              { "stage": "won", "event": "Purchase", "currency": "USD" }
            ]
          },

          // The landing page's beacon, POST /v1/pixel-echo: which event_ids the browser pixel
          // fired, for the pixel coverage on the feed.
          "pixel_echo": { "allowed_origins": ["*"] },

          // The QA commands. `reconcile --crm export.csv` reads these columns of the CRM export
          // and exits 1 above max_mismatches. accept_test_event_code lets `replay
          // --test-event-code` mark signed webhooks for Meta's Test Events; off in production.
          // `qa` accepts the events the rules and crm_echo.stages make and, from server events
          // and CAPI ingest, Meta's standard events plus the custom names in event_names.
          "qa": {
            "crm_columns": { "event_id": "event_id", "record_id": "id", "created_at": "created_at" },
            "max_mismatches": 0,
            "accept_test_event_code": false,
            "event_names": []
          },

          // SIGTERM stops intake (webhooks get 503), then gives the batches in flight this
          // long to finish; anything left is sent after the restart, with the same event_id.
          "shutdown": { "deadline_seconds": 10 },

          // GET /readyz answers 503 when the journal cannot commit, a destination is paused,
          // or more than max_backlog conversions wait at one destination.
          "readiness": { "max_backlog": 10000, "journal_timeout_seconds": 2 },

          // Rules are tried in order; the first match makes the conversion. Payloads may carry
          // parameters after a bar: PURCHASE|value=120.00|currency=USD|event_id=ord-123.
          "rules": [
            { "name": "guide-lead", "when": { "quick_reply": "LEAD_GUIDE_YES" }, "event": "Lead" },
            { "name": "book-call", "when": { "postback": "BOOK_CALL" }, "event": "Schedule" },
            {
              "name": "purchase",
              "when": { "postback": "PURCHASE" },
              "event": "Purchase",
              "currency": "USD"
            },
            {
              "name": "callback-request",
              "when": { "text": "(?i)\\b(call me|call back|callback)\\b" },
              "event": "CallbackRequested"
            },
            { "name": "tips-optin", "when": { "optin": "CONSENT_MARKETING" }, "event": "Subscribe" },
            {
              "name": "newsletter-chat",
              "when": { "referral_source": "SHORTLINK", "referral_ref": "newsletter_*" },
              "event": "NewsletterChat",
              "custom_data": { "content_category": "newsletter" }
            }
          ]
        }
        """#
}
