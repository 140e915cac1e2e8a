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
          // A relative path is taken from the directory of this file.
          "journal": "capi-relay.sqlite",

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
            "flush_interval_seconds": 1,     // events arriving meanwhile share a batch
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

          // A repeat of (dataset, event_name, event_id) inside the window is a dedupe hit and
          // is never sent again. Meta does not dedupe business-messaging events itself.
          "dedupe": { "window_hours": 168 },

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
            "default_country": "us"             // calling code for national phone numbers
          },

          // Limited Data Use: "never", "always" (country 1 = USA or 0 = geolocate; state
          // 1000 = California or 0), or "by_region" with "regions": [{"country": "us",
          // "state": "ca"}].
          "ldu": { "mode": "never" },

          // SIGTERM stops intake (webhooks get 503), then gives the batches in flight this
          // long to finish; anything left is sent after the restart, with the same event_id.
          "shutdown": { "deadline_seconds": 10 },

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
